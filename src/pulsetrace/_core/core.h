/* Shared declarations of the pulsetrace C core.
 *
 * The core's job is narrow: decide cheaply whether an interpreter event is recorded, and append a
 * 12-byte record (see src/pulsetrace/events.py) to the current thread's chunked buffer. Everything
 * else (names, metadata, files, reports) is built in Python.
 */
#ifndef PULSETRACE_CORE_H
#define PULSETRACE_CORE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>
#include <stdint.h>
#include <time.h>

#if PY_VERSION_HEX >= 0x030C0000
#define PT_HAS_MONITORING 1
#else
#define PT_HAS_MONITORING 0
#endif

#define PT_LIKELY(x) __builtin_expect(!!(x), 1)
#define PT_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Record kinds: keep in sync with events.py. */
enum {
    PT_ENTER_CALL = 0,
    PT_ENTER_RESUME = 1,
    PT_ENTER_C = 2,
    PT_EXIT_RETURN = 3,
    PT_EXIT_YIELD = 4,
    PT_EXIT_UNWIND = 5,
    PT_EXIT_STOP = 6,
};
#define PT_KIND_BITS 3
#define PT_IS_ENTER(kind) ((kind) <= PT_ENTER_C)

typedef struct __attribute__((packed)) {
    uint64_t stamp; /* (ns << PT_KIND_BITS) | kind */
    uint32_t func;
} PtRecord;

#define PT_CHUNK_RECORDS (1 << 16) /* 768 KiB per chunk */

/* Entries on a thread's stack of open slices: a function id plus flags. */
#define PT_STACK_C 0x80000000u       /* the slice is a C function call */
#define PT_STACK_IGNORED 0x40000000u /* the frame is one of ours: pops without a record */
#define PT_STACK_WATCHED 0x20000000u /* code with a DISABLEd call site: check its globals at start */
#define PT_STACK_HIDE 0x10000000u    /* verdict HIDE: the frame and everything below it are not recorded */
/* Verdict SKIP from config.code_filter on the monitoring backend: the code's events return DISABLE
 * and its frames never go on the stack (see "unseen code" in monitoring.c). */
#define PT_STACK_UNSEEN 0x08000000u
#define PT_ID_MASK 0x07FFFFFFu

/* ---- clock.c: the one clock of every record ----
 * Records hold CLOCK_MONOTONIC ns. While recording, when the kernel itself keeps time with the TSC
 * (so it is constant-rate and synchronised across CPUs), the hot path stores raw TSC ticks instead
 * (~10 ns cheaper per event than clock_gettime) and stop() converts them in place to ns. */
#if defined(__x86_64__)
#include <x86intrin.h>
#define PT_HAVE_TSC 1
#else
#define PT_HAVE_TSC 0
#endif

extern int pt_use_tsc;

static inline uint64_t pt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The hot path's timestamp, in recording units (TSC ticks or ns). */
static inline uint64_t pt_clock(void)
{
#if PT_HAVE_TSC
    if (PT_LIKELY(pt_use_tsc))
        return __rdtsc();
#endif
    return pt_now_ns();
}

typedef struct {
    uint64_t ticks; /* pt_clock() reading */
    uint64_t ns;    /* CLOCK_MONOTONIC at the same moment */
} PtClockPair;

typedef struct {
    PtClockPair origin;
    unsigned __int128 mult; /* ns per tick, fixed point with 32 fractional bits */
} PtClockMap;

void pt_clock_init(void);
PtClockPair pt_clock_pair(void);
PtClockMap pt_clock_map(PtClockPair session_start, PtClockPair now);
uint64_t pt_clock_ticks_for(uint64_t ns);
static inline uint64_t pt_clock_to_ns(const PtClockMap *map, uint64_t ticks)
{
    if (!pt_use_tsc)
        return ticks;
    if (ticks < map->origin.ticks)
        return map->origin.ns - (uint64_t)(((unsigned __int128)(map->origin.ticks - ticks) * map->mult) >> 32);
    return map->origin.ns + (uint64_t)(((unsigned __int128)(ticks - map->origin.ticks) * map->mult) >> 32);
}

/* ---- values.c: args / retvals text of one thread, keyed by record index ---- */
typedef struct {
    char *data;       /* UTF-8 (surrogates kept as 3-byte sequences), entries back to back */
    size_t len, cap;
    uint64_t *index;  /* record index of each entry */
    size_t *ends;     /* end offset of each entry in data */
    size_t count, entries_cap;
} PtTexts;

