/* The profile-hook backend (PyEval_SetProfile): every Python version, the default before 3.12.
 *
 * The hook is per thread. The starting thread gets it directly; threads started later get it from
 * threading.setprofile(), whose Python-level hook (thread_hook below) swaps itself for the C one on
 * its first call. After stop(), a thread that still has the hook removes it on its next event.
 */
#include "core.h"

/* Whether a 'call' event resumes a suspended generator/coroutine rather than starting it.
 * 3.11+: the event fires at a RESUME instruction whose oparg is 0 only at the start of the code.
 * Before 3.11: a frame that has not run yet has f_lasti == -1. */
static inline int is_resumption(PyFrameObject *frame, PyCodeObject *code)
{
    if (!(code->co_flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR)))
        return 0;
#if PY_VERSION_HEX >= 0x030B0000
    int lasti = PyFrame_GetLasti(frame);
    if (lasti < 0 || (Py_ssize_t)lasti + 1 >= Py_SIZE(code) * 2) /* code units are two bytes */
        return 0; /* Py_SIZE of a code object counts its two-byte code units */
    return ((const uint8_t *)code->co_code_adaptive)[lasti + 1] != 0;
#else
    return frame->f_lasti >= 0;
#endif
}

static int profile(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    PtThread *t = pt_current_thread();
    if (t == NULL) {
        if (pt_active == NULL)
            PyEval_SetProfile(NULL, NULL); /* tracing stopped: leave this thread alone */
        return 0;
    }
    switch (what) {
    case PyTrace_CALL: {
        PyCodeObject *code = PyFrame_GetCode(frame);
        int kind = is_resumption(frame, code) ? PT_ENTER_RESUME : PT_ENTER_CALL;
        pt_enter_code(t, pt_active, (PyObject *)code, kind);
        Py_DECREF(code); /* the function table keeps it alive */
        break;
    }
    case PyTrace_RETURN:
        pt_exit(t, arg == NULL ? PT_EXIT_UNWIND : PT_EXIT_RETURN, 0);
        break;
    case PyTrace_C_CALL:
        pt_enter_cfunc(t, pt_active, arg);
        break;
    case PyTrace_C_RETURN:
        pt_exit(t, PT_EXIT_RETURN, 1);
        break;
    case PyTrace_C_EXCEPTION:
        pt_exit(t, PT_EXIT_UNWIND, 1);
        break;
    default:
        break;
    }
    return 0;
}

int pt_setprofile_start(PtRecorder *r)
{
    PyEval_SetProfile(profile, (PyObject *)r);
    return PyErr_Occurred() ? -1 : 0;
}

int pt_setprofile_stop(PtRecorder *r)
{
    PyEval_SetProfile(NULL, NULL);
    return PyErr_Occurred() ? -1 : 0;
}

/* threading.setprofile() hook: runs once in each new thread, then the C hook takes over. */
static PyObject *thread_hook(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PtRecorder *r = pt_active;
    if (r == NULL || nargs != 3 || !PyFrame_Check(args[0])) {
        PyEval_SetProfile(NULL, NULL);
        Py_RETURN_NONE;
    }
    PyEval_SetProfile(profile, (PyObject *)r);
    /* The event that woke us (normally the call of Thread.run) belongs in the trace too. */
    if (PyUnicode_Check(args[1]) && PyUnicode_CompareWithASCIIString(args[1], "call") == 0)
        profile((PyObject *)r, (PyFrameObject *)args[0], PyTrace_CALL, Py_None);
    Py_RETURN_NONE;
}

static PyMethodDef thread_hook_def = {"pulsetrace_thread_hook", (PyCFunction)(void (*)(void))thread_hook,
                                      METH_FASTCALL, "Installs the pulsetrace profile hook in a new thread."};

PyObject *pt_setprofile_thread_hook(PtRecorder *r)
{
    return PyCFunction_New(&thread_hook_def, NULL);
}
