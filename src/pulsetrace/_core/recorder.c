/* The Recorder type: one recording session (start, stop, hand over threads and functions). */
#include "core.h"

PtRecorder *pt_active = NULL;
uint64_t pt_generation = 1;
PT_TLS uint64_t pt_tls_generation = 0;
PT_TLS PtThread *pt_tls_thread = NULL;

static void free_threads(PtRecorder *r)
{
    PtThread *t = r->threads;
    while (t != NULL) {
        PtThread *next = t->next;
        if (pt_tls_thread == t)
            pt_tls_thread = NULL;
        pt_thread_free(t);
        t = next;
    }
    r->threads = NULL;
}

static int config_value(PyObject *config, const char *name, PyObject **value)
{
    *value = PyObject_GetAttrString(config, name);
    if (*value == NULL)
        return -1;
    if (*value == Py_None)
        Py_CLEAR(*value);
    return 0;
}

static int config_number(PyObject *config, const char *name, long long *number)
{
    PyObject *value;
    if (config_value(config, name, &value) < 0)
        return -1;
    *number = value ? PyLong_AsLongLong(value) : 0;
    Py_XDECREF(value);
    return *number == -1 && PyErr_Occurred() ? -1 : 0;
}

/* The fields of a cores.CoreConfig (its ``ignore`` is passed on its own). */
static int read_config(PtRecorder *r, PyObject *config)
{
    Py_CLEAR(r->code_filter);
    Py_CLEAR(r->exception_sink);
    r->max_depth = 0;
    r->ignore_c = r->log_args = r->log_retval = 0;
    r->min_duration_ns = 0;
    r->repr_limit = 100;
    if (config == Py_None)
        return 0;
    long long depth, ignore_c, min_ns, log_args, log_retval, limit;
    if (config_value(config, "code_filter", &r->code_filter) < 0 ||
        config_value(config, "exception_sink", &r->exception_sink) < 0 ||
        config_number(config, "max_stack_depth", &depth) < 0 ||
        config_number(config, "ignore_c_function", &ignore_c) < 0 ||
        config_number(config, "min_duration_ns", &min_ns) < 0 || config_number(config, "log_args", &log_args) < 0 ||
        config_number(config, "log_retval", &log_retval) < 0 || config_number(config, "repr_limit", &limit) < 0)
        return -1;
    if (depth < 0 || min_ns < 0 || limit < 0) {
        PyErr_SetString(PyExc_ValueError, "max_stack_depth, min_duration_ns and repr_limit must be >= 0");
        return -1;
    }
    r->max_depth = (size_t)depth;
    r->ignore_c = ignore_c != 0;
    r->min_duration_ns = (uint64_t)min_ns;
    r->log_args = log_args != 0;
    r->log_retval = log_retval != 0;
    r->repr_limit = (Py_ssize_t)limit;
    return 0;
}

static int Recorder_init(PtRecorder *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"backend", "ignore", "thread_registry", "config", NULL};
    const char *backend;
    PyObject *ignore, *registry, *config = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sOO|O", kwlist, &backend, &ignore, &registry, &config))
        return -1;
    if (read_config(self, config) < 0)
        return -1;
    if (strcmp(backend, "monitoring") == 0) {
#if PT_HAS_MONITORING
        self->backend = PT_BACKEND_MONITORING;
#else
        PyErr_SetString(PyExc_ValueError, "the 'monitoring' backend needs Python 3.12 or later");
        return -1;
#endif
    }
    else if (strcmp(backend, "setprofile") == 0) {
        self->backend = PT_BACKEND_SETPROFILE;
    }
    else {
        PyErr_Format(PyExc_ValueError, "unknown backend %R", PyTuple_GET_ITEM(args, 0));
        return -1;
    }
    Py_XSETREF(self->ignore, PyFrozenSet_New(ignore));
    if (self->ignore == NULL)
        return -1;
    Py_INCREF(registry);
    Py_XSETREF(self->registry, registry);
    self->tool_id = -1;
    return 0;
}

