/* The profile-hook backend (PyEval_SetProfile): every Python version, the default before 3.12.
 *
 * The hook is per thread. The starting thread gets it directly; threads started later get it from
 * threading.setprofile(), whose Python-level hook (thread_hook below) swaps itself for the C one on
 * its first call. After stop(), a thread that still has the hook removes it on its next event.
 */
#include "core.h"

/* Opcode families, by number, for reading where a frame stands: base, quickened and instrumented
 * forms alike (the profile hook sees the live, possibly rewritten, bytecode). Filled at import. */
enum { OPF_RESUME = 1, OPF_YIELD_VALUE = 2, OPF_YIELD_FROM = 4, OPF_RETURN = 8, OPF_OPAQUE = 16 };
static uint8_t op_family[256];

static void add_family(PyObject *opmap, const char *name, uint8_t family)
{
    PyObject *number = PyDict_GetItemString(opmap, name); /* borrowed */
    if (number != NULL) {
        long n = PyLong_AsLong(number);
        if (n >= 0 && n < 256)
            op_family[n] |= family;
    }
    PyErr_Clear();
}

int pt_setprofile_init(void)
{
    static const char *maps[][2] = {{"dis", "opmap"}, {"dis", "_all_opmap"}, {"opcode", "_specialized_opmap"}};
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
        PyObject *module = PyImport_ImportModule(maps[i][0]);
        PyObject *opmap = module ? PyObject_GetAttrString(module, maps[i][1]) : NULL;
        Py_XDECREF(module);
        if (opmap != NULL && PyDict_Check(opmap)) {
            add_family(opmap, "RESUME", OPF_RESUME);
            add_family(opmap, "RESUME_QUICK", OPF_RESUME);
            add_family(opmap, "RESUME_CHECK", OPF_RESUME);
            add_family(opmap, "INSTRUMENTED_RESUME", OPF_RESUME);
            add_family(opmap, "YIELD_VALUE", OPF_YIELD_VALUE);
            add_family(opmap, "INSTRUMENTED_YIELD_VALUE", OPF_YIELD_VALUE);
            add_family(opmap, "YIELD_FROM", OPF_YIELD_FROM);
            add_family(opmap, "RETURN_VALUE", OPF_RETURN);
            add_family(opmap, "RETURN_CONST", OPF_RETURN);
            add_family(opmap, "INSTRUMENTED_RETURN_VALUE", OPF_RETURN);
            add_family(opmap, "INSTRUMENTED_RETURN_CONST", OPF_RETURN);
            /* Another tool's line/instruction events hide the real opcode: don't guess from it. */
            add_family(opmap, "INSTRUMENTED_LINE", OPF_OPAQUE);
            add_family(opmap, "INSTRUMENTED_INSTRUCTION", OPF_OPAQUE);
        }
        Py_XDECREF(opmap);
        PyErr_Clear();
    }
    return 0;
}

#define GENERATOR_LIKE (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR)
#define RESUME_WHERE(oparg) ((oparg) & 3) /* 0 function start, 1 yield, 2 yield from, 3 await */

/* The frame's position as a byte offset into its code, and that code's bytes. */
static inline const uint8_t *frame_position(PyFrameObject *frame, PyCodeObject *code, int *lasti, Py_ssize_t *size)
{
#if PY_VERSION_HEX >= 0x030B0000
    *lasti = PyFrame_GetLasti(frame);
    *size = Py_SIZE(code) * 2; /* two-byte code units */
    return (const uint8_t *)code->co_code_adaptive;
#else
    *lasti = frame->f_lasti;
#if PY_VERSION_HEX >= 0x030A0000
    if (*lasti >= 0)
        *lasti *= 2; /* 3.10 counts code units */
#endif
    *size = PyBytes_GET_SIZE(code->co_code);
    return (const uint8_t *)PyBytes_AS_STRING(code->co_code);
#endif
}

static inline int family_at(const uint8_t *co, Py_ssize_t size, int at, uint8_t family)
{
    return at >= 0 && at + 1 < size && (op_family[co[at]] & family);
}

/* Whether a 'call' event continues a suspended generator-like frame rather than starting it:
 * 3.11+ starts at RESUME with oparg 0 (a resumption stops at RESUME 1-3, or at its YIELD_VALUE when
 * thrown into); before 3.11 a frame that has not run yet has f_lasti -1. Mirrors pycore. */
static inline int is_resumption(PyFrameObject *frame, PyCodeObject *code)
{
    if (!(code->co_flags & GENERATOR_LIKE))
        return 0;
    int lasti;
    Py_ssize_t size;
    const uint8_t *co = frame_position(frame, code, &lasti, &size);
#if PY_VERSION_HEX >= 0x030B0000
    if (lasti < 0 || lasti + 1 >= size)
        return 0;
    return !(op_family[co[lasti]] & OPF_RESUME) || RESUME_WHERE(co[lasti + 1]) != 0;
#else
    (void)co;
    return lasti >= 0;
#endif
}

