/* The live view's line counter (pulsetrace.live.collector): hits and time per line of chosen code.
 *
 * Narrow on purpose: per line event of a chosen code object, one hit and the time since this
 * thread's previous counted line (given to that line). Which code is chosen is asked once per code
 * object of a Python callable; the answer is kept. 3.12+: the LINE callback of a sys.monitoring tool
 * id (registered from Python), returning DISABLE for code that is not chosen. Before: a C trace
 * function (PyEval_SetTrace) in each thread that installs it, which sees line events of every frame,
 * the ones already running included. Everything else (files, snapshots as LineStats) is Python's.
 */
#include "core.h"

#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *lc_new_ref(PyObject *obj)
{
    Py_INCREF(obj);
    return obj;
}
#define Py_NewRef(obj) lc_new_ref((PyObject *)(obj))
#endif

typedef struct {
    uint64_t *hits; /* index: line - first */
    uint64_t *ns;
    int first;      /* co_firstlineno: no line event of the code comes before it */
    int size;
    PyObject *filename;
} LcCode;

typedef struct {
    LcCode *last; /* the line being timed (NULL: none yet) */
    int last_index;
    uint64_t last_ns;
    int skip;     /* one of the live view's own threads */
} LcThread;

typedef struct {
    PyObject_HEAD
    PyObject *wants;   /* callable(code) -> bool */
    PyObject *codes;   /* dict: code -> capsule(LcCode) or None (not chosen); keeps the codes alive */
    PyObject *disable; /* sys.monitoring.DISABLE (3.12+) */
    PyObject *last_code; /* one-entry cache: borrowed, alive through codes */
    LcCode *last_lines;
    LcThread **threads;
    size_t nthreads, cap;
    uint64_t generation;
    int running;
} LcCounter;

static uint64_t lc_generations = 0;
static PT_TLS uint64_t lc_tls_generation = 0;
static PT_TLS LcThread *lc_tls_thread = NULL;

static void code_capsule_free(PyObject *capsule)
{
    LcCode *lines = PyCapsule_GetPointer(capsule, "pulsetrace.lines");
    if (lines == NULL)
        return;
    PyMem_Free(lines->hits);
    PyMem_Free(lines->ns);
    Py_XDECREF(lines->filename);
    PyMem_Free(lines);
}

/* The counted lines of ``code``, NULL if it is not chosen (or on error, with the error cleared). */
static LcCode *code_lines(LcCounter *self, PyObject *code)
{
    if (code == self->last_code)
        return self->last_lines;
    PyObject *found = PyDict_GetItemWithError(self->codes, code);
    LcCode *lines = NULL;
    if (found == NULL) {
        if (PyErr_Occurred()) {
            PyErr_Clear();
            return NULL;
        }
        PyObject *answer = PyObject_CallOneArg(self->wants, code);
        int chosen = answer == NULL ? 0 : PyObject_IsTrue(answer);
        Py_XDECREF(answer);
        if (chosen < 0 || answer == NULL)
            PyErr_Clear(); /* a failing selector chooses nothing: the program goes on */
        PyObject *value = Py_None;
        PyObject *capsule = NULL;
        if (chosen > 0) {
            lines = PyMem_Calloc(1, sizeof(LcCode));
            if (lines != NULL) {
                lines->first = ((PyCodeObject *)code)->co_firstlineno;
                lines->filename = Py_NewRef(((PyCodeObject *)code)->co_filename);
                capsule = PyCapsule_New(lines, "pulsetrace.lines", code_capsule_free);
                if (capsule == NULL) {
                    Py_DECREF(lines->filename);
                    PyMem_Free(lines);
                    lines = NULL;
                    PyErr_Clear();
                }
            }
            if (capsule != NULL)
                value = capsule;
        }
        if (PyDict_SetItem(self->codes, code, value) < 0) {
            PyErr_Clear();
            Py_XDECREF(capsule);
            return NULL; /* asked again next time */
        }
        Py_XDECREF(capsule); /* the dict holds it */
    } else if (found != Py_None) {
        lines = PyCapsule_GetPointer(found, "pulsetrace.lines");
    }
    self->last_code = code;
    self->last_lines = lines;
    return lines;
}

