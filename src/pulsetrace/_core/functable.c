/* Function ids: an open-addressing map from an interpreter object to a dense id.
 *
 * Python functions are keyed by code object (kept alive by ``objects`` so the address cannot be
 * reused during the session). C functions are keyed by what their name depends on: the method
 * definition plus the type (or module) it is bound to, or the method descriptor itself. Names of C
 * functions are computed once, when first seen, with the same rule as pulsetrace.naming.
 */
#include "core.h"

int pt_functable_init(PtFuncTable *ft)
{
    size_t cap = 1024;
    ft->slots = PyMem_RawCalloc(cap, sizeof(PtSlot));
    ft->flags = PyMem_RawMalloc(cap);
    ft->globals = PyMem_RawMalloc(cap * sizeof(PyObject *));
    ft->objects = PyList_New(0);
    if (ft->slots == NULL || ft->flags == NULL || ft->globals == NULL || ft->objects == NULL) {
        pt_functable_clear(ft);
        PyErr_NoMemory();
        return -1;
    }
    ft->mask = cap - 1;
    ft->count = 0;
    ft->flags_cap = cap;
    return 0;
}

void pt_functable_clear(PtFuncTable *ft)
{
    PyMem_RawFree(ft->slots);
    PyMem_RawFree(ft->flags);
    PyMem_RawFree(ft->globals);
    Py_CLEAR(ft->objects);
    Py_CLEAR(ft->rows);
    ft->slots = NULL;
    ft->flags = NULL;
    ft->globals = NULL;
    ft->mask = 0;
    ft->count = 0;
    ft->flags_cap = 0;
}

static int grow(PtFuncTable *ft)
{
    size_t cap = (ft->mask + 1) * 2;
    PtSlot *slots = PyMem_RawCalloc(cap, sizeof(PtSlot));
    if (slots == NULL)
        return -1;
    for (size_t i = 0; i <= ft->mask; i++) {
        PtSlot *old = &ft->slots[i];
        if (!old->used)
            continue;
        size_t j = pt_hash(old->key_a, old->key_b) & (cap - 1);
        while (slots[j].used)
            j = (j + 1) & (cap - 1);
        slots[j] = *old;
    }
    PyMem_RawFree(ft->slots);
    ft->slots = slots;
    ft->mask = cap - 1;
    return 0;
}

/* Adds a function; ``object`` is stored (code object or name). Returns its stack entry. */
static uint32_t insert(PtFuncTable *ft, uintptr_t a, uintptr_t b, PyObject *object, uint8_t flags)
{
    if ((ft->count + 1) * 2 > ft->mask + 1 && grow(ft) < 0) {
        PyErr_NoMemory();
        return (uint32_t)-1;
    }
    if (ft->count >= ft->flags_cap) {
        size_t cap = ft->flags_cap * 2;
        uint8_t *f = PyMem_RawRealloc(ft->flags, cap);
        if (f != NULL)
            ft->flags = f;
        PyObject **g = f ? PyMem_RawRealloc(ft->globals, cap * sizeof(PyObject *)) : NULL;
        if (g == NULL) {
            PyErr_NoMemory();
            return (uint32_t)-1;
        }
        ft->globals = g;
        ft->flags_cap = cap;
    }
    if (ft->count >= PT_ID_MASK) {
        PyErr_SetString(PyExc_OverflowError, "too many distinct functions");
        return (uint32_t)-1;
    }
    if (PyList_Append(ft->objects, object) < 0)
        return (uint32_t)-1;
    uint32_t id = (uint32_t)ft->count++;
    ft->flags[id] = flags;
    ft->globals[id] = NULL;
    uint32_t entry = id | ((flags & PT_FUNC_C) ? PT_STACK_C : 0) | ((flags & PT_FUNC_IGNORED) ? PT_STACK_IGNORED : 0);
    size_t i = pt_hash(a, b) & ft->mask;
    while (ft->slots[i].used)
        i = (i + 1) & ft->mask;
    ft->slots[i].key_a = a;
    ft->slots[i].key_b = b;
    ft->slots[i].id = entry;
    ft->slots[i].used = 1;
    return entry;
}