/* ---- buffers.c: one per thread that produced an event during the session ---- */
typedef struct PtThread {
    PtRecord *cur;           /* next record to write */
    PtRecord *end;           /* end of the current chunk */
    PyObject *chunk;         /* current chunk (a bytes object we still own exclusively) */
    PyObject *chunks;        /* list of full chunks */
    uint32_t *stack;         /* open slices */
    size_t depth;
    size_t stack_cap;
    unsigned long ident;     /* threading.get_ident() */
    unsigned long native_id; /* OS thread id */
    PyObject *ident_key;     /* PyLong(ident), to look the thread up in threading._active */
    PyObject *thread_obj;    /* the threading.Thread, once known */
    int lookups_left;        /* how many more events may try to find thread_obj */
    uint64_t lost;           /* events that could not be stored (out of memory): reported, never hidden */
    PyObject *last_caller;   /* one-entry cache for pt_caller_ignored at depth 0 (borrowed, compared only) */
    int last_caller_ignored;
    /* Tracing controls (controls.c). ``slow`` is the one branch the hot path pays for them: nonzero
     * while an option is on, the thread is paused, or a HIDE frame is open. */
    int slow;
    int paused;
    size_t hide_depth;      /* nonzero: everything is hidden until the stack is shallower than this */
    size_t recorded;        /* recorded slices open (kept while max_stack_depth is on) */
    uint64_t first_index;   /* record index of the current chunk's first record */
    PtTexts args;
    PtTexts retvals;
    struct PtThread *next;
} PtThread;

int pt_thread_new_chunk(PtThread *t);
void pt_thread_free(PtThread *t);
int pt_thread_finish(PtThread *t, PtClockPair stop, const PtClockMap *map, const uint32_t *remap);
void pt_thread_find_object(PtThread *t, PyObject *registry);

static inline void pt_emit(PtThread *t, uint64_t ns, int kind, uint32_t func)
{
    if (PT_UNLIKELY(t->cur == t->end) && pt_thread_new_chunk(t) < 0) {
        t->lost++;
        return;
    }
    t->cur->stamp = (ns << PT_KIND_BITS) | (uint64_t)kind;
    t->cur->func = func;
    t->cur++;
}

/* The index, in the thread's whole record sequence, of the record written last (-1: none yet). */
static inline int64_t pt_last_index(PtThread *t)
{
    if (t->chunk == NULL)
        return -1;
    return (int64_t)t->first_index + (t->cur - (PtRecord *)PyBytes_AS_STRING(t->chunk)) - 1;
}

int pt_stack_grow(PtThread *t);
/* A Python frame is leaving while C calls it made are still open (their C_RETURN never came):
 * close them now, so one lost event cannot break the nesting of everything after it. */
void pt_close_lost_c_calls(PtThread *t);

static inline void pt_push(PtThread *t, uint32_t entry)
{
    if (PT_UNLIKELY(t->depth == t->stack_cap) && pt_stack_grow(t) < 0) {
        t->lost++;
        return;
    }
    t->stack[t->depth++] = entry;
}

/* ---- functable.c: function ids ---- */
typedef struct {
    uintptr_t key_a;
    uintptr_t key_b;
    uint32_t id;
    uint32_t used;
} PtSlot;

typedef struct {
    PtSlot *slots;
    size_t mask; /* capacity - 1 (capacity is a power of two) */
    size_t count;
    PyObject *objects; /* list: id -> code object, or str name for C functions */
    PyObject *rows;    /* after stop: the objects of the functions the trace refers to, by new id */
    uint8_t *flags;    /* id -> PT_FUNC_* flags */
    PyObject **globals; /* id -> globals dict a DISABLEd call site in it was judged under (borrowed) */
    size_t flags_cap;
} PtFuncTable;

#define PT_FUNC_C 1
#define PT_FUNC_IGNORED 2
#define PT_FUNC_TAINTED 4 /* ran under two globals dicts: its call sites are never disabled */
#define PT_FUNC_HIDE 8    /* verdict HIDE (always with PT_FUNC_IGNORED) */
#define PT_FUNC_UNSEEN 16 /* verdict SKIP on the monitoring backend (always with PT_FUNC_IGNORED) */