/* Whether a frame leaving normally (not by an exception) suspends at a yield point. Mirrors pycore. */
static inline int leaves_at_yield(PyFrameObject *frame, PyCodeObject *code)
{
    if (!(code->co_flags & GENERATOR_LIKE))
        return 0;
    int lasti;
    Py_ssize_t size;
    const uint8_t *co = frame_position(frame, code, &lasti, &size);
#if PY_VERSION_HEX >= 0x030D0000
    /* 3.13 leaves the frame at the RESUME that follows its YIELD_VALUE. */
    return family_at(co, size, lasti, OPF_RESUME) && RESUME_WHERE(co[lasti + 1]) != 0;
#else
    if (family_at(co, size, lasti, OPF_YIELD_VALUE))
        return 1;
    /* 3.9/3.10: a frame suspended in YIELD_FROM is rewound to the instruction before it. */
    return !family_at(co, size, lasti, OPF_YIELD_FROM) && family_at(co, size, lasti + 2, OPF_YIELD_FROM);
#endif
}

/* How a frame that was not reported as unwinding leaves: at a yield point it suspends; on 3.12+,
 * where an unwinding frame is reported like a return, anywhere but a return instruction means an
 * exception is leaving (the instruction that raised). */
static inline int exit_kind(PyFrameObject *frame, PyCodeObject *code)
{
    if (leaves_at_yield(frame, code))
        return PT_EXIT_YIELD;
#if PY_VERSION_HEX >= 0x030C0000
    int lasti;
    Py_ssize_t size;
    const uint8_t *co = frame_position(frame, code, &lasti, &size);
    if (lasti >= 0 && lasti + 1 < size && !(op_family[co[lasti]] & (OPF_RETURN | OPF_OPAQUE)))
        return PT_EXIT_UNWIND;
#endif
    return PT_EXIT_RETURN;
}

/* A profile hook that was installed in the starting thread before ours (cProfile before 3.12, say):
 * it keeps receiving every event, and gets its hook back at stop. */
static Py_tracefunc chained_func = NULL;
static PyObject *chained_obj = NULL;
static PyThreadState *chained_tstate = NULL;

static int profile(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    if (chained_func != NULL && PyThreadState_Get() == chained_tstate &&
        chained_func(chained_obj, frame, what, arg) < 0)
        return -1; /* as it would have without us */
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
    case PyTrace_RETURN: {
        /* Before 3.12 a C hook is told an exception is leaving (arg is NULL); 3.12+ passes None. */
        int kind = PT_EXIT_UNWIND;
        if (arg != NULL) {
            PyCodeObject *code = PyFrame_GetCode(frame);
            kind = exit_kind(frame, code);
            Py_DECREF(code);
        }
        pt_exit(t, kind, 0, kind == PT_EXIT_RETURN ? arg : NULL);
        break;
    }
    case PyTrace_C_CALL: {
        if (pt_active->ignore_c)
            break;
        PyCodeObject *caller = t->depth == 0 ? PyFrame_GetCode(frame) : NULL; /* only needed at depth 0 */
        pt_enter_cfunc(t, pt_active, arg, (PyObject *)caller);
        Py_XDECREF(caller);
        break;
    }
    case PyTrace_C_RETURN:
        pt_exit(t, PT_EXIT_RETURN, 1, NULL);
        break;
    case PyTrace_C_EXCEPTION:
        pt_exit(t, PT_EXIT_UNWIND, 1, NULL);
        break;
    default:
        break;
    }
    return 0;
}

int pt_setprofile_start(PtRecorder *r)
{
    PyThreadState *tstate = PyThreadState_Get();
    if (tstate->c_profilefunc != NULL && tstate->c_profilefunc != profile) {
        chained_func = tstate->c_profilefunc;
        chained_obj = tstate->c_profileobj;
        Py_XINCREF(chained_obj);
        chained_tstate = tstate;
    }
    r->hook_displaced = 0;
    PyEval_SetProfile(profile, (PyObject *)r);
    if (!PyErr_Occurred())
        pt_trace_start(r);
    return PyErr_Occurred() ? -1 : 0;
}

int pt_setprofile_stop(PtRecorder *r)
{
    PyThreadState *tstate = PyThreadState_Get();
    pt_trace_stop(r);
    /* Someone replaced our hook while we recorded (e.g. cProfile enabled inside the traced code):
     * the events after that are missing, and the trace must say so. */
    r->hook_displaced = tstate->c_profilefunc != profile;
    if (!r->hook_displaced) {
        PyObject *obj = chained_obj;
        PyEval_SetProfile(chained_func, chained_func ? obj : NULL);
    }
    Py_XDECREF(chained_obj);
    chained_func = NULL;
    chained_obj = NULL;
    chained_tstate = NULL;
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

/* For the line collector's trace function (lines_hooks.c): the same test as the profile hook's. */
int pt_frame_is_resumption(PyFrameObject *frame, PyCodeObject *code)
{
    return is_resumption(frame, code);
}
