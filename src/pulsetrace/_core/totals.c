/* Per-function totals of one thread's records, fast: the numbers behind the terminal summary and the
 * function table (the rules are pulsetrace.reports.callstats's, which computes the same in Python
 * with caller edges; tests compare the two).
 *
 * function_totals(chunks, nfuncs, totals) adds into ``totals``, a bytearray of nfuncs rows of six
 * int64: calls, primitive calls, slices, total ns, self ns, max ns. Keeping the rows in a caller-owned
 * buffer lets one buffer gather every thread of a process.
 */
#include "core.h"

enum { CALLS, PRIMITIVE, SLICES, TOTAL, SELF, MAX, COLUMNS };

typedef struct {
    uint32_t func;
    uint64_t start;
    uint64_t inner; /* time of the slices directly inside */
} Open;

PyObject *pt_function_totals(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyByteArray_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "function_totals(chunks, nfuncs, totals: bytearray)");
        return NULL;
    }
    Py_ssize_t nfuncs = PyLong_AsSsize_t(args[1]);
    if (nfuncs < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "nfuncs must not be negative");
        return NULL;
    }
    if (PyByteArray_GET_SIZE(args[2]) != nfuncs * COLUMNS * (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "totals must hold nfuncs rows of six int64");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(args[0], "chunks must be a sequence of bytes");
    if (seq == NULL)
        return NULL;
    int64_t *rows = (int64_t *)PyByteArray_AS_STRING(args[2]);
    uint32_t *open_count = PyMem_RawCalloc((size_t)nfuncs + 1, sizeof(uint32_t));
    Open *stack = NULL;
    size_t depth = 0, cap = 0;
    const char *error = open_count == NULL ? "out of memory" : NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t i = 0; i < n && error == NULL; i++) {
        PyObject *chunk = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyBytes_Check(chunk) || PyBytes_GET_SIZE(chunk) % sizeof(PtRecord) != 0) {
            error = "each chunk must be bytes holding whole 12-byte records";
            break;
        }
        const PtRecord *rec = (const PtRecord *)PyBytes_AS_STRING(chunk);
        const PtRecord *end = rec + PyBytes_GET_SIZE(chunk) / sizeof(PtRecord);
        for (; rec < end; rec++) {
            uint64_t ns = rec->stamp >> PT_KIND_BITS;
            unsigned kind = (unsigned)(rec->stamp & 7);
            if (kind <= PT_ENTER_C) {
                uint32_t func = rec->func;
                if ((Py_ssize_t)func >= nfuncs) {
                    error = "a record names a function the table does not have";
                    break;
                }
                if (depth == cap) {
                    size_t grown = cap ? cap * 2 : 256;
                    Open *bigger = PyMem_RawRealloc(stack, grown * sizeof(Open));
                    if (bigger == NULL) {
                        error = "out of memory";
                        break;
                    }
                    stack = bigger;
                    cap = grown;
                }
                int64_t *row = rows + (size_t)func * COLUMNS;
                row[SLICES]++;
                if (kind != PT_ENTER_RESUME) {
                    row[CALLS]++;
                    if (open_count[func] == 0)
                        row[PRIMITIVE]++;
                }
                open_count[func]++;
                stack[depth++] = (Open){func, ns, 0};
                continue;
            }
            if (kind == 7) {
                error = "kind 7 is reserved";
                break;
            }
            if (depth == 0)
                continue; /* the model's readers refuse unbalanced streams; never crash here */
            Open slice = stack[--depth];
            int64_t duration = (int64_t)(ns - slice.start);
            int64_t *row = rows + (size_t)slice.func * COLUMNS;
            row[SELF] += duration - (int64_t)slice.inner;
            if (--open_count[slice.func] == 0) /* recursion: count the outermost slice only */
                row[TOTAL] += duration;
            if (duration > row[MAX])
                row[MAX] = duration;
            if (depth > 0)
                stack[depth - 1].inner += (uint64_t)duration;
        }
    }
    PyMem_RawFree(stack);
    PyMem_RawFree(open_count);
    Py_DECREF(seq);
    if (error != NULL) {
        PyErr_SetString(PyExc_ValueError, error);
        return NULL;
    }
    Py_RETURN_NONE;
}
