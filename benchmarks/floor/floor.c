/* Reference "floors" for the benchmarks: the least a C tracer can do per event.
 *
 * sys.monitoring (3.12+): one METH_FASTCALL callback per event that appends a record, plus a no-op
 * callback; floors.py registers them. PyEval_SetProfile (any version, used before 3.12): a profile
 * function that appends a record, and a no-op one. Single-threaded on purpose: the workloads are.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "records.h"

/* Event kinds stored in records (the values only need to be distinct). */
enum {
    KIND_PY_START, KIND_PY_RESUME, KIND_PY_RETURN, KIND_PY_YIELD, KIND_PY_UNWIND, KIND_PY_THROW,
    KIND_CALL, KIND_C_RETURN, KIND_C_RAISE, KIND_PROFILE_BASE
};

static PyObject *
append_or_fail(const void *what, uint64_t kind)
{
    if (floor_append(what, kind) < 0) {
        return PyErr_NoMemory();
    }
    Py_RETURN_NONE;
}

/* Python events: (code, instruction_offset[, retval or exception]); the code object identifies. */
#define PY_EVENT_CALLBACK(fname, kind)                                              \
    static PyObject *fname(PyObject *module, PyObject *const *args, Py_ssize_t n)   \
    {                                                                               \
        (void)module;                                                               \
        return append_or_fail(n > 0 ? args[0] : NULL, kind);                        \
    }

PY_EVENT_CALLBACK(record_py_start, KIND_PY_START)
PY_EVENT_CALLBACK(record_py_resume, KIND_PY_RESUME)
PY_EVENT_CALLBACK(record_py_return, KIND_PY_RETURN)
PY_EVENT_CALLBACK(record_py_yield, KIND_PY_YIELD)
PY_EVENT_CALLBACK(record_py_unwind, KIND_PY_UNWIND)
PY_EVENT_CALLBACK(record_py_throw, KIND_PY_THROW)

/* CALL / C_RETURN / C_RAISE: (code, offset, callable, arg0). These fire for every callable that
 * is not inlined as a Python frame (classes too), but a tracer records C functions only: builtins
 * and methods of C types, including unbound method descriptors (how 3.12 calls obj.method()). */
static inline int
is_c_function(PyObject *callable)
{
    return PyCFunction_Check(callable) || Py_IS_TYPE(callable, &PyMethodDescr_Type);
}

#define C_EVENT_CALLBACK(fname, kind)                                               \
    static PyObject *fname(PyObject *module, PyObject *const *args, Py_ssize_t n)   \
    {                                                                               \
        (void)module;                                                               \
        if (n < 3 || !is_c_function(args[2])) {                                     \
            Py_RETURN_NONE;                                                         \
        }                                                                           \
        return append_or_fail(args[2], kind);                                       \
    }

C_EVENT_CALLBACK(record_call, KIND_CALL)
C_EVENT_CALLBACK(record_c_return, KIND_C_RETURN)
C_EVENT_CALLBACK(record_c_raise, KIND_C_RAISE)

static PyObject *
noop(PyObject *module, PyObject *const *args, Py_ssize_t n)
{
    (void)module;
    (void)args;
    (void)n;
    Py_RETURN_NONE;
}

/* Profile functions: what is PyTrace_CALL/RETURN/C_CALL/C_RETURN/C_EXCEPTION (EXCEPTION and LINE
 * do not reach a profile function). C events identify by the callable (arg), Python ones by code. */
static int
record_profile(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)obj;
    const void *identity = arg;
    if (what == PyTrace_CALL || what == PyTrace_RETURN) {
        PyCodeObject *code = PyFrame_GetCode(frame);  /* a new reference since 3.9 */
        identity = code;
        Py_DECREF(code);
    }
    return floor_append(identity, KIND_PROFILE_BASE + (uint64_t)what);
}

static int
noop_profile(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)obj;
    (void)frame;
    (void)what;
    (void)arg;
    return 0;
}

static PyObject *
set_profile(PyObject *module, PyObject *arg)
{
    (void)module;
    const char *name = PyUnicode_AsUTF8(arg);
    if (name == NULL) {
        return NULL;
    }
    if (strcmp(name, "record") == 0) {
        PyEval_SetProfile(record_profile, NULL);
    } else if (strcmp(name, "noop") == 0) {
        PyEval_SetProfile(noop_profile, NULL);
    } else if (strcmp(name, "off") == 0) {
        PyEval_SetProfile(NULL, NULL);
    } else {
        PyErr_Format(PyExc_ValueError, "set_profile takes 'record', 'noop' or 'off', not %R", arg);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
count(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return PyLong_FromSize_t(floor_buffer.count);
}

static PyObject *
clear(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    floor_clear();
    Py_RETURN_NONE;
}

#define FASTCALL(name, doc) {#name, (PyCFunction)(void (*)(void))name, METH_FASTCALL, doc}

static PyMethodDef floor_methods[] = {
    FASTCALL(record_py_start, "sys.monitoring PY_START callback that appends a record."),
    FASTCALL(record_py_resume, "sys.monitoring PY_RESUME callback that appends a record."),
    FASTCALL(record_py_return, "sys.monitoring PY_RETURN callback that appends a record."),
    FASTCALL(record_py_yield, "sys.monitoring PY_YIELD callback that appends a record."),
    FASTCALL(record_py_unwind, "sys.monitoring PY_UNWIND callback that appends a record."),
    FASTCALL(record_py_throw, "sys.monitoring PY_THROW callback that appends a record."),
    FASTCALL(record_call, "sys.monitoring CALL callback: a record for non-Python callables."),
    FASTCALL(record_c_return, "sys.monitoring C_RETURN callback that appends a record."),
    FASTCALL(record_c_raise, "sys.monitoring C_RAISE callback that appends a record."),
    FASTCALL(noop, "sys.monitoring callback that does nothing."),
    {"set_profile", set_profile, METH_O, "Install the 'record' or 'noop' profile function, or 'off'."},
    {"count", count, METH_NOARGS, "Number of records appended so far."},
    {"clear", clear, METH_NOARGS, "Free the record buffer."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef floor_module = {
    PyModuleDef_HEAD_INIT, "_floor", "Reference tracer floors for pulsetrace's benchmarks.", -1,
    floor_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__floor(void)
{
    return PyModule_Create(&floor_module);
}
