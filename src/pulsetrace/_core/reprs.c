/* reprs.bounded_repr in C: the same text for the same value (tests/test_c_controls.py compares).
 *
 * The rule is the Python one (src/pulsetrace/reprs.py): exact str / bytes longer than the budget are
 * rendered from a prefix; exact list, tuple, set, frozenset and dict element by element, stopping once
 * past the budget (so a 10-million-element list costs what a short one does); everything else is
 * repr(). The budget arithmetic (a budget may go negative inside a dict: a str then renders
 * value[:0]) follows reprs.py line by line. Only the first limit + 1 characters are kept:
 * the rest is counted, never stored. Exact int, float, bool, None and plain ASCII str take fast paths
 * that write the text directly.
 */
#include "core.h"

static inline void put_char(PtReprOut *o, Py_UCS4 ch)
{
    if (o->len >= o->cap)
        return;
    o->len++;
    unsigned char *p = (unsigned char *)o->buf + o->bytes;
    if (ch < 0x80) {
        *p = (unsigned char)ch;
        o->bytes++;
    }
    else if (ch < 0x800) {
        p[0] = (unsigned char)(0xC0 | (ch >> 6));
        p[1] = (unsigned char)(0x80 | (ch & 0x3F));
        o->bytes += 2;
    }
    else if (ch < 0x10000) {
        p[0] = (unsigned char)(0xE0 | (ch >> 12));
        p[1] = (unsigned char)(0x80 | ((ch >> 6) & 0x3F));
        p[2] = (unsigned char)(0x80 | (ch & 0x3F));
        o->bytes += 3;
    }
    else {
        p[0] = (unsigned char)(0xF0 | (ch >> 18));
        p[1] = (unsigned char)(0x80 | ((ch >> 12) & 0x3F));
        p[2] = (unsigned char)(0x80 | ((ch >> 6) & 0x3F));
        p[3] = (unsigned char)(0x80 | (ch & 0x3F));
        o->bytes += 4;
    }
}

/* ASCII text: as many characters as fit under cap. */
static inline void put_ascii(PtReprOut *o, const char *s, Py_ssize_t n)
{
    Py_ssize_t room = o->cap - o->len;
    if (n > room)
        n = room;
    if (n <= 0)
        return;
    char *p = o->buf + o->bytes;
    if (n <= 16) { /* digits, separators: cheaper than a call to memcpy */
        for (Py_ssize_t i = 0; i < n; i++)
            p[i] = s[i];
    }
    else {
        memcpy(p, s, (size_t)n);
    }
    o->bytes += (size_t)n;
    o->len += n;
}

static void put_unicode(PtReprOut *o, PyObject *text)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (PyUnicode_IS_ASCII(text)) {
        put_ascii(o, (const char *)PyUnicode_1BYTE_DATA(text), n);
        return;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    for (Py_ssize_t i = 0; i < n && o->len < o->cap; i++)
        put_char(o, PyUnicode_READ(kind, data, i));
}

/* repr(value) appended; its length, or -1 with an exception set. */
static Py_ssize_t put_repr(PtReprOut *o, PyObject *value)
{
    PyObject *text = PyObject_Repr(value);
    if (text == NULL)
        return -1;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    put_unicode(o, text);
    Py_DECREF(text);
    return n;
}

static inline Py_ssize_t put_long_long(PtReprOut *o, long long v)
{
    char tmp[24];
    char *end = tmp + sizeof tmp, *p = end;
    static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                "8081828384858687888990919293949596979899";
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    while (u >= 100) {
        unsigned d = (unsigned)(u % 100) * 2;
        u /= 100;
        *--p = pairs[d + 1];
        *--p = pairs[d];
    }
    if (u >= 10) {
        *--p = pairs[u * 2 + 1];
        *--p = pairs[u * 2];
    }
    else {
        *--p = (char)('0' + u);
    }
    if (v < 0)
        *--p = '-';
    Py_ssize_t n = end - p;
    put_ascii(o, p, n);
    return n;
}