int pt_functable_init(PtFuncTable *ft);
void pt_functable_clear(PtFuncTable *ft);
/* Both return the stack entry for the function (id | flags), or (uint32_t)-1 on error. */
struct PtRecorder;
uint32_t pt_code_insert(struct PtRecorder *r, PyObject *code);
uint32_t pt_cfunc_insert(PtFuncTable *ft, PyObject *callable, uintptr_t a, uintptr_t b, PyObject *own_module);
PyObject *pt_functable_rows(PtFuncTable *ft);
/* Renumber the functions densely without the ignored ones (which no record refers to); returns the
 * old id -> new id map (PyMem_Raw*), or NULL on error. Rows then list only what the trace uses. */
uint32_t *pt_functable_compact(PtFuncTable *ft);
struct PtRecorder;
/* 1: the code may have DISABLEd sites, judged under ``globals``; 0: it may not (tainted); -1: error */
int pt_functable_watch(struct PtRecorder *r, PyObject *code, PyObject *globals);
void pt_callsites_taint(struct PtRecorder *r, uint32_t entry);
void pt_functable_taint(PtFuncTable *ft, uint32_t entry);

static inline size_t pt_hash(uintptr_t a, uintptr_t b)
{
    uint64_t h = ((uint64_t)a >> 4) * 0x9E3779B97F4A7C15ull ^ ((uint64_t)b >> 4) * 0xC2B2AE3D27D4EB4Full;
    return (size_t)(h ^ (h >> 29));
}

static inline uint32_t pt_lookup(PtFuncTable *ft, uintptr_t a, uintptr_t b)
{
    size_t i = pt_hash(a, b) & ft->mask;
    for (;;) {
        PtSlot *s = &ft->slots[i];
        if (!s->used)
            return (uint32_t)-1;
        if (s->key_a == a && s->key_b == b)
            return s->id;
        i = (i + 1) & ft->mask;
    }
}

/* Whether a callable is a C function in the profiler's sense; fills its identity key. */
static inline int pt_cfunc_key(PyObject *callable, uintptr_t *a, uintptr_t *b)
{
    if (PyCFunction_Check(callable)) {
        PyCFunctionObject *f = (PyCFunctionObject *)callable;
        PyObject *self = f->m_self;
        *a = (uintptr_t)f->m_ml;
        /* The name depends on the bound object's type (or on the module / type it is bound to). */
        *b = (self == NULL || PyModule_Check(self) || PyType_Check(self)) ? (uintptr_t)self
                                                                           : (uintptr_t)Py_TYPE(self);
        return 1;
    }
    if (Py_IS_TYPE(callable, &PyMethodDescr_Type)) {
        *a = (uintptr_t)callable;
        *b = 0;
        return 1;
    }
    return 0;
}

/* ---- recorder.c: the session ---- */
typedef struct PtRecorder {
    PyObject_HEAD
    int backend;          /* PT_BACKEND_* */
    int running;
    int tool_id;          /* sys.monitoring tool id, or -1 */
    int hook_displaced;   /* setprofile: another tool replaced our hook in the starting thread */
    uint64_t generation;  /* which session the threads' cached buffers belong to */
    PyObject *ignore;     /* frozenset of code objects never recorded */
    PyObject *registry;   /* threading._active */
    PtFuncTable functions;
    PtThread *threads;    /* all threads of this session, newest first */
    uint64_t stop_ns;
    PtClockPair clock_start;
    struct PtMonitoring *monitoring; /* monitoring.c state, when that backend runs */
    /* CoreConfig (see cores.py) */
    PyObject *code_filter;    /* callable(code) -> 0 RECORD, 1 SKIP, 2 HIDE; or NULL */
    int has_unseen;           /* some code got PT_FUNC_UNSEEN: the monitoring callbacks must look */
    PyObject *exception_sink; /* callable(exc, code, lineno), or NULL */
    size_t max_depth;         /* 0: unlimited */
    int ignore_c;
    uint64_t min_duration_ns;
    uint64_t min_ticks;       /* min_duration_ns in pt_clock() units, set at start */
    int log_args;
    int log_retval;
    Py_ssize_t repr_limit;
    int gated;                /* some option needs the controls path on every entry and exit */
    int trace_skipped;        /* setprofile + sink: another trace function was installed: not replaced */
    void **argspecs;          /* values.c: function id -> parameter layout, built on first use */
    size_t argspecs_cap;
} PtRecorder;