static PyObject *Recorder_start(PtRecorder *self, PyObject *unused)
{
    if (pt_active != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a pulsetrace recorder is already running in this process");
        return NULL;
    }
    if (self->running) {
        PyErr_SetString(PyExc_RuntimeError, "this recorder is already running");
        return NULL;
    }
    /* A new session: forget the previous one (its data was handed over by threads()). */
    free_threads(self);
    pt_functable_clear(&self->functions);
    if (pt_functable_init(&self->functions) < 0)
        return NULL;
    self->generation = ++pt_generation;
    self->stop_ns = 0;
    pt_argspecs_free(self);
    self->min_ticks = self->min_duration_ns ? pt_clock_ticks_for(self->min_duration_ns) : 0;
    self->gated = self->max_depth || self->log_args || self->log_retval || self->min_ticks;
    self->clock_start = pt_clock_pair();
    pt_active = self;
    self->running = 1;
    int err = self->backend == PT_BACKEND_MONITORING ? pt_monitoring_start(self) : pt_setprofile_start(self);
    if (err < 0) {
        self->running = 0;
        pt_active = NULL;
        pt_generation++;
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *Recorder_stop(PtRecorder *self, PyObject *unused)
{
    if (!self->running) {
        PyErr_SetString(PyExc_RuntimeError, "this recorder is not running");
        return NULL;
    }
    PtClockPair stop = pt_clock_pair();
    int err = self->backend == PT_BACKEND_MONITORING ? pt_monitoring_stop(self) : pt_setprofile_stop(self);
    self->running = 0;
    pt_active = NULL;
    pt_generation++; /* every thread's cached buffer pointer is now stale */
    PtClockMap map = pt_clock_map(self->clock_start, stop);
    self->stop_ns = stop.ns;
    uint32_t *remap = pt_functable_compact(&self->functions);
    if (remap == NULL)
        err = -1;
    for (PtThread *t = self->threads; remap != NULL && t != NULL; t = t->next) {
        if (pt_thread_finish(t, stop, &map, remap) < 0)
            err = -1;
    }
    PyMem_RawFree(remap);
    if (err < 0)
        return NULL;
    return PyLong_FromUnsignedLongLong(stop.ns);
}

static PyObject *Recorder_functions(PtRecorder *self, PyObject *unused)
{
    if (self->functions.objects == NULL)
        return PyList_New(0);
    return pt_functable_rows(&self->functions);
}

/* [(ident, native_id, thread object or None, chunks, lost, args, retvals), ...], oldest thread first;
 * args / retvals: {record index: text}. */
static PyObject *Recorder_threads(PtRecorder *self, PyObject *unused)
{
    if (self->running) {
        PyErr_SetString(PyExc_RuntimeError, "stop() the recorder before reading its threads");
        return NULL;
    }
    PyObject *result = PyList_New(0);
    if (result == NULL)
        return NULL;
    for (PtThread *t = self->threads; t != NULL; t = t->next) {
        PyObject *args = pt_texts_dict(&t->args);
        PyObject *retvals = args ? pt_texts_dict(&t->retvals) : NULL;
        PyObject *row = retvals ? Py_BuildValue("(kkOOKNN)", t->ident, t->native_id,
                                                t->thread_obj ? t->thread_obj : Py_None, t->chunks,
                                                (unsigned long long)t->lost, args, retvals)
                                : NULL;
        if (row == NULL) {
            Py_XDECREF(args);
            Py_XDECREF(retvals);
        }
        if (row == NULL || PyList_Insert(result, 0, row) < 0) {
            Py_XDECREF(row);
            Py_DECREF(result);
            return NULL;
        }
        Py_DECREF(row);
    }
    free_threads(self); /* the chunks now belong to the caller */
    return result;
}

static PyObject *Recorder_pause(PtRecorder *self, PyObject *unused)
{
    if (pt_active == self && self->running)
        pt_set_paused(self, 1);
    Py_RETURN_NONE;
}

static PyObject *Recorder_resume(PtRecorder *self, PyObject *unused)
{
    if (pt_active == self && self->running)
        pt_set_paused(self, 0);
    Py_RETURN_NONE;
}

static PyObject *Recorder_thread_trace_hook(PtRecorder *self, PyObject *unused)
{
    return pt_trace_thread_hook(self);
}

static PyObject *Recorder_get_trace_skipped(PtRecorder *self, void *closure)
{
    return PyBool_FromLong(self->trace_skipped);
}

static PyObject *Recorder_thread_start_hook(PtRecorder *self, PyObject *unused)
{
    return pt_setprofile_thread_hook(self);
}

static PyObject *Recorder_get_tool_id(PtRecorder *self, void *closure)
{
    return PyLong_FromLong(self->tool_id);
}

static PyObject *Recorder_get_hook_displaced(PtRecorder *self, void *closure)
{
    return PyBool_FromLong(self->hook_displaced);
}

static PyObject *Recorder_get_running(PtRecorder *self, void *closure)
{
    return PyBool_FromLong(self->running);
}

static int Recorder_traverse(PtRecorder *self, visitproc visit, void *arg)
{
    Py_VISIT(self->ignore);
    Py_VISIT(self->registry);
    Py_VISIT(self->code_filter);
    Py_VISIT(self->exception_sink);
    Py_VISIT(self->functions.objects);
    Py_VISIT(self->functions.rows);
    return 0;
}

static int Recorder_clear(PtRecorder *self)
{
    Py_CLEAR(self->ignore);
    Py_CLEAR(self->registry);
    Py_CLEAR(self->code_filter);
    Py_CLEAR(self->exception_sink);
    pt_functable_clear(&self->functions);
    pt_argspecs_free(self);
    return 0;
}

static void Recorder_dealloc(PtRecorder *self)
{
    PyObject_GC_UnTrack(self);
    if (self->running) {
        if (self->backend == PT_BACKEND_MONITORING)
            pt_monitoring_stop(self);
        else
            pt_setprofile_stop(self);
        PyErr_Clear();
        self->running = 0;
        pt_active = NULL;
        pt_generation++;
    }
    free_threads(self);
    Recorder_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Recorder_methods[] = {
    {"start", (PyCFunction)Recorder_start, METH_NOARGS, "Start recording every thread."},
    {"stop", (PyCFunction)Recorder_stop, METH_NOARGS, "Stop recording; close open slices; return the stop ns."},
    {"functions", (PyCFunction)Recorder_functions, METH_NOARGS, "The function table rows."},
    {"threads", (PyCFunction)Recorder_threads, METH_NOARGS, "Hand over every thread's recorded chunks."},
    {"pause", (PyCFunction)Recorder_pause, METH_NOARGS, "Stop recording new slices in the calling thread."},
    {"resume", (PyCFunction)Recorder_resume, METH_NOARGS, "Record the calling thread again after pause()."},
    {"thread_trace_hook", (PyCFunction)Recorder_thread_trace_hook, METH_NOARGS,
     "A trace function for threading.settrace that installs the C exception hook in new threads."},
    {"thread_start_hook", (PyCFunction)Recorder_thread_start_hook, METH_NOARGS,
     "A profile function for threading.setprofile that installs the C hook in new threads."},
    {NULL},
};

static PyGetSetDef Recorder_getset[] = {
    {"tool_id", (getter)Recorder_get_tool_id, NULL, "sys.monitoring tool id in use, or -1.", NULL},
    {"trace_skipped", (getter)Recorder_get_trace_skipped, NULL,
     "setprofile + exception sink: the starting thread had a trace function, which was kept.", NULL},
    {"running", (getter)Recorder_get_running, NULL, "Whether the recorder is recording.", NULL},
    {"hook_displaced", (getter)Recorder_get_hook_displaced, NULL,
     "setprofile backend: whether another tool replaced the hook in the starting thread.", NULL},
    {NULL},
};

PyTypeObject PtRecorder_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pulsetrace._core.Recorder",
    .tp_basicsize = sizeof(PtRecorder),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Records function entries and exits of every thread into chunked buffers.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Recorder_init,
    .tp_dealloc = (destructor)Recorder_dealloc,
    .tp_traverse = (traverseproc)Recorder_traverse,
    .tp_clear = (inquiry)Recorder_clear,
    .tp_methods = Recorder_methods,
    .tp_getset = Recorder_getset,
};
