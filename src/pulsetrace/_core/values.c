/* log_args / log_retval: the text of a call's parameters and of a return value, kept per thread.
 *
 * The text is reprs.format_arguments / reprs.bounded_repr exactly (rendered by reprs.c). It is stored
 * as UTF-8 back to back in the thread's PtTexts with the index of the record it belongs to, and
 * becomes a {record index: str} dict when the recording is handed over. Parameters are read straight
 * from the frame as the function starts (PY_START / the 'call' event), before its body has run.
 */
#include "core.h"

#if PY_VERSION_HEX >= 0x030B0000
#define Py_BUILD_CORE 1
#include "internal/pycore_frame.h"
#undef Py_BUILD_CORE
#define CELL_KIND 0x40 /* CO_FAST_CELL (internal/pycore_code.h) */
#endif

/* ---- the text store ---- */

static int reserve(PtTexts *x, size_t more)
{
    if (x->len + more > x->cap) {
        size_t cap = x->cap ? x->cap : 4096;
        while (cap < x->len + more)
            cap *= 2;
        char *data = PyMem_RawRealloc(x->data, cap);
        if (data == NULL)
            return -1;
        x->data = data;
        x->cap = cap;
    }
    return 0;
}

static inline int put_bytes(PtTexts *x, const char *s, size_t n)
{
    if (reserve(x, n) < 0)
        return -1;
    memcpy(x->data + x->len, s, n);
    x->len += n;
    return 0;
}

/* Close the entry that started at ``start`` (x->len before it) under ``index``. */
static int commit(PtTexts *x, uint64_t index)
{
    if (x->count == x->entries_cap) {
        size_t cap = x->entries_cap ? x->entries_cap * 2 : 1024;
        uint64_t *idx = PyMem_RawRealloc(x->index, cap * sizeof(uint64_t));
        if (idx != NULL)
            x->index = idx;
        size_t *ends = idx ? PyMem_RawRealloc(x->ends, cap * sizeof(size_t)) : NULL;
        if (ends == NULL)
            return -1;
        x->ends = ends;
        x->entries_cap = cap;
    }
    x->index[x->count] = index;
    x->ends[x->count] = x->len;
    x->count++;
    return 0;
}

static inline size_t entry_start(PtTexts *x)
{
    return x->count ? x->ends[x->count - 1] : 0;
}

int pt_texts_put(PtTexts *x, uint64_t index, const char *utf8, size_t n)
{
    size_t start = x->len;
    if (put_bytes(x, utf8, n) < 0 || commit(x, index) < 0) {
        x->len = start;
        return -1;
    }
    return 0;
}

void pt_texts_drop(PtTexts *x, uint64_t index)
{
    if (x->count && x->index[x->count - 1] == index) {
        x->count--;
        x->len = entry_start(x);
    }
}

PyObject *pt_texts_dict(PtTexts *x)
{
    PyObject *dict = PyDict_New();
    for (size_t i = 0; dict != NULL && i < x->count; i++) {
        size_t start = i ? x->ends[i - 1] : 0;
        PyObject *key = PyLong_FromUnsignedLongLong(x->index[i]);
        PyObject *text = key ? PyUnicode_DecodeUTF8(x->data + start, (Py_ssize_t)(x->ends[i] - start), "surrogatepass")
                             : NULL;
        if (text == NULL || PyDict_SetItem(dict, key, text) < 0)
            Py_CLEAR(dict);
        Py_XDECREF(key);
        Py_XDECREF(text);
    }
    return dict;
}

void pt_texts_free(PtTexts *x)
{
    PyMem_RawFree(x->data);
    PyMem_RawFree(x->index);
    PyMem_RawFree(x->ends);
    memset(x, 0, sizeof *x);
}

/* ---- parameters ---- */

/* Where a function's parameters are, in reprs.argument_names order: positional, *args, keyword-only,
 * **kwargs. ``names`` holds "name=" for each, UTF-8, back to back. */
