/* The C line collector's accounting: the twin of linecollect/accounting.py (its docstring states the
 * rules; the comments here only say where C does it differently). Line tables are arrays indexed by
 * line number - base, so a line event costs no lookup but the innermost frame's. */
#include "lines.h"

uint64_t pt_lines_generation = 1;
PT_TLS uint64_t pt_lines_tls_generation = 0;
PT_TLS PtLineThread *pt_lines_tls_thread = NULL;

/* ---- a small open-addressing map: pointer-sized key -> index ---- */

static inline size_t map_hash(uintptr_t key)
{
    uint64_t h = ((uint64_t)key >> 4) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h ^ (h >> 29));
}

static int map_grow(PtLinesMap *m)
{
    size_t cap = m->slots ? (m->mask + 1) * 2 : 64;
    PtLinesSlot *slots = PyMem_RawCalloc(cap, sizeof(PtLinesSlot));
    if (slots == NULL)
        return -1;
    for (size_t i = 0; m->slots && i <= m->mask; i++) {
        if (!m->slots[i].value)
            continue;
        size_t j = map_hash(m->slots[i].key) & (cap - 1);
        while (slots[j].value)
            j = (j + 1) & (cap - 1);
        slots[j] = m->slots[i];
    }
    PyMem_RawFree(m->slots);
    m->slots = slots;
    m->mask = cap - 1;
    return 0;
}

static int map_put(PtLinesMap *m, uintptr_t key, size_t index)
{
    if ((m->count + 1) * 2 > (m->slots ? m->mask + 1 : 0) && map_grow(m) < 0)
        return -1;
    size_t j = map_hash(key) & m->mask;
    while (m->slots[j].value)
        j = (j + 1) & m->mask;
    m->slots[j].key = key;
    m->slots[j].value = index + 1;
    m->count++;
    return 0;
}

/* ---- threads and code objects ---- */

PtLineThread *pt_lines_thread(PtLineRecorder *r)
{
    if (r == NULL || !r->active)
        return NULL;
    PtLineThread *t = PyMem_RawCalloc(1, sizeof(PtLineThread));
    if (t == NULL)
        return NULL;
    t->next = r->threads;
    r->threads = t;
    pt_lines_tls_generation = pt_lines_generation;
    pt_lines_tls_thread = t;
    return t;
}

PtCodeLines *pt_lines_find(PtLineThread *t, PyObject *code)
{
    if (t->code_map.slots == NULL)
        return NULL;
    size_t j = map_hash((uintptr_t)code) & t->code_map.mask;
    for (;;) {
        PtLinesSlot *s = &t->code_map.slots[j];
        if (!s->value)
            return NULL;
        if (s->key == (uintptr_t)code)
            return t->codes[s->value - 1];
        j = (j + 1) & t->code_map.mask;
    }
}

/* What the recorder's detail callable says of ``code`` (asked once per code object). */
static int verdict_of(PtLineRecorder *r, PyObject *code)
{
    PyObject *known = PyDict_GetItemWithError(r->verdicts, code); /* borrowed */
    if (known != NULL)
        return (int)PyLong_AsLong(known);
    PyErr_Clear();
    PyObject *answer = PyObject_CallOneArg(r->detail, code);
    int verdict = PT_LINES_NEVER;
    if (answer == NULL)
        PyErr_Clear(); /* a failing filter never makes the program fail: the code is left out */
    else if (answer != Py_None)
        verdict = PyObject_IsTrue(answer) > 0 ? PT_LINES_DETAILED : PT_LINES_SUMMARISED;
    Py_XDECREF(answer);
    PyObject *value = PyLong_FromLong(verdict);
    if (value == NULL || PyDict_SetItem(r->verdicts, code, value) < 0)
        PyErr_Clear();
    Py_XDECREF(value);
    return verdict;
}

/* The counts of ``code`` on this thread, created on first use (NULL: out of memory). Code that is
 * never counted gets an entry too, so its verdict is not asked again. */
