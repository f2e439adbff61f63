/* Chrome Trace Event "X" events for one thread, written straight from the records.
 *
 * Each slice becomes {"ph":"X","pid":P,"tid":T,"ts":TS,"dur":DUR,<name fragment><args>} in the order
 * slices end; ts and dur are microseconds with exactly three decimals, so nanoseconds survive. The
 * caller supplies each function's pre-escaped `"name":...,"cat":...` fragment.
 *
 * Optional ``args`` / ``retvals`` map a record's index in the thread's record sequence (all chunks,
 * 0-based) to a ready JSON fragment (`"args":"x=1"`, `"return_value":"2"`): a slice whose ENTER has
 * an args fragment or whose exit has a retvals fragment gets ,"args":{args,retval,markers} with
 * the fragments it has, in that order, joined by ","; the markers say how the slice began and ended
 * ("resumed":true, then "exit":"exception" / "exit":"yield" / "unfinished":true), as codec.py's twin.
 */
#include "core.h"

#define BLOCK (1 << 20)

typedef struct {
    char *buf;
    size_t len;
    PyObject *write;
} Out;

/* Hand the block to ``write`` without copying it: a read-only memoryview, released when write
 * returns, so a sink that kept it gets an error instead of a block we have since overwritten. */
static int flush(Out *o)
{
    if (o->len == 0)
        return 0;
    PyObject *view = PyMemoryView_FromMemory(o->buf, (Py_ssize_t)o->len, PyBUF_READ);
    if (view == NULL)
        return -1;
    PyObject *res = PyObject_CallOneArg(o->write, view);
    PyObject *released = PyObject_CallMethod(view, "release", NULL);
    Py_DECREF(view);
    if (res == NULL || released == NULL) {
        Py_XDECREF(res);
        Py_XDECREF(released);
        return -1;
    }
    Py_DECREF(res);
    Py_DECREF(released);
    o->len = 0;
    return 0;
}

static inline char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* A signed nanosecond count as microseconds with three decimals. */
static inline char *put_us(char *p, int64_t ns)
{
    uint64_t v;
    if (ns < 0) {
        *p++ = '-';
        v = (uint64_t)(-(ns + 1)) + 1;
    }
    else {
        v = (uint64_t)ns;
    }
    p = put_u64(p, v / 1000);
    unsigned frac = (unsigned)(v % 1000);
    *p++ = '.';
    *p++ = (char)('0' + frac / 100);
    *p++ = (char)('0' + frac / 10 % 10);
    *p++ = (char)('0' + frac % 10);
    return p;
}

typedef struct {
    uint64_t ns;
    uint64_t index;
    uint32_t func;
    unsigned kind; /* of the ENTER */
} Open;

/* The fragment for record ``index`` (borrowed, NULL: none; -1 on error). */
static int fragment(PyObject *mapping, uint64_t index, PyObject **found)
{
    *found = NULL;
    if (mapping == NULL)
        return 0;
    PyObject *key = PyLong_FromUnsignedLongLong(index);
    if (key == NULL)
        return -1;
    PyObject *value;
    if (PyDict_Check(mapping)) {
        value = PyDict_GetItemWithError(mapping, key);
        Py_XINCREF(value);
    }
    else {
        value = PyObject_GetItem(mapping, key);
        if (value == NULL && PyErr_ExceptionMatches(PyExc_KeyError))
            PyErr_Clear();
    }
    Py_DECREF(key);
    if (value == NULL)
        return PyErr_Occurred() ? -1 : 0;
    int ok = PyBytes_Check(value) && PyBytes_GET_SIZE(value) <= BLOCK / 4;
    Py_DECREF(value); /* the mapping keeps it alive while we write it */
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "args / retvals fragments must be bytes shorter than 256 KiB");
        return -1;
    }
    *found = PyBytes_GET_SIZE(value) ? value : NULL; /* an empty fragment is no fragment */
    return 0;
}

static inline char *put_bytes(char *p, PyObject *bytes)
{
    memcpy(p, PyBytes_AS_STRING(bytes), (size_t)PyBytes_GET_SIZE(bytes));
    return p + PyBytes_GET_SIZE(bytes);
}