typedef struct {
    int n;
    int slot[1 + 255];   /* index into the frame's fast locals */
    uint8_t cell[256];   /* the slot may hold a cell (3.11+) */
    size_t name_end[256];
    char names[];
} ArgSpec;

static PyObject *varnames_of(PyCodeObject *code)
{
#if PY_VERSION_HEX >= 0x030B0000
    PyObject *names = code->co_localsplusnames;
    Py_INCREF(names);
    return names;
#else
    PyObject *names = code->co_varnames;
    Py_INCREF(names);
    return names;
#endif
}

static ArgSpec *build_spec(PyCodeObject *code)
{
    int argc = code->co_argcount, kwonly = code->co_kwonlyargcount;
    int order[260], n = 0;
    for (int i = 0; i < argc; i++)
        order[n++] = i;
    int index = argc + kwonly;
    if (code->co_flags & CO_VARARGS)
        order[n++] = index++;
    for (int i = argc; i < argc + kwonly; i++)
        order[n++] = i;
    if (code->co_flags & CO_VARKEYWORDS)
        order[n++] = index;
    if (n > 255)
        n = 255; /* more than 255 parameters: the first 255 are shown */
    PyObject *names = varnames_of(code);
    if (names == NULL)
        return NULL;
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        Py_ssize_t len = 0;
        if (order[i] >= PyTuple_GET_SIZE(names) || PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(names, order[i]), &len) == NULL) {
            Py_DECREF(names);
            return NULL;
        }
        total += (size_t)len + 1;
    }
    ArgSpec *spec = PyMem_RawCalloc(1, sizeof(ArgSpec) + total);
    if (spec == NULL) {
        Py_DECREF(names);
        return NULL;
    }
    spec->n = n;
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        Py_ssize_t len;
        const char *utf8 = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(names, order[i]), &len);
        memcpy(spec->names + at, utf8, (size_t)len);
        spec->names[at + (size_t)len] = '=';
        at += (size_t)len + 1;
        spec->name_end[i] = at;
        spec->slot[i] = order[i];
#if PY_VERSION_HEX >= 0x030B0000
        spec->cell[i] = (PyBytes_AS_STRING(code->co_localspluskinds)[order[i]] & CELL_KIND) != 0;
#endif
    }
    Py_DECREF(names);
    return spec;
}

static ArgSpec *spec_for(PtRecorder *r, uint32_t id, PyObject *code)
{
    if (id >= r->argspecs_cap) {
        size_t cap = r->argspecs_cap ? r->argspecs_cap : 1024;
        while (cap <= id)
            cap *= 2;
        void **grown = PyMem_RawRealloc(r->argspecs, cap * sizeof(void *));
        if (grown == NULL)
            return NULL;
        memset(grown + r->argspecs_cap, 0, (cap - r->argspecs_cap) * sizeof(void *));
        r->argspecs = grown;
        r->argspecs_cap = cap;
    }
    if (r->argspecs[id] == NULL)
        r->argspecs[id] = build_spec((PyCodeObject *)code);
    return r->argspecs[id];
}

void pt_argspecs_free(PtRecorder *r)
{
    for (size_t i = 0; i < r->argspecs_cap; i++)
        PyMem_RawFree(r->argspecs[i]);
    PyMem_RawFree(r->argspecs);
    r->argspecs = NULL;
    r->argspecs_cap = 0;
}

/* The fast locals of the frame now starting to run ``code`` (borrowed), or NULL. 3.9/3.10 may give
 * NULL for a parameter that is also a cell: ``frame`` is then set to read it from f_locals. */
