/* The tracing controls' slow paths: verdicts, hidden subtrees, max_stack_depth, pause, min_duration,
 * and where argument / return value text is taken (semantics: CoreConfig in cores.py).
 *
 * The hot path (core.h) branches here only when PtThread.slow is set (an option that acts on every
 * entry or exit is on, the thread is paused, or a HIDE frame is open) or the code's verdict is HIDE.
 * With every option off, a session costs what it did before these controls existed.
 *
 * A frame that is not recorded (SKIP, hidden, paused) is still pushed, flagged PT_STACK_IGNORED, so
 * its exit pops it without a record and C calls it makes are ignored too. Hiding starts at a HIDE
 * frame (or a call past max_stack_depth) and ends when that frame's entry leaves the stack.
 *
 * min_duration: a slice that ends sooner than min_duration after it started, while its ENTER record
 * is still the last record of the thread's current chunk, is taken back (the ENTER record and its
 * args) instead of being closed. Its children, being shorter, were taken back already. An ENTER in an
 * earlier chunk than the write position is kept (a 64 Ki-record chunk boundary fell inside the slice).
 */
#include "core.h"

uint8_t pt_code_verdict(PtRecorder *r, PyObject *code)
{
    if (r->ignore != NULL) {
        int found = PySet_Contains(r->ignore, code);
        if (found < 0)
            return 0xFF;
        if (found)
            return PT_FUNC_IGNORED;
    }
    if (r->code_filter == NULL)
        return 0;
    /* The filter is Python code: keep whatever exception state the program is in. */
    PyObject *exc_type, *exc_value, *exc_tb;
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
    PyObject *answer = PyObject_CallOneArg(r->code_filter, code);
    long verdict = answer != NULL ? PyLong_AsLong(answer) : 0;
    Py_XDECREF(answer);
    PyErr_Clear(); /* a broken filter records the function */
    PyErr_Restore(exc_type, exc_value, exc_tb);
    if (verdict == 1) /* SKIP: sys.monitoring can stop delivering its events altogether */
        return PT_FUNC_IGNORED | (r->backend == PT_BACKEND_MONITORING ? PT_FUNC_UNSEEN : 0);
    if (verdict == 2)
        return PT_FUNC_IGNORED | PT_FUNC_HIDE;
    return 0;
}

void pt_enter_slow(PtThread *t, PtRecorder *r, uint32_t entry, int kind, PyObject *code)
{
    /* A call made while paused is hidden like a HIDE frame: a resume() inside it takes effect when
     * it returns. */
    if (t->hide_depth == 0 &&
        (t->paused || (entry & PT_STACK_HIDE) ||
         (r->max_depth && !(entry & PT_STACK_IGNORED) && t->recorded >= r->max_depth))) {
        pt_push(t, entry | PT_STACK_IGNORED);
        pt_start_hiding(t, r);
        return;
    }
    if (t->hide_depth || (entry & PT_STACK_IGNORED)) {
        pt_push(t, entry | PT_STACK_IGNORED);
        return;
    }
    pt_push(t, entry);
    t->recorded++;
    int64_t before = pt_last_index(t);
    pt_emit(t, pt_clock(), kind, entry & PT_ID_MASK);
    if (r->log_args && kind == PT_ENTER_CALL && code != NULL && pt_last_index(t) != before)
        pt_capture_args(t, r, entry & PT_ID_MASK, code);
}

/* Pop the innermost entry; returns it. Ends hiding when the frame that started it leaves. */
static inline uint32_t pop(PtThread *t, PtRecorder *r)
{
    uint32_t entry = t->stack[--t->depth];
    if (t->hide_depth && t->depth < t->hide_depth) {
        t->hide_depth = 0;
        pt_update_slow(t, r);
    }
    if (!(entry & PT_STACK_IGNORED) && t->recorded > 0)
        t->recorded--;
    return entry;
}

/* Whether the slice of ``entry`` is shorter than min_duration and can be taken back: its ENTER is
 * the last record of the current chunk. Takes it back (with its args) and returns 1. */
static int take_back(PtThread *t, PtRecorder *r, uint32_t entry, uint64_t now)
{
    if (t->chunk == NULL || t->cur == (PtRecord *)PyBytes_AS_STRING(t->chunk))
        return 0;
    PtRecord *last = t->cur - 1;
    unsigned kind = (unsigned)(last->stamp & ((1u << PT_KIND_BITS) - 1));
    if (!PT_IS_ENTER(kind) || last->func != (entry & PT_ID_MASK))
        return 0;
    uint64_t start = last->stamp >> PT_KIND_BITS;
    if (now >= start && now - start >= r->min_ticks)
        return 0;
    if (r->log_args)
        pt_texts_drop(&t->args, (uint64_t)pt_last_index(t));
    t->cur--;
    return 1;
}

/* Write the exit of ``entry``'s slice, or take the slice back (min_duration); 1 when written. */
static int close_slice(PtThread *t, PtRecorder *r, uint32_t entry, int kind, uint64_t now)
{
    if (r->min_ticks && take_back(t, r, entry, now))
        return 0;
    pt_emit(t, now, kind, entry & PT_ID_MASK);
    return 1;
}

void pt_exit_slow(PtThread *t, PtRecorder *r, int kind, int c, PyObject *retval)
{
    uint32_t entry = t->stack[t->depth - 1];
    if (((entry & PT_STACK_C) != 0) != c) {
        if (c)
            return; /* not ours to close: e.g. C_RETURN after calling a class */
        /* C calls whose exit never came: close them first (see pt_close_lost_c_calls). */
        uint64_t now = pt_clock();
        while (t->depth > 0 && (t->stack[t->depth - 1] & PT_STACK_C)) {
            uint32_t lost = pop(t, r);
            if (!(lost & PT_STACK_IGNORED))
                close_slice(t, r, lost, PT_EXIT_RETURN, now);
        }
        if (t->depth == 0)
            return;
        entry = t->stack[t->depth - 1];
    }
    pop(t, r);
    if (entry & PT_STACK_IGNORED)
        return;
    uint64_t generation = pt_generation; /* a stop() while emitting leaves no record to attach to */
    if (close_slice(t, r, entry, kind, pt_clock()) && r->log_retval && kind == PT_EXIT_RETURN && !c &&
        retval != NULL && pt_generation == generation)
        pt_capture_retval(t, r, retval, (uint64_t)pt_last_index(t));
}

/* Recorder.pause() / resume(): the calling thread only. */
int pt_set_paused(PtRecorder *r, int paused)
{
    PtThread *t = pt_current_thread();
    if (t == NULL)
        return 0; /* not recording, or out of memory: nothing to pause */
    t->paused = paused;
    pt_update_slow(t, r);
    return 0;
}
