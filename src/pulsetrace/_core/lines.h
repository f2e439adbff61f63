/* The C line collector (the ``lines`` option): the twin of linecollect/accounting.py.
 *
 * The rules are accounting.py's, exactly; this header holds the data they work on. Each thread owns
 * its stack and counts (created at its first event, touched only by that thread while recording,
 * read by snapshots under the GIL). Times are kept in pt_clock() units (or the test clock's ns) and
 * converted to ns when the counts are handed to Python (rows()).
 */
#ifndef PULSETRACE_LINES_H
#define PULSETRACE_LINES_H

#include "core.h"

/* One source line of one code object on one thread. */
typedef struct {
    uint64_t hits, self, total;
    uint32_t outside; /* outer frames of the same code that have this line open (recursion) */
    uint32_t seen;    /* listed even with no hit (a generator resumed at it) */
} PtLineSlot;

enum { PT_LINES_SUMMARISED = 0, PT_LINES_DETAILED = 1, PT_LINES_NEVER = 2 };

typedef struct {
    PyObject *code;    /* strong */
    int verdict;       /* PT_LINES_* */
    int base;          /* line number of slots[0] */
    int nslots;
    PtLineSlot *slots; /* detailed code only */
    uint64_t calls, self, total;
    Py_ssize_t innermost; /* stack index of the innermost frame of this code, -1: none */
} PtCodeLines;

/* A call edge: calling line of ``caller`` -> ``callee`` (whose PtCodeLines holds the reference). */
typedef struct {
    PtCodeLines *caller;
    PyObject *callee;
    int lineno;
    uint32_t open; /* entries along this edge open on the thread now */
    uint64_t count, total;
} PtEdge;

typedef struct {
    PtCodeLines *data;
    int lineno;      /* the open line; 0 before the frame's first line event */
    int whole;       /* whether the open line's interval adds to its total */
    uint64_t line_start, line_callee, enter, callee;
    Py_ssize_t outer; /* stack index of the next frame of the same code further out, -1: none */
    Py_ssize_t edge;  /* index of the edge this entry came by, -1: none */
} PtLineFrame;

typedef struct {
    uintptr_t key;
    size_t value; /* index + 1; 0: empty slot */
} PtLinesSlot;

typedef struct {
    PtLinesSlot *slots;
    size_t mask, count;
} PtLinesMap;

typedef struct PtLineThread {
    PtLineFrame *stack;
    Py_ssize_t depth, cap;
    PtCodeLines **codes;
    size_t ncodes, codes_cap;
    PtLinesMap code_map; /* code pointer -> index in codes */
    PtEdge *edges;
    size_t nedges, edges_cap;
    PtLinesMap edge_map; /* hash of (caller, line, callee) -> index in edges (collisions checked) */
    PyObject *last_code; /* one-entry cache of pt_lines_data (recursion, loops calling one function) */
    PtCodeLines *last_data;
    struct PtLineThread *next;
} PtLineThread;

typedef struct PtLineRecorder {
    PyObject_HEAD
    PyObject *detail;    /* callable(code) -> True / False / None */
    PyObject *clock;     /* callable() -> ns (tests), or NULL: pt_clock() */
    PyObject *verdicts;  /* dict code -> verdict: Python is asked once per code object */
    PtLineThread *threads;
    PtClockPair start;
    int active;
    uint64_t generation;
    PyObject *thread_hook; /* settrace backend: for threading.settrace */
} PtLineRecorder;

extern PyTypeObject PtLineRecorder_Type;
extern PtLineRecorder *pt_lines_active;

/* lines.c: the accounting */
PtLineThread *pt_lines_thread(PtLineRecorder *r);
PtCodeLines *pt_lines_data(PtLineRecorder *r, PtLineThread *t, PyObject *code);
PtCodeLines *pt_lines_find(PtLineThread *t, PyObject *code); /* NULL: not seen on this thread */
PtLineFrame *pt_lines_enter(PtLineThread *t, uint64_t now, PtCodeLines *data, int resumed_at, int is_call);
void pt_lines_close_top(PtLineThread *t, uint64_t now);
void pt_lines_exit(PtLineThread *t, uint64_t now, PyObject *code);
void pt_lines_free_threads(PtLineRecorder *r);
PyObject *pt_lines_rows(PtLineRecorder *r);

/* lines_hooks.c: how the events arrive */
PyObject *pt_lines_monitoring_callbacks(PtLineRecorder *r);
int pt_lines_trace_install(PtLineRecorder *r);
void pt_lines_trace_uninstall(PtLineRecorder *r);
PyObject *pt_lines_new_thread_hook(void);
/* setprofile.c: whether a 'call' event continues a suspended generator-like frame */
int pt_frame_is_resumption(PyFrameObject *frame, PyCodeObject *code);

static inline uint64_t pt_lines_now(PtLineRecorder *r)
{
    if (PT_LIKELY(r->clock == NULL))
        return pt_clock();
    PyObject *value = PyObject_CallNoArgs(r->clock);
    uint64_t ns = value ? (uint64_t)PyLong_AsLongLong(value) : 0;
    Py_XDECREF(value);
    PyErr_Clear();
    return ns;
}

extern PT_TLS uint64_t pt_lines_tls_generation;
extern PT_TLS PtLineThread *pt_lines_tls_thread;
extern uint64_t pt_lines_generation;

/* The calling thread's state for the active recorder (created at its first event). */
static inline PtLineThread *pt_lines_current(PtLineRecorder *r)
{
    if (PT_LIKELY(pt_lines_tls_generation == pt_lines_generation))
        return pt_lines_tls_thread;
    return pt_lines_thread(r);
}

/* The thread's state if it already has one (exits never create it). */
static inline PtLineThread *pt_lines_existing(void)
{
    return pt_lines_tls_generation == pt_lines_generation ? pt_lines_tls_thread : NULL;
}

static inline PtLineFrame *pt_lines_top(PtLineThread *t)
{
    return t->depth ? &t->stack[t->depth - 1] : NULL;
}

PtLineSlot *pt_lines_slot_grow(PtCodeLines *data, int lineno); /* NULL: out of memory */

/* The slot of one line, the table grown (or rebased) to hold it. */
static inline PtLineSlot *pt_lines_slot(PtCodeLines *data, int lineno)
{
    unsigned index = (unsigned)(lineno - data->base);
    if (PT_LIKELY(index < (unsigned)data->nslots))
        return &data->slots[index];
    return pt_lines_slot_grow(data, lineno);
}

/* The line ``f`` is on ends at ``now``: its self time (less its callees'), and its total where the
 * frame is its code's outermost on the stack (``whole``), go to that line. */
static inline void pt_lines_end_line(PtCodeLines *data, PtLineFrame *f, uint64_t now)
{
    PtLineSlot *open = pt_lines_slot(data, f->lineno);
    if (open != NULL) {
        uint64_t elapsed = now - f->line_start;
        open->self += elapsed - f->line_callee;
        if (f->whole)
            open->total += elapsed;
    }
}

/* ``f`` (detailed, the innermost) starts line ``lineno``: close its open line, open this one. Inline:
 * it runs for every line event. */
static inline void pt_lines_line(PtLineThread *t, uint64_t now, PtLineFrame *f, int lineno)
{
    PtCodeLines *data = f->data;
    if (f->lineno != 0) {
        pt_lines_end_line(data, f, now);
        f->line_callee = 0;
    }
    PtLineSlot *s = pt_lines_slot(data, lineno);
    if (PT_UNLIKELY(s == NULL))
        return;
    s->hits++;
    f->lineno = lineno;
    f->line_start = now;
    f->whole = s->outside == 0;
}

#endif