static PyObject **fast_locals(PyObject *code, PyFrameObject **frame)
{
    *frame = NULL;
#if PY_VERSION_HEX >= 0x030D0000
    _PyInterpreterFrame *f = PyThreadState_Get()->current_frame;
    if (f == NULL || f->f_executable != code)
        return NULL;
    return f->localsplus;
#elif PY_VERSION_HEX >= 0x030B0000
    _PyInterpreterFrame *f = PyThreadState_Get()->cframe->current_frame;
    if (f == NULL || (PyObject *)f->f_code != code)
        return NULL;
    return f->localsplus;
#else
    PyFrameObject *f = PyEval_GetFrame();
    if (f == NULL || (PyObject *)f->f_code != code)
        return NULL;
    *frame = f;
    return f->f_localsplus;
#endif
}

static PyObject *old_style_lookup(PyFrameObject *frame, const char *name, size_t len)
{
    if (frame == NULL)
        return NULL;
    PyObject *locals = PyObject_GetAttrString((PyObject *)frame, "f_locals");
    PyObject *key = locals ? PyUnicode_DecodeUTF8(name, (Py_ssize_t)len, NULL) : NULL;
    PyObject *value = key ? PyObject_GetItem(locals, key) : NULL;
    Py_XDECREF(locals);
    Py_XDECREF(key);
    PyErr_Clear();
    return value; /* new reference */
}

/* Per OS thread, not per PtThread: a repr may stop the recording, which frees the PtThread. */
static __thread PtReprOut *tls_out = NULL;

static PtReprOut *repr_out(PtThread *t)
{
    if (tls_out == NULL)
        tls_out = PyMem_RawCalloc(1, sizeof(PtReprOut));
    return tls_out;
}

void pt_capture_args(PtThread *t, PtRecorder *r, uint32_t id, PyObject *code)
{
    uint64_t index = (uint64_t)pt_last_index(t);
    PtReprOut *out = repr_out(t);
    ArgSpec *spec = out ? spec_for(r, id, code) : NULL;
    PyFrameObject *frame;
    PyObject **locals = spec ? fast_locals(code, &frame) : NULL;
    if (locals == NULL) {
        PyErr_Clear();
        return;
    }
    /* Hold the values: the reprs run Python code, which may change the frame's locals. */
    PyObject *values[256];
    for (int i = 0; i < spec->n; i++) {
        PyObject *v = locals[spec->slot[i]];
        if (v != NULL && spec->cell[i] && PyCell_Check(v))
            v = PyCell_GET(v);
        Py_XINCREF(v);
        if (v == NULL) {
            size_t start = i ? spec->name_end[i - 1] : 0;
            v = old_style_lookup(frame, spec->names + start, spec->name_end[i] - start - 1);
        }
        values[i] = v;
    }
    uint64_t generation = pt_generation;
    PtTexts *x = &t->args;
    size_t start = x->len;
    int first = 1, ok = 1;
    for (int i = 0; i < spec->n; i++) {
        if (values[i] == NULL)
            continue;
        pt_bounded_repr(out, values[i], r->repr_limit);
        if (pt_generation != generation) { /* the repr stopped the recording: t is gone */
            for (int j = i; j < spec->n; j++)
                Py_XDECREF(values[j]);
            return;
        }
        size_t name_start = i ? spec->name_end[i - 1] : 0;
        if (ok && !first)
            ok = put_bytes(x, ", ", 2) == 0;
        first = 0;
        if (ok)
            ok = put_bytes(x, spec->names + name_start, spec->name_end[i] - name_start) == 0 &&
                 put_bytes(x, out->buf, out->bytes) == 0;
        Py_DECREF(values[i]);
    }
    if (!ok || commit(x, index) < 0)
        x->len = start;
}

void pt_capture_retval(PtThread *t, PtRecorder *r, PyObject *value, uint64_t index)
{
    PtReprOut *out = repr_out(t);
    if (out == NULL)
        return;
    uint64_t generation = pt_generation;
    Py_INCREF(value);
    pt_bounded_repr(out, value, r->repr_limit);
    Py_DECREF(value);
    if (pt_generation == generation)
        pt_texts_put(&t->retvals, index, out->buf, out->bytes);
}