static LcThread *current_thread(LcCounter *self)
{
    if (PT_LIKELY(lc_tls_generation == self->generation))
        return lc_tls_thread;
    if (self->nthreads == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        LcThread **grown = PyMem_Realloc(self->threads, cap * sizeof(LcThread *));
        if (grown == NULL)
            return NULL;
        self->threads = grown;
        self->cap = cap;
    }
    LcThread *t = PyMem_Calloc(1, sizeof(LcThread));
    if (t == NULL)
        return NULL;
    self->threads[self->nthreads++] = t;
    lc_tls_generation = self->generation;
    lc_tls_thread = t;
    return t;
}

static int grow(LcCode *lines, int index)
{
    int size = lines->size ? lines->size : 16;
    while (size <= index)
        size *= 2;
    uint64_t *hits = PyMem_Realloc(lines->hits, (size_t)size * sizeof(uint64_t));
    if (hits == NULL)
        return -1;
    lines->hits = hits;
    uint64_t *ns = PyMem_Realloc(lines->ns, (size_t)size * sizeof(uint64_t));
    if (ns == NULL)
        return -1;
    lines->ns = ns;
    memset(hits + lines->size, 0, (size_t)(size - lines->size) * sizeof(uint64_t));
    memset(ns + lines->size, 0, (size_t)(size - lines->size) * sizeof(uint64_t));
    lines->size = size;
    return 0;
}

static void count_line(LcCounter *self, LcCode *lines, int lineno)
{
    LcThread *t = current_thread(self);
    if (t == NULL || t->skip)
        return;
    uint64_t now = pt_now_ns();
    if (t->last != NULL)
        t->last->ns[t->last_index] += now - t->last_ns;
    int index = lineno - lines->first;
    if (PT_UNLIKELY(index < 0)) {
        t->last = NULL;
        return;
    }
    if (PT_UNLIKELY(index >= lines->size) && grow(lines, index) < 0) {
        t->last = NULL;
        return;
    }
    lines->hits[index]++;
    t->last = lines;
    t->last_index = index;
    t->last_ns = now;
}

/* 3.12+: the sys.monitoring LINE callback, line_event(code, line_number). */
static PyObject *lc_line_event(LcCounter *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (PT_UNLIKELY(nargs != 2)) {
        PyErr_SetString(PyExc_TypeError, "line_event(code, line_number)");
        return NULL;
    }
    LcCode *lines = code_lines(self, args[0]);
    if (lines == NULL)
        return Py_NewRef(self->disable ? self->disable : Py_None);
    int lineno = (int)PyLong_AsLong(args[1]);
    if (lineno == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    count_line(self, lines, lineno);
    Py_RETURN_NONE;
}

/* Before 3.12: the C trace function of each thread that installed it. */
static int lc_trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    LcCounter *self = (LcCounter *)obj;
    if (what != PyTrace_LINE)
        return 0;
    if (PT_UNLIKELY(!self->running)) {
        PyEval_SetTrace(NULL, NULL); /* counting stopped: leave this thread alone */
        return 0;
    }
    PyCodeObject *code = PyFrame_GetCode(frame);
    LcCode *lines = code_lines(self, (PyObject *)code);
    Py_DECREF(code);
    if (lines != NULL)
        count_line(self, lines, PyFrame_GetLineNumber(frame));
    return 0;
}

static PyObject *lc_install_here(LcCounter *self, PyObject *unused)
{
    self->running = 1;
    PyEval_SetTrace(lc_trace, (PyObject *)self);
    Py_RETURN_NONE;
}

/* threading.settrace(counter.thread_hook): a new thread's first call installs lc_trace there. */
static PyObject *lc_thread_hook(LcCounter *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (self->running)
        PyEval_SetTrace(lc_trace, (PyObject *)self);
    else
        PyEval_SetTrace(NULL, NULL);
    Py_RETURN_NONE;
}

static PyObject *lc_stop(LcCounter *self, PyObject *unused)
{
    self->running = 0;
    Py_RETURN_NONE;
}

static PyObject *lc_start(LcCounter *self, PyObject *unused)
{
    self->running = 1;
    Py_RETURN_NONE;
}

static PyObject *lc_ignore_thread(LcCounter *self, PyObject *unused)
{
    LcThread *t = current_thread(self);
    if (t != NULL)
        t->skip = 1;
#if !PT_HAS_MONITORING
    PyEval_SetTrace(NULL, NULL);
#endif
    Py_RETURN_NONE;
}

