/* The LineRecorder type: one line-collection session of the C line collector (see lines.h). The
 * Python side (linecollect/ccollector.py) installs the hooks; this object owns the counts. */
#include "lines.h"

static int LineRecorder_init(PtLineRecorder *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"detail", "clock", NULL};
    PyObject *detail, *clock = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O", kwlist, &detail, &clock))
        return -1;
    if (!PyCallable_Check(detail) || (clock != Py_None && !PyCallable_Check(clock))) {
        PyErr_SetString(PyExc_TypeError, "detail and clock must be callables");
        return -1;
    }
    Py_INCREF(detail);
    Py_XSETREF(self->detail, detail);
    Py_XINCREF(clock == Py_None ? NULL : clock);
    Py_XSETREF(self->clock, clock == Py_None ? NULL : clock);
    if (self->verdicts == NULL && (self->verdicts = PyDict_New()) == NULL)
        return -1;
    return 0;
}

static void LineRecorder_dealloc(PtLineRecorder *self)
{
    if (pt_lines_active == self) {
        pt_lines_active = NULL;
        pt_lines_generation++;
    }
    pt_lines_free_threads(self);
    Py_CLEAR(self->detail);
    Py_CLEAR(self->clock);
    Py_CLEAR(self->verdicts);
    Py_CLEAR(self->thread_hook);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *activate(PtLineRecorder *self, PyObject *unused)
{
    if (pt_lines_active != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "another C line collector is running");
        return NULL;
    }
    if (self->detail == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "LineRecorder.__init__ was not called");
        return NULL;
    }
    pt_lines_free_threads(self);
    self->start = pt_clock_pair();
    self->active = 1;
    self->generation = ++pt_lines_generation; /* every thread's cached state belongs to the last session */
    pt_lines_active = self;
    Py_RETURN_NONE;
}

static PyObject *deactivate(PtLineRecorder *self, PyObject *unused)
{
    if (pt_lines_active == self) {
        pt_lines_active = NULL;
        pt_lines_generation++;
    }
    self->active = 0;
    Py_RETURN_NONE;
}

static PyObject *close_all(PtLineRecorder *self, PyObject *unused)
{
    uint64_t now = pt_lines_now(self);
    for (PtLineThread *t = self->threads; t != NULL; t = t->next)
        while (t->depth > 0)
            pt_lines_close_top(t, now);
    Py_RETURN_NONE;
}

static PyObject *rows(PtLineRecorder *self, PyObject *unused)
{
    return pt_lines_rows(self);
}

static PyObject *monitoring_callbacks(PtLineRecorder *self, PyObject *unused)
{
    return pt_lines_monitoring_callbacks(self);
}

static PyObject *trace_install(PtLineRecorder *self, PyObject *unused)
{
    if (pt_lines_trace_install(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *trace_uninstall(PtLineRecorder *self, PyObject *unused)
{
    pt_lines_trace_uninstall(self);
    Py_RETURN_NONE;
}

static PyObject *thread_hook(PtLineRecorder *self, PyObject *unused)
{
    if (self->thread_hook == NULL && (self->thread_hook = pt_lines_new_thread_hook()) == NULL)
        return NULL;
    Py_INCREF(self->thread_hook);
    return self->thread_hook;
}

/* The calling thread is never counted in this session (the live view's server and ticker): its cached
 * state becomes NULL for the current generation, so every hook returns at its first check, as for an
 * event that comes before the thread's state exists. No DISABLE: the code's events stay on for the
 * other threads. A thread ignored before activate() counts again (activate starts a new generation). */
static PyObject *ignore_thread(PtLineRecorder *self, PyObject *unused)
{
    if (pt_lines_active == self) {
        pt_lines_tls_generation = pt_lines_generation;
        pt_lines_tls_thread = NULL;
    }
    pt_lines_trace_uninstall(self);
    Py_RETURN_NONE;
}

static PyObject *get_active(PtLineRecorder *self, void *closure)
{
    return PyBool_FromLong(self->active);
}

static PyMethodDef methods[] = {
    {"activate", (PyCFunction)activate, METH_NOARGS, "Start a session: the hooks count from now on."},
    {"deactivate", (PyCFunction)deactivate, METH_NOARGS, "End the session: the hooks count no more."},
    {"close_all", (PyCFunction)close_all, METH_NOARGS, "Every frame still open on any thread ends now."},
    {"rows", (PyCFunction)rows, METH_NOARGS, "The counts so far, one row per code object and thread."},
    {"monitoring_callbacks", (PyCFunction)monitoring_callbacks, METH_NOARGS,
     "{sys.monitoring event name: callback} to register (3.12+)."},
    {"trace_install", (PyCFunction)trace_install, METH_NOARGS,
     "Set the C trace function in this thread (RuntimeError when another one is set)."},
    {"trace_uninstall", (PyCFunction)trace_uninstall, METH_NOARGS, "Remove it from this thread."},
    {"thread_hook", (PyCFunction)thread_hook, METH_NOARGS, "The hook for threading.settrace()."},
    {"ignore_thread", (PyCFunction)ignore_thread, METH_NOARGS, "Never count the calling thread in this session."},
    {NULL},
};

static PyGetSetDef getset[] = {
    {"active", (getter)get_active, NULL, "Whether the session is counting.", NULL},
    {NULL},
};

PyTypeObject PtLineRecorder_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pulsetrace._core.LineRecorder",
    .tp_basicsize = sizeof(PtLineRecorder),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "LineRecorder(detail, clock=None): per-line hits and times of every thread (the lines option).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)LineRecorder_init,
    .tp_dealloc = (destructor)LineRecorder_dealloc,
    .tp_methods = methods,
    .tp_getset = getset,
};