uint32_t pt_code_insert(PtRecorder *r, PyObject *code)
{
    uint8_t flags = pt_code_verdict(r, code);
    if (flags == 0xFF)
        return (uint32_t)-1;
    uint32_t entry = insert(&r->functions, (uintptr_t)code, 0, code, flags);
    if (entry != (uint32_t)-1 && (flags & (PT_FUNC_HIDE | PT_FUNC_UNSEEN))) {
        entry |= (flags & PT_FUNC_HIDE) ? PT_STACK_HIDE : PT_STACK_UNSEEN;
        if (flags & PT_FUNC_UNSEEN)
            r->has_unseen = 1;
        PtFuncTable *ft = &r->functions;
        size_t i = pt_hash((uintptr_t)code, 0) & ft->mask;
        while (!(ft->slots[i].used && ft->slots[i].key_a == (uintptr_t)code && ft->slots[i].key_b == 0))
            i = (i + 1) & ft->mask;
        ft->slots[i].id = entry;
    }
    return entry;
}

/* The rule of pulsetrace.naming.c_function_name: "module.qualname" for functions bound to a module
 * (or to nothing), else the qualname (which already reads "Type.method"). */
static PyObject *c_function_name(PyObject *callable)
{
    PyObject *qualname = PyObject_GetAttrString(callable, "__qualname__");
    if (qualname == NULL || !PyUnicode_Check(qualname)) {
        PyErr_Clear();
        Py_XDECREF(qualname);
        qualname = PyObject_GetAttrString(callable, "__name__");
        if (qualname == NULL || !PyUnicode_Check(qualname)) {
            PyErr_Clear();
            Py_XDECREF(qualname);
            return PyUnicode_FromString("?");
        }
    }
    PyObject *self = NULL;
    if (PyCFunction_Check(callable))
        self = ((PyCFunctionObject *)callable)->m_self;
    else
        return qualname; /* a method descriptor: "Type.method" */
    if (self != NULL && !PyModule_Check(self))
        return qualname;
    PyObject *module = PyObject_GetAttrString(callable, "__module__");
    if (module == NULL)
        PyErr_Clear();
    if ((module == NULL || !PyUnicode_Check(module)) && self != NULL) {
        Py_XDECREF(module);
        module = PyObject_GetAttrString(self, "__name__");
        if (module == NULL)
            PyErr_Clear();
    }
    if (module == NULL || !PyUnicode_Check(module) || PyUnicode_GET_LENGTH(module) == 0) {
        Py_XDECREF(module);
        return qualname;
    }
    PyObject *name = PyUnicode_FromFormat("%U.%U", module, qualname);
    Py_DECREF(module);
    Py_DECREF(qualname);
    return name;
}

static int is_own(PyObject *callable, PyObject *own_module)
{
    if (PyCFunction_Check(callable)) {
        PyObject *self = ((PyCFunctionObject *)callable)->m_self;
        return self != NULL && (self == own_module || Py_IS_TYPE(self, &PtRecorder_Type));
    }
    return Py_IS_TYPE(callable, &PyMethodDescr_Type) &&
           ((PyDescrObject *)callable)->d_type == &PtRecorder_Type;
}

uint32_t pt_cfunc_insert(PtFuncTable *ft, PyObject *callable, uintptr_t a, uintptr_t b, PyObject *own_module)
{
    PyObject *exc_type, *exc_value, *exc_tb;
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb); /* a C_RAISE may arrive with an exception set */
    PyObject *name = c_function_name(callable);
    uint32_t entry = (uint32_t)-1;
    if (name != NULL) {
        uint8_t flags = PT_FUNC_C | (is_own(callable, own_module) ? PT_FUNC_IGNORED : 0);
        entry = insert(ft, a, b, name, flags);
        Py_DECREF(name);
    }
    if (entry == (uint32_t)-1)
        PyErr_Clear();
    PyErr_Restore(exc_type, exc_value, exc_tb);
    return entry;
}