/* snapshot() -> {(filename, line): (hits, ns)}, all code objects of a file added together. */
static PyObject *lc_snapshot(LcCounter *self, PyObject *unused)
{
    PyObject *result = PyDict_New();
    if (result == NULL)
        return NULL;
    Py_ssize_t pos = 0;
    PyObject *code, *value;
    while (PyDict_Next(self->codes, &pos, &code, &value)) {
        if (value == Py_None)
            continue;
        LcCode *lines = PyCapsule_GetPointer(value, "pulsetrace.lines");
        if (lines == NULL)
            goto fail;
        for (int i = 0; i < lines->size; i++) {
            if (lines->hits[i] == 0 && lines->ns[i] == 0)
                continue;
            PyObject *key = Py_BuildValue("(Oi)", lines->filename, lines->first + i);
            if (key == NULL)
                goto fail;
            uint64_t hits = lines->hits[i], ns = lines->ns[i];
            PyObject *before = PyDict_GetItemWithError(result, key);
            if (before != NULL) {
                unsigned long long h, n;
                if (!PyArg_ParseTuple(before, "KK", &h, &n)) {
                    Py_DECREF(key);
                    goto fail;
                }
                hits += h;
                ns += n;
            } else if (PyErr_Occurred()) {
                Py_DECREF(key);
                goto fail;
            }
            PyObject *pair = Py_BuildValue("(KK)", (unsigned long long)hits, (unsigned long long)ns);
            int failed = pair == NULL || PyDict_SetItem(result, key, pair) < 0;
            Py_XDECREF(pair);
            Py_DECREF(key);
            if (failed)
                goto fail;
        }
    }
    return result;
fail:
    Py_DECREF(result);
    return NULL;
}

static int lc_init(LcCounter *self, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"wants", "disable", NULL};
    PyObject *wants, *disable = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:LineCounter", names, &wants, &disable))
        return -1;
    if (!PyCallable_Check(wants)) {
        PyErr_SetString(PyExc_TypeError, "wants must be callable");
        return -1;
    }
    Py_XSETREF(self->wants, Py_NewRef(wants));
    Py_XSETREF(self->disable, Py_NewRef(disable));
    if (self->codes == NULL && (self->codes = PyDict_New()) == NULL)
        return -1;
    self->generation = ++lc_generations;
    return 0;
}

static int lc_traverse(LcCounter *self, visitproc visit, void *arg)
{
    Py_VISIT(self->wants);
    Py_VISIT(self->codes);
    Py_VISIT(self->disable);
    return 0;
}

static int lc_clear(LcCounter *self)
{
    Py_CLEAR(self->wants);
    Py_CLEAR(self->codes);
    Py_CLEAR(self->disable);
    self->last_code = NULL;
    self->last_lines = NULL;
    return 0;
}

static void lc_dealloc(LcCounter *self)
{
    PyObject_GC_UnTrack(self);
    lc_clear(self);
    for (size_t i = 0; i < self->nthreads; i++)
        PyMem_Free(self->threads[i]);
    PyMem_Free(self->threads);
    if (lc_tls_generation == self->generation)
        lc_tls_generation = 0;
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef lc_methods[] = {
    {"line_event", (PyCFunction)(void (*)(void))lc_line_event, METH_FASTCALL,
     "line_event(code, line_number): the sys.monitoring LINE callback (3.12+)."},
    {"thread_hook", (PyCFunction)(void (*)(void))lc_thread_hook, METH_FASTCALL,
     "For threading.settrace: installs the C trace function in each new thread (before 3.12)."},
    {"install_here", (PyCFunction)lc_install_here, METH_NOARGS,
     "Count in the calling thread with the C trace function (before 3.12), running frames included."},
    {"start", (PyCFunction)lc_start, METH_NOARGS, "Mark the counter running."},
    {"stop", (PyCFunction)lc_stop, METH_NOARGS,
     "Stop counting (trace functions remove themselves at their thread's next event)."},
    {"ignore_thread", (PyCFunction)lc_ignore_thread, METH_NOARGS, "Never count the calling thread."},
    {"snapshot", (PyCFunction)lc_snapshot, METH_NOARGS,
     "snapshot() -> {(filename, line): (hits, ns)}: the numbers so far."},
    {NULL},
};

PyTypeObject PtLineCounter_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pulsetrace._core.LineCounter",
    .tp_doc = "LineCounter(wants, disable=None): hits and time per line of the code wants(code) chooses.",
    .tp_basicsize = sizeof(LcCounter),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)lc_init,
    .tp_dealloc = (destructor)lc_dealloc,
    .tp_traverse = (traverseproc)lc_traverse,
    .tp_clear = (inquiry)lc_clear,
    .tp_methods = lc_methods,
};