enum { PT_BACKEND_MONITORING = 1, PT_BACKEND_SETPROFILE = 2 };

extern PyTypeObject PtRecorder_Type;
extern PyObject *pt_module; /* this extension module (its own functions are never recorded) */

/* The session being recorded, if any (the GIL serialises every access). */
extern PtRecorder *pt_active;
extern uint64_t pt_generation;
/* initial-exec: the hot path reads these without a __tls_get_addr call (16 bytes of static TLS). */
#define PT_TLS __thread __attribute__((tls_model("initial-exec")))
extern PT_TLS uint64_t pt_tls_generation;
extern PT_TLS PtThread *pt_tls_thread;

PtThread *pt_thread_for_current(void); /* slow path: creates this thread's buffer */

static inline PtThread *pt_current_thread(void)
{
    if (PT_LIKELY(pt_tls_generation == pt_generation))
        return pt_tls_thread;
    return pt_thread_for_current();
}

/* ---- controls.c: the tracing controls' slow paths (filters, depth, pause, min duration, values) ---- */
void pt_enter_slow(PtThread *t, PtRecorder *r, uint32_t entry, int kind, PyObject *code);
void pt_exit_slow(PtThread *t, PtRecorder *r, int kind, int c, PyObject *retval);
/* PT_FUNC_* flags of a code object never seen before: own code, then config.code_filter's verdict. */
uint8_t pt_code_verdict(PtRecorder *r, PyObject *code);
int pt_set_paused(PtRecorder *r, int paused);
static inline void pt_update_slow(PtThread *t, PtRecorder *r)
{
    t->slow = r->gated | t->paused | (t->hide_depth != 0);
}
/* The frame just pushed hides itself and its subtree. */
static inline void pt_start_hiding(PtThread *t, PtRecorder *r)
{
    t->hide_depth = t->depth;
    pt_update_slow(t, r);
}

/* Record entering the Python function running ``code``. Returns 1 when the code is unseen
 * (PT_STACK_UNSEEN: nothing was done, and the monitoring backend disables the event), else 0. */
static inline int pt_enter_code(PtThread *t, PtRecorder *r, PyObject *code, int kind)
{
    uint32_t entry = pt_lookup(&r->functions, (uintptr_t)code, 0);
    if (PT_UNLIKELY(entry == (uint32_t)-1)) {
        entry = pt_code_insert(r, code);
        if (entry == (uint32_t)-1) {
            PyErr_Clear();
            t->lost++;
            return 0;
        }
    }
    if (PT_UNLIKELY(entry & PT_STACK_UNSEEN))
        return 1;
    if (PT_UNLIKELY(t->thread_obj == NULL && t->lookups_left > 0))
        pt_thread_find_object(t, r->registry);
    if (PT_UNLIKELY(entry & PT_STACK_WATCHED) && kind == PT_ENTER_CALL &&
        r->functions.globals[entry & PT_ID_MASK] != PyEval_GetGlobals())
        pt_callsites_taint(r, entry);
    if (PT_UNLIKELY(t->slow)) {
        pt_enter_slow(t, r, entry, kind, code);
        return 0;
    }
    pt_push(t, entry);
    if (PT_LIKELY(!(entry & PT_STACK_IGNORED)))
        pt_emit(t, pt_clock(), kind, entry & PT_ID_MASK);
    else if (PT_UNLIKELY(entry & PT_STACK_HIDE))
        pt_start_hiding(t, r); /* this frame and everything below it, until it leaves */
    return 0;
}

int pt_caller_ignored_slow(PtThread *t, PtRecorder *r, PyObject *caller_code);

/* Whether a C call is made directly by one of pulsetrace's own frames (the runner's exec, say): such
 * calls are not the program's. The innermost open slice says so; at depth 0 the caller's code does. */
static inline int pt_caller_ignored(PtThread *t, PtRecorder *r, PyObject *caller_code)
{
    if (PT_LIKELY(t->depth > 0))
        return (t->stack[t->depth - 1] & (PT_STACK_IGNORED | PT_STACK_C)) == PT_STACK_IGNORED;
    return caller_code != NULL && pt_caller_ignored_slow(t, r, caller_code);
}

