/* The sys.monitoring backend (Python 3.12+).
 *
 * Takes a free tool id (never one in use), registers C callbacks for the Python-function events and
 * for CALL/C_RETURN/C_RAISE, and records. Call sites whose callee is not a C function return
 * DISABLE from CALL, under the rules in callsites.c, so the program stops paying for them.
 */
#include "core.h"

#if PT_HAS_MONITORING

#include "callsites.h"

typedef struct PtMonitoring {
    PyObject *monitoring; /* the sys.monitoring module */
    PyObject *callbacks;  /* list of (event flag, callback) we registered */
} PtMonitoring;

static PyObject *disable_sentinel = NULL; /* sys.monitoring.DISABLE */

static inline PyObject *disable(void)
{
    Py_INCREF(disable_sentinel);
    return disable_sentinel;
}

/* Unseen code (PT_STACK_UNSEEN, a SKIP verdict of config.code_filter, as include_files gives every
 * file outside the included ones): its local events return DISABLE, so after the first call the
 * interpreter stops calling us for it, and its frames never go on the stack. What cannot be
 * disabled (PY_THROW, PY_UNWIND) is recognised here by its code and ignored. C_RETURN / C_RAISE of
 * the call whose CALL returned DISABLE were not seen delivered on 3.12 (they follow CALL's state);
 * they are checked too, so a Python version that delivers them cannot unbalance the stack. Until some
 * code is unseen, nothing looks. */
static inline int unseen(PtRecorder *r, PyObject *code)
{
    if (PT_LIKELY(!r->has_unseen))
        return 0;
    uint32_t entry = pt_lookup(&r->functions, (uintptr_t)code, 0);
    return entry != (uint32_t)-1 && (entry & PT_STACK_UNSEEN);
}

static PyObject *on_py_start(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PtThread *t = pt_current_thread();
    if (t != NULL && pt_enter_code(t, pt_active, args[0], PT_ENTER_CALL))
        return disable();
    Py_RETURN_NONE;
}

static PyObject *on_py_resume(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PtThread *t = pt_current_thread();
    if (t != NULL && pt_enter_code(t, pt_active, args[0], PT_ENTER_RESUME))
        return disable();
    Py_RETURN_NONE;
}

static PyObject *on_py_throw(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PtThread *t = pt_current_thread();
    if (t != NULL)
        pt_enter_code(t, pt_active, args[0], PT_ENTER_RESUME); /* PY_THROW cannot be disabled */
    Py_RETURN_NONE;
}

static PyObject *on_py_return(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PtThread *t = pt_current_thread();
    if (t != NULL) {
        if (PT_UNLIKELY(unseen(pt_active, args[0])))
            return disable();
        pt_exit(t, PT_EXIT_RETURN, 0, args[2]);
    }
    Py_RETURN_NONE;
}

static PyObject *on_py_yield(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PtThread *t = pt_current_thread();
    if (t != NULL) {
        if (PT_UNLIKELY(unseen(pt_active, args[0])))
            return disable();
        pt_exit(t, PT_EXIT_YIELD, 0, NULL);
    }
    Py_RETURN_NONE;
}

static PyObject *on_py_unwind(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PtThread *t = pt_current_thread();
    if (t != NULL && !unseen(pt_active, args[0]))
        pt_exit(t, PT_EXIT_UNWIND, 0, NULL);
    Py_RETURN_NONE;
}

static PyObject *on_call(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PtThread *t = pt_current_thread();
    if (t == NULL)
        Py_RETURN_NONE;
    if (PT_UNLIKELY(unseen(pt_active, args[0])))
        return disable(); /* a call made by unseen code: not recorded, whatever the callee */
    if (pt_enter_cfunc(t, pt_active, args[2], args[0]))
        Py_RETURN_NONE;
    /* The callee is not a C function: this site may stop reporting CALL if it can never call one
     * unseen (callsites.c decides and keeps watch). */
    if (pt_callsite_may_disable(pt_active, args[0], args[1], args[2]))
        return disable();
    Py_RETURN_NONE;
}

static PyObject *on_c_return(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PtThread *t = pt_current_thread();
    if (t != NULL && (PyCFunction_Check(args[2]) || Py_IS_TYPE(args[2], &PyMethodDescr_Type)) &&
        !unseen(pt_active, args[0]))
        pt_exit(t, PT_EXIT_RETURN, 1, NULL);
    Py_RETURN_NONE;
}