uint32_t *pt_functable_compact(PtFuncTable *ft)
{
    size_t n = ft->count;
    uint32_t *remap = PyMem_RawMalloc((n ? n : 1) * sizeof(uint32_t));
    PyObject *kept = PyList_New(0);
    if (remap == NULL || kept == NULL) {
        PyMem_RawFree(remap);
        Py_XDECREF(kept);
        PyErr_NoMemory();
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        remap[i] = (uint32_t)PyList_GET_SIZE(kept);
        if (!(ft->flags[i] & PT_FUNC_IGNORED) && PyList_Append(kept, PyList_GET_ITEM(ft->objects, i)) < 0) {
            PyMem_RawFree(remap);
            Py_DECREF(kept);
            return NULL;
        }
    }
    Py_XSETREF(ft->rows, kept);
    return remap;
}

/* [(kind, name, filename, lineno), ...] indexed by id (after pt_functable_compact, if it ran). */
PyObject *pt_functable_rows(PtFuncTable *ft)
{
    PyObject *objects = ft->rows ? ft->rows : ft->objects;
    Py_ssize_t n = objects ? PyList_GET_SIZE(objects) : 0;
    PyObject *rows = PyList_New(n);
    if (rows == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *obj = PyList_GET_ITEM(objects, i);
        PyObject *row;
        if (PyCode_Check(obj)) {
            PyCodeObject *code = (PyCodeObject *)obj;
#if PY_VERSION_HEX >= 0x030B0000
            PyObject *qualname = code->co_qualname;
#else
            PyObject *qualname = code->co_name;
#endif
            row = Py_BuildValue("(iOOi)", 0, qualname, code->co_filename, code->co_firstlineno);
        }
        else {
            row = Py_BuildValue("(iOsi)", 1, obj, "", 0);
        }
        if (row == NULL) {
            Py_DECREF(rows);
            return NULL;
        }
        PyList_SET_ITEM(rows, i, row);
    }
    return rows;
}

static PtSlot *slot_of(PtFuncTable *ft, uintptr_t a, uintptr_t b)
{
    size_t i = pt_hash(a, b) & ft->mask;
    while (!(ft->slots[i].used && ft->slots[i].key_a == a && ft->slots[i].key_b == b))
        i = (i + 1) & ft->mask;
    return &ft->slots[i];
}

int pt_functable_watch(PtRecorder *r, PyObject *code, PyObject *globals)
{
    PtFuncTable *ft = &r->functions;
    uint32_t entry = pt_lookup(ft, (uintptr_t)code, 0);
    if (entry == (uint32_t)-1)
        return 0; /* a frame that started before tracing: not worth a row the trace never uses */
    uint32_t id = entry & PT_ID_MASK;
    if (ft->flags[id] & PT_FUNC_TAINTED)
        return 0;
    if (ft->globals[id] != NULL && ft->globals[id] != globals) {
        pt_callsites_taint(r, entry);
        return 0;
    }
    ft->globals[id] = globals; /* borrowed: the watch holds the dict alive */
    slot_of(ft, (uintptr_t)code, 0)->id |= PT_STACK_WATCHED;
    return 1;
}

/* Mark a code object as run under two globals dicts: stop watching, never disable its sites. */
void pt_functable_taint(PtFuncTable *ft, uint32_t entry)
{
    uint32_t id = entry & PT_ID_MASK;
    PyObject *code = PyList_GET_ITEM(ft->objects, id);
    ft->flags[id] |= PT_FUNC_TAINTED;
    slot_of(ft, (uintptr_t)code, 0)->id &= ~PT_STACK_WATCHED;
}