/* Exact int: the digits, without building a str. */
static inline Py_ssize_t render_int(PtReprOut *o, PyObject *value)
{
#if PY_VERSION_HEX >= 0x030C0000
    if (PyUnstable_Long_IsCompact((PyLongObject *)value))
        return put_long_long(o, (long long)PyUnstable_Long_CompactValue((PyLongObject *)value));
#endif
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (!overflow && !(v == -1 && PyErr_Occurred()))
        return put_long_long(o, v);
    PyErr_Clear();
    return put_repr(o, value);
}

/* value[:max(budget, 0)] for a sequence of n items when n >= budget. */
static inline Py_ssize_t prefix_length(Py_ssize_t n, Py_ssize_t budget)
{
    if (budget <= 0)
        return 0;
    return budget < n ? budget : n;
}

static Py_ssize_t render_str(PtReprOut *o, PyObject *value, Py_ssize_t budget)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    Py_ssize_t k = n >= budget ? prefix_length(n, budget) : n;
    if (PyUnicode_IS_ASCII(value)) {
        const unsigned char *s = PyUnicode_1BYTE_DATA(value);
        Py_ssize_t i = 0;
        while (i < k && s[i] >= 0x20 && s[i] < 0x7F && s[i] != '\'' && s[i] != '\\')
            i++;
        if (i == k) { /* plain: repr is the text in single quotes */
            put_char(o, '\'');
            put_ascii(o, (const char *)s, k);
            put_char(o, '\'');
            return k + 2;
        }
    }
    if (k == n)
        return put_repr(o, value);
    PyObject *part = PyUnicode_Substring(value, 0, k);
    if (part == NULL)
        return -1;
    Py_ssize_t len = put_repr(o, part);
    Py_DECREF(part);
    return len;
}

static Py_ssize_t render_bytes(PtReprOut *o, PyObject *value, Py_ssize_t budget)
{
    Py_ssize_t n = PyBytes_GET_SIZE(value);
    if (n < budget)
        return put_repr(o, value);
    PyObject *part = PyBytes_FromStringAndSize(PyBytes_AS_STRING(value), prefix_length(n, budget));
    if (part == NULL)
        return -1;
    Py_ssize_t len = put_repr(o, part);
    Py_DECREF(part);
    return len;
}

static Py_ssize_t render(PtReprOut *o, PyObject *value, Py_ssize_t budget);

static int push_active(PtReprOut *o, PyObject *value)
{
    for (Py_ssize_t i = 0; i < o->n_active; i++) {
        if (o->active[i] == value)
            return 1;
    }
    if (o->n_active == o->active_cap) {
        Py_ssize_t cap = o->active_cap ? o->active_cap * 2 : 16;
        PyObject **grown = PyMem_RawRealloc(o->active, (size_t)cap * sizeof(PyObject *));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        o->active = grown;
        o->active_cap = cap;
    }
    o->active[o->n_active++] = value;
    return 0;
}

/* One item of a container: ", " before all but the first, then the stop test, then the item.
 * Returns 1 to go on, 0 when past the budget, -1 on error; *used is updated. */
static inline int render_item(PtReprOut *o, PyObject *key, PyObject *item, int first, Py_ssize_t budget, Py_ssize_t *used)
{
    if (!first) {
        put_ascii(o, ", ", 2);
        *used += 2;
    }
    if (*used >= budget)
        return 0;
    if (key != NULL) {
        Py_ssize_t n = render(o, key, budget - *used);
        if (n < 0)
            return -1;
        *used += n;
        if (*used >= budget)
            return 0;
        put_ascii(o, ": ", 2);
        *used += 2;
        if (*used >= budget)
            return 0;
    }
    Py_ssize_t n = Py_IS_TYPE(item, &PyLong_Type) ? render_int(o, item) : render(o, item, budget - *used);
    if (n < 0)
        return -1;
    *used += n;
    return *used >= budget ? 0 : 1;
}