PyObject *pt_chrome_json_events(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 7 || nargs > 9) {
        PyErr_SetString(PyExc_TypeError,
                        "chrome_json_events(chunks, names, pid, tid, base_ns, write, first, args=None, retvals=None)");
        return NULL;
    }
    PyObject *arg_map = nargs > 7 && args[7] != Py_None ? args[7] : NULL;
    PyObject *ret_map = nargs > 8 && args[8] != Py_None ? args[8] : NULL;
    if (arg_map != NULL && PyDict_Check(arg_map) && PyDict_GET_SIZE(arg_map) == 0)
        arg_map = NULL;
    if (ret_map != NULL && PyDict_Check(ret_map) && PyDict_GET_SIZE(ret_map) == 0)
        ret_map = NULL;
    uint64_t index = 0;
    PyObject *chunks = PySequence_Fast(args[0], "chunks must be a sequence of bytes");
    PyObject *names = chunks ? PySequence_Fast(args[1], "names must be a sequence of bytes") : NULL;
    long long pid = PyLong_AsLongLong(args[2]);
    unsigned long long tid = PyLong_AsUnsignedLongLong(args[3]);
    long long base_ns = PyLong_AsLongLong(args[4]);
    int first = PyObject_IsTrue(args[6]);
    Out o = {NULL, 0, args[5]};
    Open *stack = NULL;
    size_t depth = 0, cap = 0;
    long long written = 0;
    if (names == NULL || PyErr_Occurred() || first < 0)
        goto fail;
    Py_ssize_t n_names = PySequence_Fast_GET_SIZE(names);
    for (Py_ssize_t i = 0; i < n_names; i++) {
        PyObject *name = PySequence_Fast_GET_ITEM(names, i);
        if (!PyBytes_Check(name) || PyBytes_GET_SIZE(name) > BLOCK / 4) {
            PyErr_SetString(PyExc_ValueError, "names must be bytes fragments shorter than 256 KiB");
            goto fail;
        }
    }
    char head[96];
    int head_len = snprintf(head, sizeof head, "{\"ph\":\"X\",\"pid\":%lld,\"tid\":%llu,\"ts\":", pid, tid);
    o.buf = PyMem_RawMalloc(BLOCK);
    if (o.buf == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t c = 0; c < PySequence_Fast_GET_SIZE(chunks); c++) {
        PyObject *chunk = PySequence_Fast_GET_ITEM(chunks, c);
        if (!PyBytes_Check(chunk) || PyBytes_GET_SIZE(chunk) % sizeof(PtRecord) != 0) {
            PyErr_SetString(PyExc_ValueError, "each chunk must be bytes holding whole 12-byte records");
            goto fail;
        }
        const PtRecord *rec = (const PtRecord *)PyBytes_AS_STRING(chunk);
        const PtRecord *end = rec + PyBytes_GET_SIZE(chunk) / sizeof(PtRecord);
        for (; rec < end; rec++, index++) {
            uint64_t ns = rec->stamp >> PT_KIND_BITS;
            unsigned kind = (unsigned)(rec->stamp & 7);
            if (kind == 7) {
                PyErr_SetString(PyExc_ValueError, "event kind 7 is reserved");
                goto fail;
            }
            if (PT_IS_ENTER(kind)) {
                if (depth == cap) {
                    cap = cap ? cap * 2 : 256;
                    Open *grown = PyMem_RawRealloc(stack, cap * sizeof(Open));
                    if (grown == NULL) {
                        PyErr_NoMemory();
                        goto fail;
                    }
                    stack = grown;
                }
                stack[depth].ns = ns;
                stack[depth].index = index;
                stack[depth].func = rec->func;
                stack[depth].kind = kind;
                depth++;
                continue;
            }
            if (depth == 0) {
                PyErr_SetString(PyExc_ValueError, "exit without a matching entry");
                goto fail;
            }
            Open open = stack[--depth];
            if (open.func >= (uint32_t)n_names) {
                PyErr_Format(PyExc_ValueError, "function id %u has no name", open.func);
                goto fail;
            }
            PyObject *name = PySequence_Fast_GET_ITEM(names, open.func);
            size_t name_len = (size_t)PyBytes_GET_SIZE(name);
            PyObject *arg_text, *ret_text;
            if (fragment(arg_map, open.index, &arg_text) < 0 || fragment(ret_map, index, &ret_text) < 0)
                goto fail;
            size_t extra = (arg_text ? (size_t)PyBytes_GET_SIZE(arg_text) : 0) +
                           (ret_text ? (size_t)PyBytes_GET_SIZE(ret_text) : 0);
            if (o.len + name_len + extra + 256 > BLOCK && flush(&o) < 0)
                goto fail;
            char *p = o.buf + o.len;
            if (!first) {
                *p++ = ',';
                *p++ = '\n';
            }
            first = 0;
            memcpy(p, head, (size_t)head_len);
            p += head_len;
            p = put_us(p, (int64_t)open.ns - base_ns);
            memcpy(p, ",\"dur\":", 7);
            p = put_us(p + 7, (int64_t)(ns - open.ns));
            *p++ = ',';
            memcpy(p, PyBytes_AS_STRING(name), name_len);
            p += name_len;
            int resumed = open.kind == PT_ENTER_RESUME;
            const char *exit_marker = kind == PT_EXIT_UNWIND ? "\"exit\":\"exception\""
                                      : kind == PT_EXIT_STOP ? "\"unfinished\":true"
                                      : kind == PT_EXIT_YIELD ? "\"exit\":\"yield\""
                                                              : NULL;
            if (arg_text != NULL || ret_text != NULL || resumed || exit_marker != NULL) {
                static const char open_args[] = ",\"args\":{";
                memcpy(p, open_args, sizeof open_args - 1);
                p += sizeof open_args - 1;
                char *inside = p;
                if (arg_text != NULL)
                    p = put_bytes(p, arg_text);
                if (ret_text != NULL) {
                    if (p != inside)
                        *p++ = ',';
                    p = put_bytes(p, ret_text);
                }
                if (resumed) {
                    static const char marker[] = "\"resumed\":true";
                    if (p != inside)
                        *p++ = ',';
                    memcpy(p, marker, sizeof marker - 1);
                    p += sizeof marker - 1;
                }
                if (exit_marker != NULL) {
                    size_t n = strlen(exit_marker);
                    if (p != inside)
                        *p++ = ',';
                    memcpy(p, exit_marker, n);
                    p += n;
                }
                *p++ = '}';
            }
            *p++ = '}';
            o.len = (size_t)(p - o.buf);
            written++;
        }
    }
    if (flush(&o) < 0)
        goto fail;
    PyMem_RawFree(o.buf);
    PyMem_RawFree(stack);
    Py_DECREF(chunks);
    Py_DECREF(names);
    return PyLong_FromLongLong(written);
fail:
    PyMem_RawFree(o.buf);
    PyMem_RawFree(stack);
    Py_XDECREF(chunks);
    Py_XDECREF(names);
    return NULL;
}
