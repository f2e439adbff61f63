/* Safe DISABLE for CALL sites (sys.monitoring backend).
 *
 * A CALL event is only useful when the callee is a C function; at a site that calls a Python
 * function it is pure cost (and keeps the call from being specialised). Returning DISABLE silences
 * the site for good, including its C_RETURN, so a site may only be disabled when it can never call a
 * C function unseen. The rule:
 *
 *   1. The callee expression is a global name: the value under the callable comes straight from a
 *      LOAD_GLOBAL with the NULL flag (what the compiler emits for exactly `name(...)`), found by a
 *      backward stack-accounting scan over a small set of straight-line instructions.
 *   2. Such a site can only reach another callee if that name is rebound in the frame's globals or
 *      builtins: a dict watcher on those dicts calls sys.monitoring.restart_events() when a watched
 *      name changes (or the dict is cleared), which re-arms every disabled site at once.
 *   3. The same code object could run under another globals dict (FunctionType(code, g), exec):
 *      a code object with a disabled site remembers its globals, and PY_START checks them cheaply;
 *      a mismatch re-arms everything and that code is never disabled again.
 *
 * Anything the scan does not understand keeps reporting CALL: correctness first.
 */
#include "callsites.h"

#if PT_HAS_MONITORING

enum { OP_OTHER = 0, OP_FIXED, OP_LOAD_GLOBAL, OP_LOAD_ATTR, OP_BUILD, OP_CALL, OP_CALL_KW, OP_CACHE, OP_EXTENDED };

typedef struct {
    uint8_t kind;
    uint8_t pushes; /* for OP_FIXED */
    uint8_t pops;
} OpInfo;

typedef struct {
    PyObject *code;
    int offset;
    int verdict; /* 1: may disable, 0: keep reporting */
    PyObject *name; /* the global name, when verdict is 1 */
} Site;

static OpInfo ops[256];
static int ops_ready = 0;
static int watcher_id = -1;
static PtRecorder *watching = NULL; /* the recorder whose watch is live */

/* Per-recorder state lives in these module statics: only one recorder runs at a time. */
static Site *sites = NULL;
static size_t sites_mask = 0, sites_count = 0;
static PyObject *watched_names = NULL; /* set of str */
static PyObject *watched_dicts = NULL; /* list of dicts we called PyDict_Watch on */

static int op_number(PyObject *opmap, const char *name)
{
    PyObject *v = PyDict_GetItemString(opmap, name);
    return v ? (int)PyLong_AsLong(v) : -1;
}

static void set_op(PyObject *opmap, const char *name, uint8_t kind, uint8_t pushes, uint8_t pops)
{
    int n = op_number(opmap, name);
    if (n >= 0 && n < 256) {
        ops[n].kind = kind;
        ops[n].pushes = pushes;
        ops[n].pops = pops;
    }
}

static int init_ops(void)
{
    if (ops_ready)
        return 0;
    PyObject *opcode = PyImport_ImportModule("opcode");
    if (opcode == NULL)
        return -1;
    PyObject *opmap = PyObject_GetAttrString(opcode, "opmap");
    Py_DECREF(opcode);
    if (opmap == NULL)
        return -1;
    memset(ops, 0, sizeof(ops));
    set_op(opmap, "CACHE", OP_CACHE, 0, 0);
    set_op(opmap, "EXTENDED_ARG", OP_EXTENDED, 0, 0);
    set_op(opmap, "NOP", OP_FIXED, 0, 0);
    set_op(opmap, "KW_NAMES", OP_FIXED, 0, 0); /* 3.12 */
    set_op(opmap, "LOAD_FAST", OP_FIXED, 1, 0);
    set_op(opmap, "LOAD_FAST_CHECK", OP_FIXED, 1, 0);
    set_op(opmap, "LOAD_FAST_LOAD_FAST", OP_FIXED, 2, 0); /* 3.13 */
    set_op(opmap, "LOAD_CONST", OP_FIXED, 1, 0);
    set_op(opmap, "LOAD_DEREF", OP_FIXED, 1, 0);
    set_op(opmap, "BINARY_OP", OP_FIXED, 1, 2);
    set_op(opmap, "COMPARE_OP", OP_FIXED, 1, 2);
    set_op(opmap, "BINARY_SUBSCR", OP_FIXED, 1, 2);
    set_op(opmap, "UNARY_NEGATIVE", OP_FIXED, 1, 1);
    set_op(opmap, "UNARY_NOT", OP_FIXED, 1, 1);
    set_op(opmap, "UNARY_INVERT", OP_FIXED, 1, 1);
    set_op(opmap, "TO_BOOL", OP_FIXED, 1, 1); /* 3.13 */
    set_op(opmap, "LOAD_GLOBAL", OP_LOAD_GLOBAL, 0, 0);
    set_op(opmap, "LOAD_ATTR", OP_LOAD_ATTR, 0, 0);
    set_op(opmap, "BUILD_TUPLE", OP_BUILD, 0, 0);
    set_op(opmap, "BUILD_LIST", OP_BUILD, 0, 0);
    set_op(opmap, "CALL", OP_CALL, 0, 0);
    set_op(opmap, "CALL_KW", OP_CALL_KW, 0, 0); /* 3.13 */
    Py_DECREF(opmap);
    if (PyErr_Occurred())
        return -1;
    ops_ready = 1;
    return 0;
}