PtCodeLines *pt_lines_data(PtLineRecorder *r, PtLineThread *t, PyObject *code)
{
    if (t->last_code == code)
        return t->last_data;
    PtCodeLines *data = pt_lines_find(t, code);
    if (data != NULL) {
        t->last_code = code;
        t->last_data = data;
        return data;
    }
    /* The detail callable is Python: another thread may run meanwhile and stop the session (the live
     * view stops at exit while its server thread starts), which frees the recorder and every thread's
     * counts. Hold the recorder, and give up if its session ended during the call. */
    uint64_t generation = pt_lines_generation;
    Py_INCREF(r);
    int verdict = verdict_of(r, code);
    int ended = pt_lines_active != r || pt_lines_generation != generation || Py_REFCNT(r) == 1;
    Py_DECREF(r);
    if (PT_UNLIKELY(ended))
        return NULL;
    if (t->ncodes == t->codes_cap) {
        size_t cap = t->codes_cap ? t->codes_cap * 2 : 64;
        PtCodeLines **codes = PyMem_RawRealloc(t->codes, cap * sizeof(PtCodeLines *));
        if (codes == NULL)
            return NULL;
        t->codes = codes;
        t->codes_cap = cap;
    }
    data = PyMem_RawCalloc(1, sizeof(PtCodeLines));
    if (data == NULL)
        return NULL;
    if (map_put(&t->code_map, (uintptr_t)code, t->ncodes) < 0) {
        PyMem_RawFree(data);
        return NULL;
    }
    Py_INCREF(code);
    data->code = code;
    data->verdict = verdict;
    data->base = ((PyCodeObject *)code)->co_firstlineno;
    data->innermost = -1;
    t->codes[t->ncodes++] = data;
    return data;
}

/* The slot of one line, the table grown (or rebased) to hold it; NULL: out of memory. */
PtLineSlot *pt_lines_slot_grow(PtCodeLines *data, int lineno)
{
    int low = data->nslots ? (lineno < data->base ? lineno : data->base) : lineno;
    int high = data->nslots ? data->base + data->nslots : lineno + 1;
    if (lineno >= high)
        high = lineno + 1;
    int n = high - low;
    if (n < 2 * data->nslots)
        n = 2 * data->nslots;
    if (n < 16)
        n = 16;
    PtLineSlot *slots = PyMem_RawCalloc((size_t)n, sizeof(PtLineSlot));
    if (slots == NULL)
        return NULL;
    if (data->nslots)
        memcpy(slots + (data->base - low), data->slots, (size_t)data->nslots * sizeof(PtLineSlot));
    PyMem_RawFree(data->slots);
    data->slots = slots;
    data->base = low;
    data->nslots = n;
    return &slots[lineno - low];
}


/* ---- edges ---- */

static inline uintptr_t edge_key(PtCodeLines *caller, int lineno, PyObject *callee)
{
    return ((uintptr_t)caller * 31u) ^ ((uintptr_t)callee) ^ ((uintptr_t)lineno << 20);
}

static Py_ssize_t edge_index(PtLineThread *t, PtCodeLines *caller, int lineno, PyObject *callee)
{
    uintptr_t key = edge_key(caller, lineno, callee);
    if (t->edge_map.slots != NULL) {
        size_t j = map_hash(key) & t->edge_map.mask;
        for (;;) {
            PtLinesSlot *s = &t->edge_map.slots[j];
            if (!s->value)
                break;
            PtEdge *e = &t->edges[s->value - 1];
            if (s->key == key && e->caller == caller && e->lineno == lineno && e->callee == callee)
                return (Py_ssize_t)(s->value - 1);
            j = (j + 1) & t->edge_map.mask;
        }
    }
    if (t->nedges == t->edges_cap) {
        size_t cap = t->edges_cap ? t->edges_cap * 2 : 64;
        PtEdge *edges = PyMem_RawRealloc(t->edges, cap * sizeof(PtEdge));
        if (edges == NULL)
            return -1;
        t->edges = edges;
        t->edges_cap = cap;
    }
    if (map_put(&t->edge_map, key, t->nedges) < 0)
        return -1;
    PtEdge *e = &t->edges[t->nedges];
    memset(e, 0, sizeof(*e));
    e->caller = caller;
    e->lineno = lineno;
    e->callee = callee;
    return (Py_ssize_t)t->nedges++;
}

/* ---- the accounting (ThreadLines' methods) ---- */

static inline int has_open_line(PtLineFrame *f)
{
    return f->lineno != 0 && f->data->verdict == PT_LINES_DETAILED;
}

