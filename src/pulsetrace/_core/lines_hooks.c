/* How the C line collector learns of events: sys.monitoring callbacks on 3.12+ (registered by
 * linecollect/ccollector.py under the collector's own tool id, as linecollect/monitoring.py does),
 * a C trace function (PyEval_SetTrace) before, as linecollect/settrace.py does with sys.settrace.
 * Either way the events go to the accounting in lines.c under the same rules. */
#include "lines.h"

PtLineRecorder *pt_lines_active = NULL;

#if PT_HAS_MONITORING

static PyObject *disable_sentinel = NULL; /* sys.monitoring.DISABLE */

static inline PyObject *disable(void)
{
    Py_INCREF(disable_sentinel);
    return disable_sentinel;
}

/* PY_START, PY_RESUME and PY_THROW: a frame goes on the stack. ``resumed``: a resumed frame goes on at
 * the line it stopped at (no LINE event says which). Pulsetrace's own code is DISABLEd where allowed. */
static inline PyObject *enter(PyObject *code, int resumed, int can_disable)
{
    PtLineRecorder *r = pt_lines_active;
    if (r == NULL)
        Py_RETURN_NONE;
    uint64_t now = pt_lines_now(r);
    PtLineThread *t = pt_lines_current(r);
    if (t == NULL)
        Py_RETURN_NONE;
    PtCodeLines *data = pt_lines_data(r, t, code);
    if (data == NULL)
        Py_RETURN_NONE;
    if (data->verdict == PT_LINES_NEVER) {
        if (can_disable)
            return disable();
        Py_RETURN_NONE;
    }
    int resumed_at = 0;
    if (resumed) {
        PyFrameObject *frame = PyEval_GetFrame(); /* borrowed: the frame that resumes */
        resumed_at = frame ? PyFrame_GetLineNumber(frame) : 0;
        if (resumed_at < 0)
            resumed_at = 0;
    }
    pt_lines_enter(t, now, data, resumed_at, !resumed);
    Py_RETURN_NONE;
}

static PyObject *on_start(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return enter(args[0], 0, 1);
}

static PyObject *on_resume(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return enter(args[0], 1, 1);
}

static PyObject *on_throw(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return enter(args[0], 1, 0); /* PY_THROW cannot be DISABLEd */
}

/* PY_RETURN, PY_YIELD and PY_UNWIND: the frame of ``code`` leaves. */
static inline PyObject *leave(PyObject *code, int can_disable)
{
    PtLineRecorder *r = pt_lines_active;
    PtLineThread *t = r ? pt_lines_existing() : NULL;
    if (t == NULL)
        Py_RETURN_NONE;
    uint64_t now = pt_lines_now(r);
    PtLineFrame *top = pt_lines_top(t);
    if (top != NULL && top->data->code == code) {
        pt_lines_close_top(t, now);
        Py_RETURN_NONE;
    }
    PtCodeLines *data = pt_lines_data(r, t, code);
    if (data != NULL && data->verdict == PT_LINES_NEVER) {
        if (can_disable)
            return disable();
        Py_RETURN_NONE;
    }
    pt_lines_exit(t, now, code);
    Py_RETURN_NONE;
}

static PyObject *on_return(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return leave(args[0], 1);
}

static PyObject *on_unwind(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return leave(args[0], 0);
}

/* LINE: the innermost frame moves to a new line. Code not kept in detail returns DISABLE, so its
 * lines cost nothing after the first. */
static PyObject *on_line(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PtLineRecorder *r = pt_lines_active;
    if (r == NULL)
        Py_RETURN_NONE;
    uint64_t now = pt_lines_now(r);
    PtLineThread *t = pt_lines_current(r);
    if (t == NULL)
        Py_RETURN_NONE;
    PyObject *code = args[0];
#if PY_VERSION_HEX >= 0x030C0000
    int lineno = PyUnstable_Long_IsCompact((PyLongObject *)args[1])
                     ? (int)PyUnstable_Long_CompactValue((PyLongObject *)args[1])
                     : (int)PyLong_AsLong(args[1]);
#else
    int lineno = (int)PyLong_AsLong(args[1]);
#endif
    PtLineFrame *top = pt_lines_top(t);
    if (top == NULL || top->data->code != code) { /* a frame that began before recording joins now */
        PtCodeLines *data = pt_lines_data(r, t, code);
        if (data == NULL)
            Py_RETURN_NONE;
        if (data->verdict != PT_LINES_DETAILED)
            return disable();
        top = pt_lines_enter(t, now, data, lineno, 0);
        if (top == NULL)
            Py_RETURN_NONE;
    }
    if (top->data->verdict != PT_LINES_DETAILED)
        return disable();
    pt_lines_line(t, now, top, lineno);
    Py_RETURN_NONE;
}

typedef struct {
    const char *event;
    PyMethodDef def;
} Hook;

static Hook hooks[] = {
    {"PY_START", {"pulsetrace_lines_start", (PyCFunction)(void (*)(void))on_start, METH_FASTCALL, NULL}},
    {"PY_RESUME", {"pulsetrace_lines_resume", (PyCFunction)(void (*)(void))on_resume, METH_FASTCALL, NULL}},
    {"PY_THROW", {"pulsetrace_lines_throw", (PyCFunction)(void (*)(void))on_throw, METH_FASTCALL, NULL}},
    {"PY_RETURN", {"pulsetrace_lines_return", (PyCFunction)(void (*)(void))on_return, METH_FASTCALL, NULL}},
    {"PY_YIELD", {"pulsetrace_lines_yield", (PyCFunction)(void (*)(void))on_return, METH_FASTCALL, NULL}},
    {"PY_UNWIND", {"pulsetrace_lines_unwind", (PyCFunction)(void (*)(void))on_unwind, METH_FASTCALL, NULL}},
    {"LINE", {"pulsetrace_lines_line", (PyCFunction)(void (*)(void))on_line, METH_FASTCALL, NULL}},
};

