/* Per-thread chunked event buffers and stacks of open slices.
 *
 * Chunks are bytes objects from the start, so the Python side receives them without a copy. A full
 * chunk goes into the thread's list; nothing is ever overwritten or dropped (a failed allocation is
 * counted in ``lost`` and reported in the trace metadata).
 */
#include "core.h"

int pt_thread_new_chunk(PtThread *t)
{
    if (t->chunk != NULL) {
        t->first_index += PT_CHUNK_RECORDS;
        int err = PyList_Append(t->chunks, t->chunk);
        Py_CLEAR(t->chunk);
        if (err < 0) {
            PyErr_Clear();
            t->cur = t->end = NULL;
            return -1;
        }
    }
    t->chunk = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(PT_CHUNK_RECORDS * sizeof(PtRecord)));
    if (t->chunk == NULL) {
        PyErr_Clear();
        t->cur = t->end = NULL;
        return -1;
    }
    t->cur = (PtRecord *)PyBytes_AS_STRING(t->chunk);
    t->end = t->cur + PT_CHUNK_RECORDS;
    return 0;
}

int pt_stack_grow(PtThread *t)
{
    size_t cap = t->stack_cap ? t->stack_cap * 2 : 256;
    uint32_t *stack = PyMem_RawRealloc(t->stack, cap * sizeof(uint32_t));
    if (stack == NULL)
        return -1;
    t->stack = stack;
    t->stack_cap = cap;
    return 0;
}

void pt_close_lost_c_calls(PtThread *t)
{
    uint64_t now = pt_clock();
    while (t->depth > 0 && (t->stack[t->depth - 1] & PT_STACK_C)) {
        uint32_t entry = t->stack[--t->depth];
        if (!(entry & PT_STACK_IGNORED))
            pt_emit(t, now, PT_EXIT_RETURN, entry & PT_ID_MASK);
    }
}

/* Rewrite a chunk's stamps from recording units to ns, within the session's bounds and never
 * running backwards within the thread (TSCs of two CPUs may differ by a few ticks when a thread
 * migrates, and the rate is measured). Slices closed by stop() get the stop time exactly. */
static void convert_chunk(PtRecord *rec, PtRecord *end, const PtClockMap *map, uint64_t stop_ns, uint64_t *last_ns)
{
    for (; rec < end; rec++) {
        unsigned kind = (unsigned)(rec->stamp & ((1u << PT_KIND_BITS) - 1));
        uint64_t ns = kind == PT_EXIT_STOP ? stop_ns : pt_clock_to_ns(map, rec->stamp >> PT_KIND_BITS);
        if (ns < *last_ns)
            ns = *last_ns;
        if (ns > stop_ns)
            ns = stop_ns;
        *last_ns = ns;
        rec->stamp = (ns << PT_KIND_BITS) | kind;
    }
}

int pt_thread_finish(PtThread *t, PtClockPair stop, const PtClockMap *map, const uint32_t *remap)
{
    while (t->depth > 0) {
        uint32_t entry = t->stack[--t->depth];
        if (!(entry & PT_STACK_IGNORED))
            pt_emit(t, stop.ticks, PT_EXIT_STOP, entry & PT_ID_MASK);
    }
    if (t->chunk != NULL) {
        Py_ssize_t used = (Py_ssize_t)((char *)t->cur - PyBytes_AS_STRING(t->chunk));
        if (used > 0) {
            /* We hold the only reference, so the chunk may shrink in place. */
            if (_PyBytes_Resize(&t->chunk, used) < 0)
                return -1;
            if (PyList_Append(t->chunks, t->chunk) < 0)
                return -1;
        }
        Py_CLEAR(t->chunk);
        t->cur = t->end = NULL;
    }
    /* The chunks have not been handed to anyone yet, so they may still be written. */
    uint64_t last_ns = map->origin.ns;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(t->chunks); i++) {
        PyObject *chunk = PyList_GET_ITEM(t->chunks, i);
        PtRecord *rec = (PtRecord *)PyBytes_AS_STRING(chunk);
        PtRecord *end = rec + PyBytes_GET_SIZE(chunk) / sizeof(PtRecord);
        convert_chunk(rec, end, map, stop.ns, &last_ns);
        for (; rec < end; rec++)
            rec->func = remap[rec->func];
    }
    return 0;
}

void pt_thread_find_object(PtThread *t, PyObject *registry)
{
    t->lookups_left--;
    if (registry == NULL || !PyDict_Check(registry))
        return;
    PyObject *thread = PyDict_GetItemWithError(registry, t->ident_key); /* borrowed */
    if (thread != NULL) {
        Py_INCREF(thread);
        t->thread_obj = thread;
    }
    else {
        PyErr_Clear();
    }
}

void pt_thread_free(PtThread *t)
{
    Py_CLEAR(t->chunk);
    Py_CLEAR(t->chunks);
    Py_CLEAR(t->ident_key);
    Py_CLEAR(t->thread_obj);
    pt_texts_free(&t->args);
    pt_texts_free(&t->retvals);
    PyMem_RawFree(t->stack);
    PyMem_RawFree(t);
}

/* The slow path of pt_current_thread(): first event of this thread in this session. */
PtThread *pt_thread_for_current(void)
{
    PtRecorder *r = pt_active;
    pt_tls_generation = pt_generation;
    pt_tls_thread = NULL;
    if (r == NULL || !r->running)
        return NULL;
    PtThread *t = PyMem_RawCalloc(1, sizeof(PtThread));
    if (t == NULL)
        return NULL;
    t->chunks = PyList_New(0);
    t->ident = PyThread_get_thread_ident();
#if PY_VERSION_HEX >= 0x03080000
    t->native_id = PyThread_get_thread_native_id();
#endif
    t->ident_key = PyLong_FromUnsignedLong(t->ident);
    t->lookups_left = 64;
    if (t->chunks == NULL || t->ident_key == NULL || pt_thread_new_chunk(t) < 0) {
        PyErr_Clear();
        pt_thread_free(t);
        return NULL;
    }
    pt_thread_find_object(t, r->registry);
    pt_update_slow(t, r);
    t->next = r->threads;
    r->threads = t;
    pt_tls_thread = t;
    return t;
}

int pt_caller_ignored_slow(PtThread *t, PtRecorder *r, PyObject *caller_code)
{
    if (caller_code == t->last_caller)
        return t->last_caller_ignored;
    uint32_t entry = pt_lookup(&r->functions, (uintptr_t)caller_code, 0);
    int ignored;
    if (entry != (uint32_t)-1) {
        ignored = (entry & PT_STACK_IGNORED) != 0;
    }
    else {
        uint8_t flags = pt_code_verdict(r, caller_code);
        ignored = flags != 0xFF && (flags & PT_FUNC_IGNORED);
        PyErr_Clear();
    }
    t->last_caller = caller_code;
    t->last_caller_ignored = ignored;
    return ignored;
}