static Py_ssize_t render_container(PtReprOut *o, PyObject *value, Py_ssize_t budget)
{
    const char *opening, *closing;
    PyTypeObject *type = Py_TYPE(value);
    if (type == &PyList_Type)
        opening = "[", closing = "]";
    else if (type == &PyTuple_Type)
        opening = "(", closing = ")";
    else if (type == &PyDict_Type)
        opening = "{", closing = "}";
    else if (type == &PySet_Type)
        opening = "{", closing = "}";
    else
        opening = "frozenset({", closing = "})";
    if ((type == &PySet_Type || type == &PyFrozenSet_Type) && PySet_GET_SIZE(value) == 0) {
        const char *text = type == &PySet_Type ? "set()" : "frozenset()";
        put_ascii(o, text, (Py_ssize_t)strlen(text));
        return (Py_ssize_t)strlen(text);
    }
    Py_ssize_t used = (Py_ssize_t)strlen(opening);
    put_ascii(o, opening, used);
    int go = 1;
    if (type == &PyList_Type || type == &PyTuple_Type) {
        int is_list = type == &PyList_Type;
        for (Py_ssize_t i = 0; go > 0 && i < (is_list ? PyList_GET_SIZE(value) : PyTuple_GET_SIZE(value)); i++) {
            PyObject *item = is_list ? PyList_GET_ITEM(value, i) : PyTuple_GET_ITEM(value, i);
            if (Py_IS_TYPE(item, &PyLong_Type)) { /* runs no Python code: no reference needed */
                go = render_item(o, NULL, item, i == 0, budget, &used);
                continue;
            }
            Py_INCREF(item);
            go = render_item(o, NULL, item, i == 0, budget, &used);
            Py_DECREF(item);
        }
    }
    else if (type == &PyDict_Type) {
        Py_ssize_t pos = 0, size = PyDict_GET_SIZE(value);
        PyObject *key, *item;
        for (int first = 1; go > 0 && PyDict_Next(value, &pos, &key, &item); first = 0) {
            Py_INCREF(key);
            Py_INCREF(item);
            go = render_item(o, key, item, first, budget, &used);
            Py_DECREF(key);
            Py_DECREF(item);
            if (go > 0 && PyDict_GET_SIZE(value) != size) {
                PyErr_SetString(PyExc_RuntimeError, "dictionary changed size during iteration");
                go = -1;
            }
        }
    }
    else {
        PyObject *it = PyObject_GetIter(value), *item;
        if (it == NULL)
            return -1;
        for (int first = 1; go > 0 && (item = PyIter_Next(it)) != NULL; first = 0) {
            go = render_item(o, NULL, item, first, budget, &used);
            Py_DECREF(item);
        }
        Py_DECREF(it);
        if (go > 0 && PyErr_Occurred())
            go = -1;
    }
    if (go < 0)
        return -1;
    if (go == 0)
        return used;
    if (type == &PyTuple_Type && PyTuple_GET_SIZE(value) == 1) {
        put_char(o, ',');
        used++;
    }
    Py_ssize_t n = (Py_ssize_t)strlen(closing);
    put_ascii(o, closing, n);
    return used + n;
}

/* A prefix of repr(value) that is complete or at least ``budget`` characters long (reprs._render):
 * returns its full length (what is stored may be shorter), or -1 with an exception set. */
