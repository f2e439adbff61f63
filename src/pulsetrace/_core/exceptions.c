/* config.exception_sink: tell the sink about each exception raised in a recorded frame.
 *
 * sys.monitoring backend: the RAISE event (monitoring.c registers it only when a sink is set).
 * setprofile backend: a C trace function (PyEval_SetTrace) in the starting thread, and through
 * threading.settrace (CCore) in threads started later; it turns line events off in every frame it
 * sees and reacts to PyTrace_EXCEPTION only. A thread that already has a trace function (a debugger,
 * coverage) keeps it: exceptions are then not logged there, and the recording says so
 * (Recorder.trace_skipped). After stop() a thread that still has our trace function drops it on its
 * next event.
 */
#include "core.h"

void pt_exception_seen(PtThread *t, PtRecorder *r, PyObject *code, int lineno, PyObject *exc)
{
    if (r == NULL || r->exception_sink == NULL || t->paused || t->hide_depth || t->depth == 0)
        return;
    uint32_t top = t->stack[t->depth - 1];
    if (top & (PT_STACK_C | PT_STACK_IGNORED))
        return; /* the innermost slice is not a recorded Python frame */
    uint32_t entry = pt_lookup(&r->functions, (uintptr_t)code, 0);
    if (entry == (uint32_t)-1 || (entry & PT_STACK_IGNORED) || (entry & PT_ID_MASK) != (top & PT_ID_MASK))
        return;
    PyObject *exc_type, *exc_value, *exc_tb;
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
    PyObject *sink = r->exception_sink;
    Py_INCREF(sink);
    PyObject *res = PyObject_CallFunction(sink, "OOi", exc, code, lineno);
    Py_DECREF(sink);
    Py_XDECREF(res);
    PyErr_Clear(); /* what the sink raises is swallowed */
    PyErr_Restore(exc_type, exc_value, exc_tb);
}

static PyObject *str_trace_lines = NULL;

static int trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    PtRecorder *r = pt_active;
    if (r == NULL || r->exception_sink == NULL) {
        PyEval_SetTrace(NULL, NULL); /* tracing stopped: leave this thread alone */
        return 0;
    }
    if (what == PyTrace_CALL) {
        /* No line events: they would cost every line of the program. */
#if PY_VERSION_HEX >= 0x030B0000
        if (PyObject_SetAttr((PyObject *)frame, str_trace_lines, Py_False) < 0)
            PyErr_Clear();
#else
        frame->f_trace_lines = 0;
#endif
        return 0;
    }
    if (what != PyTrace_EXCEPTION || !PyTuple_Check(arg) || PyTuple_GET_SIZE(arg) < 2)
        return 0;
    PyObject *exc = PyTuple_GET_ITEM(arg, 1);
    if (!PyExceptionInstance_Check(exc))
        return 0;
    PtThread *t = pt_current_thread();
    if (t == NULL)
        return 0;
#if PY_VERSION_HEX < 0x030C0000
    /* Before 3.12 the traceback built so far is only in the event's tuple: the exception gets it
     * when it is caught. Give it now (as 3.12+ has it), so the sink can tell the raising frame. */
    if (PyTuple_GET_SIZE(arg) >= 3 && PyTraceBack_Check(PyTuple_GET_ITEM(arg, 2)) &&
        PyException_SetTraceback(exc, PyTuple_GET_ITEM(arg, 2)) < 0)
        PyErr_Clear();
#endif
    PyCodeObject *code = PyFrame_GetCode(frame);
    pt_exception_seen(t, r, (PyObject *)code, PyFrame_GetLineNumber(frame), exc);
    Py_DECREF(code);
    return 0;
}

int pt_trace_start(PtRecorder *r)
{
    r->trace_skipped = 0;
    if (r->exception_sink == NULL)
        return 0;
    if (str_trace_lines == NULL && (str_trace_lines = PyUnicode_InternFromString("f_trace_lines")) == NULL)
        return -1;
    if (PyThreadState_Get()->c_tracefunc != NULL) {
        r->trace_skipped = 1;
        return 0;
    }
    PyEval_SetTrace(trace, NULL);
    return PyErr_Occurred() ? -1 : 0;
}

void pt_trace_stop(PtRecorder *r)
{
    if (PyThreadState_Get()->c_tracefunc == trace)
        PyEval_SetTrace(NULL, NULL);
}

/* threading.settrace() hook: runs once in each new thread, then the C trace function takes over. */
static PyObject *thread_hook(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PtRecorder *r = pt_active;
    PyEval_SetTrace(NULL, NULL);
    if (r == NULL || r->exception_sink == NULL || nargs != 3 || !PyFrame_Check(args[0]))
        Py_RETURN_NONE;
    PyEval_SetTrace(trace, NULL);
    trace(NULL, (PyFrameObject *)args[0], PyTrace_CALL, Py_None);
    Py_RETURN_NONE;
}

static PyMethodDef thread_hook_def = {"pulsetrace_thread_trace_hook", (PyCFunction)(void (*)(void))thread_hook,
                                      METH_FASTCALL, "Installs the pulsetrace exception hook in a new thread."};

PyObject *pt_trace_thread_hook(PtRecorder *r)
{
    return PyCFunction_New(&thread_hook_def, NULL);
}
