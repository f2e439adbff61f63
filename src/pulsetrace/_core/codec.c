/* The native file's event stream (docs/format.md): records <-> varints, fast.
 *
 * Per event: varint(((ns - previous ns) << 3) | kind), then varint(func) for entries only; an exit
 * closes the innermost open entry, so its function is restored by the decoder's own stack.
 */
#include "core.h"

static inline uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

PyObject *pt_encode_events(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 1) {
        PyErr_SetString(PyExc_TypeError, "encode_events(chunks) takes one argument");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(args[0], "chunks must be a sequence of bytes");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    size_t records = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *chunk = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyBytes_Check(chunk) || PyBytes_GET_SIZE(chunk) % sizeof(PtRecord) != 0) {
            Py_DECREF(seq);
            PyErr_SetString(PyExc_ValueError, "each chunk must be bytes holding whole 12-byte records");
            return NULL;
        }
        records += (size_t)PyBytes_GET_SIZE(chunk) / sizeof(PtRecord);
    }
    /* 15 bytes is the worst case of one record (10-byte stamp varint + 5-byte func varint). */
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(records * 15 + 1));
    if (out == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    uint8_t *p = (uint8_t *)PyBytes_AS_STRING(out);
    uint64_t prev = 0;
    /* The decoder restores exits from its stack, so only a well-nested stream may be written. */
    uint32_t *stack = NULL;
    size_t depth = 0, cap = 0;
    const char *error = NULL;
    for (Py_ssize_t i = 0; i < n && error == NULL; i++) {
        PyObject *chunk = PySequence_Fast_GET_ITEM(seq, i);
        const PtRecord *rec = (const PtRecord *)PyBytes_AS_STRING(chunk);
        const PtRecord *end = rec + PyBytes_GET_SIZE(chunk) / sizeof(PtRecord);
        for (; rec < end; rec++) {
            uint64_t stamp = rec->stamp;
            uint64_t ns = stamp >> PT_KIND_BITS;
            unsigned kind = (unsigned)(stamp & 7);
            if (ns < prev) {
                error = "timestamps go backwards within a thread";
                break;
            }
            if (kind == 7) {
                error = "event kind 7 is reserved";
                break;
            }
            if (PT_IS_ENTER(kind)) {
                if (depth == cap) {
                    cap = cap ? cap * 2 : 256;
                    uint32_t *grown = PyMem_RawRealloc(stack, cap * sizeof(uint32_t));
                    if (grown == NULL) {
                        error = "out of memory";
                        break;
                    }
                    stack = grown;
                }
                stack[depth++] = rec->func;
            }
            else if (depth == 0) {
                error = "exit without a matching entry";
                break;
            }
            else if (stack[--depth] != rec->func) {
                error = "exit does not close the innermost open entry";
                break;
            }
            p = put_varint(p, ((ns - prev) << PT_KIND_BITS) | kind);
            prev = ns;
            if (PT_IS_ENTER(kind))
                p = put_varint(p, rec->func);
        }
    }
    PyMem_RawFree(stack);
    Py_DECREF(seq);
    if (error != NULL) {
        Py_DECREF(out);
        PyErr_Format(PyExc_ValueError, "cannot encode events: %s", error);
        return NULL;
    }
    if (_PyBytes_Resize(&out, (Py_ssize_t)(p - (uint8_t *)PyBytes_AS_STRING(out))) < 0)
        return NULL;
    return out;
}

static inline const uint8_t *get_varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    uint64_t result = 0;
    int shift = 0;
    while (p < end && shift < 64) {
        uint8_t b = *p++;
        if (shift == 63 && b > 1)
            return NULL; /* the value would not fit in 64 bits */
        result |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *v = result;
            return p;
        }
        shift += 7;
    }
    return NULL;
}

PyObject *pt_decode_events(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer data;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "decode_events(data, count) takes two arguments");
        return NULL;
    }
    Py_ssize_t count = PyLong_AsSsize_t(args[1]);
    if (count < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "count must not be negative");
        return NULL;
    }
    if (PyObject_GetBuffer(args[0], &data, PyBUF_SIMPLE) < 0)
        return NULL;
    /* Every event takes at least one byte: a count beyond the data is corrupt, not a huge alloc. */
    if (count > data.len) {
        PyBuffer_Release(&data);
        PyErr_Format(PyExc_ValueError, "corrupt event stream: %zd events cannot fit in %zd bytes", count, data.len);
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, count * (Py_ssize_t)sizeof(PtRecord));
    uint32_t *stack = NULL;
    size_t depth = 0, cap = 0;
    const char *error = NULL;
    if (out == NULL)
        goto done;
    PtRecord *rec = (PtRecord *)PyBytes_AS_STRING(out);
    const uint8_t *p = data.buf, *end = p + data.len;
    uint64_t ns = 0;
    for (Py_ssize_t i = 0; i < count; i++, rec++) {
        uint64_t v, func;
        if ((p = get_varint(p, end, &v)) == NULL) {
            error = "truncated event";
            break;
        }
        unsigned kind = (unsigned)(v & 7);
        ns += v >> PT_KIND_BITS;
        if (ns >= ((uint64_t)1 << (64 - PT_KIND_BITS))) {
            error = "timestamp out of range";
            break;
        }
        if (PT_IS_ENTER(kind)) {
            if ((p = get_varint(p, end, &func)) == NULL) {
                error = "truncated function id";
                break;
            }
            if (func > 0xFFFFFFFFu) {
                error = "function id out of range";
                break;
            }
            if (depth == cap) {
                cap = cap ? cap * 2 : 256;
                uint32_t *grown = PyMem_RawRealloc(stack, cap * sizeof(uint32_t));
                if (grown == NULL) {
                    PyErr_NoMemory();
                    break;
                }
                stack = grown;
            }
            stack[depth++] = (uint32_t)func;
        }
        else if (kind == 7) {
            error = "unknown event kind 7";
            break;
        }
        else {
            if (depth == 0) {
                error = "exit without a matching entry";
                break;
            }
            func = stack[--depth];
        }
        rec->stamp = (ns << PT_KIND_BITS) | kind;
        rec->func = (uint32_t)func;
    }
    if (error == NULL && !PyErr_Occurred() && p != end)
        error = "trailing bytes after the last event";
done:
    PyBuffer_Release(&data);
    PyMem_RawFree(stack);
    if (error != NULL)
        PyErr_Format(PyExc_ValueError, "corrupt event stream: %s", error);
    if (PyErr_Occurred()) {
        Py_XDECREF(out);
        return NULL;
    }
    return out;
}