static Py_ssize_t render(PtReprOut *o, PyObject *value, Py_ssize_t budget)
{
    PyTypeObject *type = Py_TYPE(value);
    if (type == &PyUnicode_Type)
        return render_str(o, value, budget);
    if (type == &PyLong_Type)
        return render_int(o, value);
    if (value == Py_None) {
        put_ascii(o, "None", 4);
        return 4;
    }
    if (value == Py_True || value == Py_False) {
        Py_ssize_t n = value == Py_True ? 4 : 5;
        put_ascii(o, value == Py_True ? "True" : "False", n);
        return n;
    }
    if (type == &PyFloat_Type) {
        char *text = PyOS_double_to_string(PyFloat_AS_DOUBLE(value), 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
        if (text == NULL)
            return -1;
        Py_ssize_t n = (Py_ssize_t)strlen(text);
        put_ascii(o, text, n);
        PyMem_Free(text);
        return n;
    }
    if (type == &PyBytes_Type)
        return render_bytes(o, value, budget);
    if (type != &PyList_Type && type != &PyTuple_Type && type != &PyDict_Type && type != &PySet_Type &&
        type != &PyFrozenSet_Type)
        return put_repr(o, value);
    int seen = push_active(o, value);
    if (seen < 0)
        return -1;
    if (seen) { /* a container that holds itself: what repr shows */
        const char *text = type == &PyList_Type    ? "[...]"
                           : type == &PyTuple_Type ? "(...)"
                           : type == &PyDict_Type  ? "{...}"
                           : type == &PySet_Type   ? "set(...)"
                                                   : "frozenset(...)";
        put_ascii(o, text, (Py_ssize_t)strlen(text));
        return (Py_ssize_t)strlen(text);
    }
    Py_ssize_t n = -1;
    if (Py_EnterRecursiveCall(" while rendering a repr") == 0) {
        n = render_container(o, value, budget);
        Py_LeaveRecursiveCall();
    }
    o->n_active--;
    return n;
}

static void failed(PtReprOut *o, PyObject *exc_type)
{
    PyObject *name = exc_type ? PyObject_GetAttrString(exc_type, "__name__") : NULL;
    o->len = 0;
    o->bytes = 0;
    put_ascii(o, "<repr failed: ", 14);
    if (name != NULL && PyUnicode_Check(name))
        put_unicode(o, name);
    else
        put_char(o, '?');
    put_char(o, '>');
    Py_XDECREF(name);
    PyErr_Clear();
}

static int reserve(PtReprOut *o, Py_ssize_t chars)
{
    size_t size = (size_t)chars * 4 + 16;
    if (o->buf == NULL || o->size < size) {
        char *buf = PyMem_RawRealloc(o->buf, size);
        if (buf == NULL)
            return -1;
        o->buf = buf;
        o->size = size;
    }
    return 0;
}

void pt_bounded_repr(PtReprOut *o, PyObject *value, Py_ssize_t limit)
{
    o->len = 0;
    o->bytes = 0;
    o->n_active = 0;
    if (limit < 0)
        limit = 0;
    /* limit + 1 characters tell whether the text is longer than limit; + 3 for the "..." */
    Py_ssize_t most = limit + 4 > 300 ? limit + 4 : 300;
    if (reserve(o, most) < 0) {
        o->cap = 0;
        return;
    }
    o->cap = limit + 1;
    PyObject *exc_type, *exc_value, *exc_tb;
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
    Py_ssize_t total = render(o, value, limit + 1);
    o->cap = most;
    if (total < 0) {
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);
        failed(o, t);
        Py_XDECREF(t);
        Py_XDECREF(v);
        Py_XDECREF(tb);
    }
    else if (total > limit) {
        /* buf holds limit + 1 characters: drop the last one, then the ellipsis */
        while (o->bytes > 0 && ((unsigned char)o->buf[o->bytes - 1] & 0xC0) == 0x80)
            o->bytes--;
        if (o->bytes > 0)
            o->bytes--;
        o->len = limit;
        put_ascii(o, "...", 3);
    }
    PyErr_Restore(exc_type, exc_value, exc_tb);
}

void pt_repr_out_free(PtReprOut *o)
{
    PyMem_RawFree(o->buf);
    PyMem_RawFree(o->active);
    memset(o, 0, sizeof *o);
}

/* _core.bounded_repr(value, limit): the C rendering, for tests. */
PyObject *pt_bounded_repr_py(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "bounded_repr(value, limit)");
        return NULL;
    }
    Py_ssize_t limit = PyLong_AsSsize_t(args[1]);
    if (limit == -1 && PyErr_Occurred())
        return NULL;
    PtReprOut out = {0};
    pt_bounded_repr(&out, args[0], limit);
    PyObject *text = out.buf ? PyUnicode_DecodeUTF8(out.buf, (Py_ssize_t)out.bytes, "surrogatepass") : PyErr_NoMemory();
    pt_repr_out_free(&out);
    return text;
}