/* Decode the instruction ending just before unit ``end`` (skipping caches); returns its first unit
 * (EXTENDED_ARG prefixes included) or -1. */
static int prev_instruction(const uint8_t *code, int end, int *op, unsigned *arg)
{
    int i = end - 1;
    while (i >= 0 && ops[code[2 * i]].kind == OP_CACHE)
        i--;
    if (i < 0)
        return -1;
    *op = code[2 * i];
    unsigned a = code[2 * i + 1];
    int shift = 8;
    while (i > 0 && ops[code[2 * (i - 1)]].kind == OP_EXTENDED && shift < 32) {
        i--;
        a |= (unsigned)code[2 * i + 1] << shift;
        shift += 8;
    }
    *arg = a;
    return i;
}

/* The verdict for the CALL at byte offset ``offset``: the global name its callee comes from, or NULL
 * (no exception) when the site must keep reporting. */
static PyObject *analyse(PyObject *code, int offset)
{
    PyObject *bytes = PyCode_GetCode((PyCodeObject *)code); /* de-instrumented, de-specialised */
    if (bytes == NULL)
        return NULL;
    const uint8_t *co = (const uint8_t *)PyBytes_AS_STRING(bytes);
    int units = (int)(PyBytes_GET_SIZE(bytes) / 2);
    int at = offset / 2;
    PyObject *result = NULL;
    if (at < 0 || at >= units)
        goto done;
    int op = co[2 * at];
    unsigned arg = co[2 * at + 1];
    for (int k = at, shift = 8; k > 0 && ops[co[2 * (k - 1)]].kind == OP_EXTENDED && shift < 32; k--, shift += 8)
        arg |= (unsigned)co[2 * (k - 1) + 1] << shift;
    long need;
    if (ops[op].kind == OP_CALL)
        need = arg;
    else if (ops[op].kind == OP_CALL_KW)
        need = (long)arg + 1; /* the kwnames tuple sits above the arguments */
    else
        goto done;
    int end = at;
    while (ops[co[2 * (end - 1)]].kind == OP_EXTENDED && end > 0)
        end--;
    for (int steps = 0; steps < 64; steps++) {
        unsigned a;
        int start = prev_instruction(co, end, &op, &a);
        if (start < 0)
            goto done;
        long pushes, pops;
        switch (ops[op].kind) {
        case OP_LOAD_GLOBAL:
            if (need == 0) {
                if (!(a & 1))
                    goto done; /* no NULL pushed: the callee is not a plain global name */
                PyObject *names = PyObject_GetAttrString(code, "co_names");
                if (names != NULL && PyTuple_Check(names) && (Py_ssize_t)(a >> 1) < PyTuple_GET_SIZE(names)) {
                    result = PyTuple_GET_ITEM(names, a >> 1);
                    Py_INCREF(result);
                }
                Py_XDECREF(names);
                goto done;
            }
            pushes = 1 + (a & 1);
            pops = 0;
            break;
        case OP_FIXED:
            pushes = ops[op].pushes;
            pops = ops[op].pops;
            break;
        case OP_LOAD_ATTR:
            pushes = 1 + (a & 1);
            pops = 1;
            break;
        case OP_BUILD:
            pushes = 1;
            pops = a;
            break;
        case OP_CALL:
            pushes = 1;
            pops = (long)a + 2;
            break;
        case OP_CALL_KW:
            pushes = 1;
            pops = (long)a + 3;
            break;
        default:
            goto done;
        }
        if (need == 0 || pushes > need)
            goto done; /* this instruction produces (part of) the callee: not a global name */
        need = need - pushes + pops;
        end = start;
    }
done:
    Py_DECREF(bytes);
    PyErr_Clear();
    return result;
}

static Site *find_site(PyObject *code, int offset)
{
    size_t i = pt_hash((uintptr_t)code, (uintptr_t)offset + 1) & sites_mask;
    for (;;) {
        Site *s = &sites[i];
        if (s->code == NULL || (s->code == code && s->offset == offset))
            return s;
        i = (i + 1) & sites_mask;
    }
}