PtLineFrame *pt_lines_enter(PtLineThread *t, uint64_t now, PtCodeLines *data, int resumed_at, int is_call)
{
    if (PT_UNLIKELY(t->depth == t->cap)) {
        Py_ssize_t cap = t->cap ? t->cap * 2 : 128;
        PtLineFrame *stack = PyMem_RawRealloc(t->stack, (size_t)cap * sizeof(PtLineFrame));
        if (stack == NULL)
            return NULL;
        t->stack = stack;
        t->cap = cap;
    }
    int detailed = data->verdict == PT_LINES_DETAILED;
    Py_ssize_t outer = data->innermost;
    if (outer >= 0 && detailed && t->stack[outer].lineno != 0) {
        PtLineSlot *s = pt_lines_slot(data, t->stack[outer].lineno);
        if (s != NULL)
            s->outside++; /* its open line now holds this frame's time: undone at close_top */
    }
    Py_ssize_t edge = -1;
    if (t->depth > 0) {
        PtLineFrame *caller = &t->stack[t->depth - 1];
        if (has_open_line(caller)) {
            edge = edge_index(t, caller->data, caller->lineno, data->code);
            if (edge >= 0) {
                t->edges[edge].open++;
                if (is_call)
                    t->edges[edge].count++;
            }
        }
    }
    PtLineFrame *f = &t->stack[t->depth];
    f->data = data;
    f->lineno = 0;
    f->whole = 1;
    f->line_start = f->enter = now;
    f->line_callee = f->callee = 0;
    f->outer = outer;
    f->edge = edge;
    data->innermost = t->depth++;
    if (is_call)
        data->calls++;
    if (resumed_at) {
        f->lineno = resumed_at;
        if (detailed) {
            PtLineSlot *s = pt_lines_slot(data, resumed_at);
            if (s != NULL) {
                s->seen = 1;
                f->whole = s->outside == 0;
            }
        }
    }
    return f;
}

void pt_lines_close_top(PtLineThread *t, uint64_t now)
{
    PtLineFrame *f = &t->stack[--t->depth];
    PtCodeLines *data = f->data;
    if (has_open_line(f))
        pt_lines_end_line(data, f, now);
    uint64_t duration = now - f->enter;
    data->self += duration - f->callee;
    if (f->outer < 0) {
        data->total += duration;
    } else if (data->verdict == PT_LINES_DETAILED && t->stack[f->outer].lineno != 0) {
        PtLineSlot *s = pt_lines_slot(data, t->stack[f->outer].lineno);
        if (s != NULL && s->outside)
            s->outside--;
    }
    data->innermost = f->outer;
    if (f->edge >= 0) {
        PtEdge *e = &t->edges[f->edge];
        if (--e->open == 0) /* the outermost entry along this edge: its time holds the inner ones' */
            e->total += duration;
    }
    if (t->depth > 0) {
        PtLineFrame *caller = &t->stack[t->depth - 1];
        caller->line_callee += duration;
        caller->callee += duration;
    }
}

void pt_lines_exit(PtLineThread *t, uint64_t now, PyObject *code)
{
    if (t->depth == 0)
        return;
    if (t->stack[t->depth - 1].data->code != code) {
        PtCodeLines *data = pt_lines_find(t, code);
        if (data == NULL || data->innermost < 0)
            return; /* it began before recording and never showed a line: nothing to close */
        while (t->stack[t->depth - 1].data->code != code) /* exits that were never reported */
            pt_lines_close_top(t, now);
    }
    pt_lines_close_top(t, now);
}

void pt_lines_free_threads(PtLineRecorder *r)
{
    PtLineThread *t = r->threads;
    while (t != NULL) {
        PtLineThread *next = t->next;
        if (pt_lines_tls_thread == t)
            pt_lines_tls_thread = NULL;
        for (size_t i = 0; i < t->ncodes; i++) {
            Py_DECREF(t->codes[i]->code);
            PyMem_RawFree(t->codes[i]->slots);
            PyMem_RawFree(t->codes[i]);
        }
        PyMem_RawFree(t->codes);
        PyMem_RawFree(t->code_map.slots);
        PyMem_RawFree(t->edges);
        PyMem_RawFree(t->edge_map.slots);
        PyMem_RawFree(t->stack);
        PyMem_RawFree(t);
        t = next;
    }
    r->threads = NULL;
}

/* ---- handing the counts to Python ---- */