static PyObject *on_c_raise(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PtThread *t = pt_current_thread();
    if (t != NULL && (PyCFunction_Check(args[2]) || Py_IS_TYPE(args[2], &PyMethodDescr_Type)) &&
        !unseen(pt_active, args[0]))
        pt_exit(t, PT_EXIT_UNWIND, 1, NULL);
    Py_RETURN_NONE;
}

static PyObject *on_raise(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PtThread *t = pt_current_thread();
    if (t != NULL && nargs == 3) {
        int offset = (int)PyLong_AsLong(args[1]);
        int lineno = offset >= 0 ? PyCode_Addr2Line((PyCodeObject *)args[0], offset) : -1;
        PyErr_Clear();
        pt_exception_seen(t, pt_active, args[0], lineno, args[2]);
    }
    Py_RETURN_NONE;
}

typedef struct {
    const char *event;
    PyMethodDef def;
} Hook;

#define C_HOOKS_FROM 6 /* hooks[6..8]: C calls, left out with ignore_c_function */
#define RAISE_HOOK 9   /* registered only with an exception sink */

static Hook hooks[] = {
    {"PY_START", {"pulsetrace_py_start", (PyCFunction)(void (*)(void))on_py_start, METH_FASTCALL, NULL}},
    {"PY_RESUME", {"pulsetrace_py_resume", (PyCFunction)(void (*)(void))on_py_resume, METH_FASTCALL, NULL}},
    {"PY_THROW", {"pulsetrace_py_throw", (PyCFunction)(void (*)(void))on_py_throw, METH_FASTCALL, NULL}},
    {"PY_RETURN", {"pulsetrace_py_return", (PyCFunction)(void (*)(void))on_py_return, METH_FASTCALL, NULL}},
    {"PY_YIELD", {"pulsetrace_py_yield", (PyCFunction)(void (*)(void))on_py_yield, METH_FASTCALL, NULL}},
    {"PY_UNWIND", {"pulsetrace_py_unwind", (PyCFunction)(void (*)(void))on_py_unwind, METH_FASTCALL, NULL}},
    {"CALL", {"pulsetrace_call", (PyCFunction)(void (*)(void))on_call, METH_FASTCALL, NULL}},
    {"C_RETURN", {"pulsetrace_c_return", (PyCFunction)(void (*)(void))on_c_return, METH_FASTCALL, NULL}},
    {"C_RAISE", {"pulsetrace_c_raise", (PyCFunction)(void (*)(void))on_c_raise, METH_FASTCALL, NULL}},
    {"RAISE", {"pulsetrace_raise", (PyCFunction)(void (*)(void))on_raise, METH_FASTCALL, NULL}},
};
#define N_HOOKS (sizeof(hooks) / sizeof(hooks[0]))

/* Tool ids in order of preference: the ones no well-known tool claims first
 * (0 debugger, 1 coverage, 2 profiler, 5 optimizer are the names sys.monitoring gives). */
static const int tool_preference[] = {4, 3, 5, 2, 1, 0};

static int take_tool_id(PyObject *mon)
{
    for (size_t i = 0; i < sizeof(tool_preference) / sizeof(int); i++) {
        int id = tool_preference[i];
        PyObject *holder = PyObject_CallMethod(mon, "get_tool", "i", id);
        if (holder == NULL)
            return -1;
        int free_id = holder == Py_None;
        Py_DECREF(holder);
        if (!free_id)
            continue;
        PyObject *ok = PyObject_CallMethod(mon, "use_tool_id", "is", id, "pulsetrace");
        if (ok != NULL) {
            Py_DECREF(ok);
            return id;
        }
        PyErr_Clear(); /* taken between our look and our claim: try the next one */
    }
    PyObject *holders = PyList_New(0);
    for (int id = 0; holders != NULL && id < 6; id++) {
        PyObject *name = PyObject_CallMethod(mon, "get_tool", "i", id);
        PyObject *item = name ? PyUnicode_FromFormat("%d=%R", id, name) : NULL;
        Py_XDECREF(name);
        if (item == NULL || PyList_Append(holders, item) < 0)
            Py_CLEAR(holders);
        Py_XDECREF(item);
    }
    PyErr_Clear();
    PyErr_Format(PyExc_ValueError,
                 "no free sys.monitoring tool id: all six are in use (%R); "
                 "stop another profiler, debugger or coverage tool first",
                 holders ? holders : Py_None);
    Py_XDECREF(holders);
    return -1;
}