static int grow_sites(void)
{
    size_t old_cap = sites ? sites_mask + 1 : 0;
    Site *old = sites;
    size_t cap = old_cap ? old_cap * 2 : 1024;
    sites = PyMem_RawCalloc(cap, sizeof(Site));
    if (sites == NULL) {
        sites = old;
        return -1;
    }
    sites_mask = cap - 1;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].code != NULL)
            *find_site(old[i].code, old[i].offset) = old[i];
    }
    PyMem_RawFree(old);
    return 0;
}

static void restart_events(void)
{
    PyObject *mon = PySys_GetObject("monitoring");
    PyObject *res = mon ? PyObject_CallMethod(mon, "restart_events", NULL) : NULL;
    Py_XDECREF(res);
}

static int on_dict_change(PyDict_WatchEvent event, PyObject *dict, PyObject *key, PyObject *new_value)
{
    if (watching == NULL || !watching->running)
        return 0;
    PyObject *exc_type, *exc_value, *exc_tb;
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
    int rearm = 0;
    switch (event) {
    case PyDict_EVENT_ADDED:
    case PyDict_EVENT_MODIFIED:
    case PyDict_EVENT_DELETED:
        rearm = key != NULL && PySet_Contains(watched_names, key) == 1;
        break;
    case PyDict_EVENT_CLEARED:
    case PyDict_EVENT_CLONED:
        rearm = 1;
        break;
    default:
        break;
    }
    if (rearm)
        restart_events();
    PyErr_Clear();
    PyErr_Restore(exc_type, exc_value, exc_tb);
    return 0;
}

static int watch(PyObject *dict)
{
    if (dict == NULL || !PyDict_Check(dict))
        return -1;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(watched_dicts); i++) {
        if (PyList_GET_ITEM(watched_dicts, i) == dict)
            return 0;
    }
    if (PyDict_Watch(watcher_id, dict) < 0 || PyList_Append(watched_dicts, dict) < 0)
        return -1;
    return 0;
}

int pt_callsites_start(PtRecorder *r)
{
    if (init_ops() < 0)
        return -1;
    if (watcher_id < 0 && (watcher_id = PyDict_AddWatcher(on_dict_change)) < 0)
        return -1;
    watched_names = PySet_New(NULL);
    watched_dicts = PyList_New(0);
    if (!watched_names || !watched_dicts || grow_sites() < 0)
        return -1;
    watching = r;
    return 0;
}

void pt_callsites_stop(PtRecorder *r)
{
    if (watching != r)
        return;
    watching = NULL;
    for (Py_ssize_t i = 0; watched_dicts && i < PyList_GET_SIZE(watched_dicts); i++)
        PyDict_Unwatch(watcher_id, PyList_GET_ITEM(watched_dicts, i));
    PyErr_Clear();
    for (size_t i = 0; sites && i <= sites_mask; i++) {
        Py_XDECREF(sites[i].code);
        Py_XDECREF(sites[i].name);
    }
    PyMem_RawFree(sites);
    sites = NULL;
    sites_mask = sites_count = 0;
    Py_CLEAR(watched_names);
    Py_CLEAR(watched_dicts);
}

int pt_callsite_may_disable(PtRecorder *r, PyObject *code, PyObject *offset_obj, PyObject *callable)
{
    if (watching != r || sites == NULL)
        return 0;
    int offset = (int)PyLong_AsLong(offset_obj);
    Site *site = find_site(code, offset);
    if (site->code == NULL) {
        if ((sites_count + 1) * 2 > sites_mask + 1) {
            if (grow_sites() < 0)
                return 0;
            site = find_site(code, offset);
        }
        site->name = analyse(code, offset);
        site->verdict = site->name != NULL;
        site->code = code;
        site->offset = offset;
        Py_INCREF(code);
        sites_count++;
    }
    if (!site->verdict)
        return 0;
    PyObject *globals = PyEval_GetGlobals(); /* the frame making the call; borrowed */
    PyObject *builtins = PyEval_GetBuiltins();
    if (globals == NULL || builtins == NULL)
        return 0;
    if (PySet_Add(watched_names, site->name) < 0 || watch(globals) < 0 || watch(builtins) < 0) {
        PyErr_Clear();
        return 0;
    }
    int ok = pt_functable_watch(r, code, globals);
    if (ok < 0)
        PyErr_Clear();
    return ok == 1;
}

/* A code object with DISABLEd sites started under other globals than those sites were judged under:
 * re-arm every site, and never disable this code's sites again. */
void pt_callsites_taint(PtRecorder *r, uint32_t entry)
{
    pt_functable_taint(&r->functions, entry);
    restart_events();
    PyErr_Clear();
}

#else

int pt_callsites_start(PtRecorder *r) { return 0; }
void pt_callsites_stop(PtRecorder *r) {}
int pt_callsite_may_disable(PtRecorder *r, PyObject *code, PyObject *offset, PyObject *callable) { return 0; }
void pt_callsites_taint(PtRecorder *r, uint32_t entry) {}

#endif