/* Record entering a C function; returns 0 when ``callable`` is not one. */
static inline int pt_enter_cfunc(PtThread *t, PtRecorder *r, PyObject *callable, PyObject *caller_code)
{
    uintptr_t a, b;
    if (!pt_cfunc_key(callable, &a, &b))
        return 0;
    if (PT_UNLIKELY(pt_caller_ignored(t, r, caller_code))) {
        pt_push(t, PT_STACK_C | PT_STACK_IGNORED);
        return 1;
    }
    uint32_t entry = pt_lookup(&r->functions, a, b);
    if (PT_UNLIKELY(entry == (uint32_t)-1)) {
        entry = pt_cfunc_insert(&r->functions, callable, a, b, pt_module);
        if (entry == (uint32_t)-1) {
            PyErr_Clear();
            t->lost++;
            return 1;
        }
    }
    if (PT_UNLIKELY(t->slow)) {
        pt_enter_slow(t, r, entry, PT_ENTER_C, NULL);
        return 1;
    }
    pt_push(t, entry);
    if (PT_LIKELY(!(entry & PT_STACK_IGNORED)))
        pt_emit(t, pt_clock(), PT_ENTER_C, entry & PT_ID_MASK);
    return 1;
}

/* Close the innermost open slice if it is a Python frame (c == 0) or a C call (c == 1). ``retval``:
 * the value a Python frame returns (EXIT_RETURN), else NULL. */
static inline void pt_exit(PtThread *t, int kind, int c, PyObject *retval)
{
    if (t->depth == 0)
        return; /* entered before tracing started */
    if (PT_UNLIKELY(t->slow)) {
        pt_exit_slow(t, pt_active, kind, c, retval);
        return;
    }
    uint32_t entry = t->stack[t->depth - 1];
    if (((entry & PT_STACK_C) != 0) != c) {
        if (c)
            return; /* not ours to close: e.g. C_RETURN after calling a class */
        pt_close_lost_c_calls(t);
        if (t->depth == 0)
            return;
        entry = t->stack[t->depth - 1];
    }
    t->depth--;
    if (PT_LIKELY(!(entry & PT_STACK_IGNORED)))
        pt_emit(t, pt_clock(), kind, entry & PT_ID_MASK);
}

/* ---- backends ---- */
int pt_monitoring_start(PtRecorder *r);
int pt_monitoring_stop(PtRecorder *r);
int pt_setprofile_init(void);
int pt_setprofile_start(PtRecorder *r);
int pt_setprofile_stop(PtRecorder *r);
PyObject *pt_setprofile_thread_hook(PtRecorder *r);

/* ---- codec.c / write_json.c: module functions ---- */
PyObject *pt_encode_events(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *pt_decode_events(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *pt_chrome_json_events(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *pt_function_totals(PyObject *module, PyObject *const *args, Py_ssize_t nargs); /* totals.c */

/* ---- reprs.c: reprs.bounded_repr in C ---- */
typedef struct {
    char *buf;         /* the first ``cap`` characters of the text, UTF-8 (surrogates as 3 bytes) */
    size_t bytes;      /* bytes used in buf */
    size_t size;       /* bytes allocated */
    Py_ssize_t len;    /* characters in buf */
    Py_ssize_t cap;
    PyObject **active; /* containers being rendered (a container holding itself) */
    Py_ssize_t n_active, active_cap;
} PtReprOut;
/* Render bounded_repr(value, limit) into out (reset first); never fails, never leaves an exception. */
void pt_bounded_repr(PtReprOut *out, PyObject *value, Py_ssize_t limit);
void pt_repr_out_free(PtReprOut *out);
PyObject *pt_bounded_repr_py(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

/* ---- values.c: argument and return value text ---- */
void pt_capture_args(PtThread *t, PtRecorder *r, uint32_t id, PyObject *code);
void pt_capture_retval(PtThread *t, PtRecorder *r, PyObject *value, uint64_t index);
int pt_texts_put(PtTexts *texts, uint64_t index, const char *utf8, size_t n);
void pt_texts_drop(PtTexts *texts, uint64_t index);
PyObject *pt_texts_dict(PtTexts *texts);
void pt_texts_free(PtTexts *texts);
void pt_argspecs_free(PtRecorder *r);
PyObject *pt_frame_arguments_py(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

/* ---- exceptions.c: config.exception_sink ---- */
void pt_exception_seen(PtThread *t, PtRecorder *r, PyObject *code, int lineno, PyObject *exc);
int pt_trace_start(PtRecorder *r);
void pt_trace_stop(PtRecorder *r);
PyObject *pt_trace_thread_hook(PtRecorder *r);

#endif