static inline uint64_t to_ns(const PtClockMap *map, int raw, uint64_t units)
{
    if (raw || !pt_use_tsc)
        return units;
    return (uint64_t)(((unsigned __int128)units * map->mult) >> 32);
}

/* One row per code object counted on each thread, as accounting.code_rows gives them:
 * (code, detailed, calls, self_ns, total_ns, [(line, hits, self_ns, total_ns)],
 *  [(calling line, callee code, count, total_ns)]). Open frames are not closed: their open lines'
 * time is missing until they move on (a snapshot lags; stop closes them first). */
PyObject *pt_lines_rows(PtLineRecorder *r)
{
    PtClockMap map = pt_clock_map(r->start, pt_clock_pair());
    int raw = r->clock != NULL;
    PyObject *rows = PyList_New(0);
    if (rows == NULL)
        return NULL;
    for (PtLineThread *t = r->threads; t != NULL; t = t->next) {
        /* Building the rows can run Python code (a finaliser during a collection) that counts on this
         * very thread: only what existed at the start is read, and every array is read afresh. */
        size_t ncodes = t->ncodes, nedges = t->nedges;
        PyObject **edge_lists = PyMem_RawCalloc(ncodes + 1, sizeof(PyObject *));
        if (edge_lists == NULL)
            goto fail;
        int failed = 0;
        PtLinesMap index = {0};
        for (size_t i = 0; i < ncodes && !failed; i++)
            failed = map_put(&index, (uintptr_t)t->codes[i], i) < 0;
        for (size_t i = 0; index.slots != NULL && i < nedges && !failed; i++) {
            PtEdge e = t->edges[i];
            size_t at = ncodes;
            for (size_t j = map_hash((uintptr_t)e.caller) & index.mask; index.slots[j].value;
                 j = (j + 1) & index.mask) {
                if (index.slots[j].key == (uintptr_t)e.caller) {
                    at = index.slots[j].value - 1;
                    break;
                }
            }
            if (at == ncodes)
                continue;
            if (edge_lists[at] == NULL && (edge_lists[at] = PyList_New(0)) == NULL) {
                failed = 1;
                break;
            }
            PyObject *item = Py_BuildValue("(iOKK)", e.lineno, e.callee, (unsigned long long)e.count,
                                           (unsigned long long)to_ns(&map, raw, e.total));
            failed = item == NULL || PyList_Append(edge_lists[at], item) < 0;
            Py_XDECREF(item);
        }
        for (size_t i = 0; i < ncodes && !failed; i++) {
            PtCodeLines *data = t->codes[i];
            if (data->verdict == PT_LINES_NEVER)
                continue;
            PyObject *lines = PyList_New(0);
            for (int k = 0; lines != NULL && k < data->nslots; k++) {
                PtLineSlot *s = &data->slots[k];
                if (!s->hits && !s->seen && !s->self && !s->total)
                    continue;
                PyObject *item = Py_BuildValue("(iKKK)", data->base + k, (unsigned long long)s->hits,
                                               (unsigned long long)to_ns(&map, raw, s->self),
                                               (unsigned long long)to_ns(&map, raw, s->total));
                if (item == NULL || PyList_Append(lines, item) < 0)
                    Py_CLEAR(lines);
                Py_XDECREF(item);
            }
            PyObject *edges = edge_lists[i] ? edge_lists[i] : PyList_New(0);
            edge_lists[i] = NULL;
            PyObject *row = lines && edges
                                ? Py_BuildValue("(OOKKKOO)", data->code,
                                                data->verdict == PT_LINES_DETAILED ? Py_True : Py_False,
                                                (unsigned long long)data->calls,
                                                (unsigned long long)to_ns(&map, raw, data->self),
                                                (unsigned long long)to_ns(&map, raw, data->total), lines, edges)
                                : NULL;
            failed = row == NULL || PyList_Append(rows, row) < 0;
            Py_XDECREF(row);
            Py_XDECREF(lines);
            Py_XDECREF(edges);
        }
        for (size_t i = 0; i < ncodes; i++)
            Py_XDECREF(edge_lists[i]);
        PyMem_RawFree(edge_lists);
        PyMem_RawFree(index.slots);
        if (failed)
            goto fail;
    }
    return rows;
fail:
    if (!PyErr_Occurred())
        PyErr_NoMemory();
    Py_DECREF(rows);
    return NULL;
}