/* {event name: callback} for linecollect/ccollector.py to register under its tool id. */
PyObject *pt_lines_monitoring_callbacks(PtLineRecorder *r)
{
    if (disable_sentinel == NULL) {
        PyObject *monitoring = PySys_GetObject("monitoring"); /* borrowed */
        disable_sentinel = monitoring ? PyObject_GetAttrString(monitoring, "DISABLE") : NULL;
        if (disable_sentinel == NULL)
            return NULL;
    }
    PyObject *callbacks = PyDict_New();
    for (size_t i = 0; callbacks != NULL && i < sizeof hooks / sizeof hooks[0]; i++) {
        PyObject *func = PyCFunction_New(&hooks[i].def, NULL);
        if (func == NULL || PyDict_SetItemString(callbacks, hooks[i].event, func) < 0)
            Py_CLEAR(callbacks);
        Py_XDECREF(func);
    }
    return callbacks;
}

#else

PyObject *pt_lines_monitoring_callbacks(PtLineRecorder *r)
{
    PyErr_SetString(PyExc_ValueError, "sys.monitoring needs Python 3.12 or later");
    return NULL;
}

#endif

/* ---- the trace function (every version; the C collector uses it before 3.12) ---- */

static int trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    PtLineRecorder *r = pt_lines_active;
    if (r == NULL) {
        PyEval_SetTrace(NULL, NULL); /* a thread that outlived the recording: stop calling us */
        return 0;
    }
    if (what != PyTrace_CALL && what != PyTrace_LINE && what != PyTrace_RETURN)
        return 0;
    uint64_t now = pt_lines_now(r);
    PtLineThread *t = what == PyTrace_RETURN ? pt_lines_existing() : pt_lines_current(r);
    if (t == NULL)
        return 0;
    PyCodeObject *code = PyFrame_GetCode(frame);
    PtLineFrame *top = pt_lines_top(t);
    if (what == PyTrace_LINE) {
        int lineno = PyFrame_GetLineNumber(frame);
        if (top == NULL || top->data->code != (PyObject *)code) { /* running when recording started */
            PtCodeLines *data = pt_lines_data(r, t, (PyObject *)code);
            top = data && data->verdict == PT_LINES_DETAILED ? pt_lines_enter(t, now, data, lineno, 0) : NULL;
        }
        if (top != NULL && top->data->verdict == PT_LINES_DETAILED && lineno > 0)
            pt_lines_line(t, now, top, lineno);
    } else if (what == PyTrace_RETURN) {
        if (top != NULL && top->data->code == (PyObject *)code)
            pt_lines_close_top(t, now);
        else
            pt_lines_exit(t, now, (PyObject *)code);
    } else {
        PtCodeLines *data = pt_lines_data(r, t, (PyObject *)code);
        if (data != NULL && data->verdict != PT_LINES_NEVER) {
            if (pt_frame_is_resumption(frame, code))
                pt_lines_enter(t, now, data, PyFrame_GetLineNumber(frame), 0);
            else
                pt_lines_enter(t, now, data, 0, 1);
        }
    }
    Py_DECREF(code); /* the thread's counts keep it alive */
    return 0;
}

/* Install the trace function in the calling thread; fails when another one is set there. */
int pt_lines_trace_install(PtLineRecorder *r)
{
    PyThreadState *tstate = PyThreadState_Get();
    if (tstate->c_tracefunc != NULL) {
        PyObject *holder = tstate->c_traceobj ? tstate->c_traceobj : Py_None;
        PyErr_Format(PyExc_RuntimeError, "another trace function is installed (%R)", holder);
        return -1;
    }
    PyEval_SetTrace(trace, (PyObject *)r);
    return PyErr_Occurred() ? -1 : 0;
}

void pt_lines_trace_uninstall(PtLineRecorder *r)
{
    PyThreadState *tstate = PyThreadState_Get();
    if (tstate->c_tracefunc == trace)
        PyEval_SetTrace(NULL, NULL);
}

/* threading.settrace() hook: runs once in each new thread, then the C trace function takes over. */
static PyObject *thread_hook(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PtLineRecorder *r = pt_lines_active;
    if (r == NULL || nargs != 3 || !PyFrame_Check(args[0])) {
        PyEval_SetTrace(NULL, NULL);
        Py_RETURN_NONE;
    }
    PyEval_SetTrace(trace, (PyObject *)r);
    /* The event that woke us (normally the call of Thread.run) is counted too. */
    if (PyUnicode_Check(args[1]) && PyUnicode_CompareWithASCIIString(args[1], "call") == 0)
        trace((PyObject *)r, (PyFrameObject *)args[0], PyTrace_CALL, Py_None);
    Py_RETURN_NONE;
}

static PyMethodDef thread_hook_def = {"pulsetrace_lines_thread_hook", (PyCFunction)(void (*)(void))thread_hook,
                                      METH_FASTCALL, "Installs the line collector's trace function in a new thread."};

PyObject *pt_lines_new_thread_hook(void)
{
    return PyCFunction_New(&thread_hook_def, NULL);
}