static void release(PtRecorder *r)
{
    PtMonitoring *m = r->monitoring;
    if (m == NULL)
        return;
    if (r->tool_id >= 0 && m->monitoring != NULL) {
        PyObject *res = PyObject_CallMethod(m->monitoring, "set_events", "ii", r->tool_id, 0);
        Py_XDECREF(res);
        for (Py_ssize_t i = 0; m->callbacks && i < PyList_GET_SIZE(m->callbacks); i++) {
            PyObject *flag = PyTuple_GET_ITEM(PyList_GET_ITEM(m->callbacks, i), 0);
            res = PyObject_CallMethod(m->monitoring, "register_callback", "iOO", r->tool_id, flag, Py_None);
            Py_XDECREF(res);
        }
        res = PyObject_CallMethod(m->monitoring, "free_tool_id", "i", r->tool_id);
        Py_XDECREF(res);
    }
    r->tool_id = -1;
    Py_CLEAR(m->monitoring);
    Py_CLEAR(m->callbacks);
    PyMem_RawFree(m);
    r->monitoring = NULL;
}

int pt_monitoring_start(PtRecorder *r)
{
    PtMonitoring *m = PyMem_RawCalloc(1, sizeof(PtMonitoring));
    if (m == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    r->monitoring = m;
    m->monitoring = PySys_GetObject("monitoring"); /* borrowed */
    Py_XINCREF(m->monitoring);
    m->callbacks = PyList_New(0);
    PyObject *events = m->monitoring ? PyObject_GetAttrString(m->monitoring, "events") : NULL;
    if (events == NULL || m->callbacks == NULL)
        goto fail;
    if (disable_sentinel == NULL) {
        disable_sentinel = PyObject_GetAttrString(m->monitoring, "DISABLE");
        if (disable_sentinel == NULL)
            goto fail;
    }
    if ((r->tool_id = take_tool_id(m->monitoring)) < 0)
        goto fail;
    if (!r->ignore_c && pt_callsites_start(r) < 0)
        goto fail;
    /* Sites DISABLEd in an earlier session stay disabled until restarted. */
    PyObject *res = PyObject_CallMethod(m->monitoring, "restart_events", NULL);
    if (res == NULL)
        goto fail;
    Py_DECREF(res);
    long mask = 0;
    for (size_t i = 0; i < N_HOOKS; i++) {
        if ((r->ignore_c && i >= C_HOOKS_FROM && i < RAISE_HOOK) || (i == RAISE_HOOK && r->exception_sink == NULL))
            continue; /* not even delivered */
        PyObject *flag = PyObject_GetAttrString(events, hooks[i].event);
        PyObject *func = flag ? PyCFunction_New(&hooks[i].def, NULL) : NULL;
        PyObject *pair = func ? PyTuple_Pack(2, flag, func) : NULL;
        int ok = pair != NULL && PyList_Append(m->callbacks, pair) == 0;
        if (ok) {
            res = PyObject_CallMethod(m->monitoring, "register_callback", "iOO", r->tool_id, flag, func);
            ok = res != NULL;
            Py_XDECREF(res);
            mask |= PyLong_AsLong(flag);
        }
        Py_XDECREF(flag);
        Py_XDECREF(func);
        Py_XDECREF(pair);
        if (!ok)
            goto fail;
    }
    res = PyObject_CallMethod(m->monitoring, "set_events", "il", r->tool_id, mask);
    if (res == NULL)
        goto fail;
    Py_DECREF(res);
    Py_DECREF(events);
    return 0;
fail:
    Py_XDECREF(events);
    {
        PyObject *exc_type, *exc_value, *exc_tb;
        PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
        release(r);
        pt_callsites_stop(r);
        PyErr_Restore(exc_type, exc_value, exc_tb);
    }
    return -1;
}

int pt_monitoring_stop(PtRecorder *r)
{
    release(r);
    pt_callsites_stop(r);
    return PyErr_Occurred() ? -1 : 0;
}

#else /* before 3.12 there is no sys.monitoring */

int pt_monitoring_start(PtRecorder *r)
{
    PyErr_SetString(PyExc_ValueError, "the 'monitoring' backend needs Python 3.12 or later");
    return -1;
}

int pt_monitoring_stop(PtRecorder *r)
{
    return 0;
}

#endif
