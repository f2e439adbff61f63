/* The floors' record buffer: 24-byte records appended to one growable array.
 *
 * A record is what a minimal recording tracer must keep per event: when (CLOCK_MONOTONIC ns), what
 * (the code object or callable, as a pointer) and which event. The array grows by doubling so an
 * append is a bounds check and three stores; growth cost is amortised like any real tracer's.
 */
#ifndef PULSETRACE_FLOOR_RECORDS_H
#define PULSETRACE_FLOOR_RECORDS_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

typedef struct {
    uint64_t ns;
    uint64_t what;
    uint64_t kind;
} FloorRecord;

typedef struct {
    FloorRecord *items;
    size_t count;
    size_t capacity;
} FloorBuffer;

static FloorBuffer floor_buffer;

static inline uint64_t floor_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Out of line: the slow path should not bloat every callback. Returns 0, or -1 when out of memory. */
static int floor_grow(void)
{
    size_t capacity = floor_buffer.capacity ? floor_buffer.capacity * 2 : 65536;
    FloorRecord *items = realloc(floor_buffer.items, capacity * sizeof(FloorRecord));
    if (items == NULL) {
        return -1;
    }
    floor_buffer.items = items;
    floor_buffer.capacity = capacity;
    return 0;
}

static inline int floor_append(const void *what, uint64_t kind)
{
    if (floor_buffer.count == floor_buffer.capacity && floor_grow() < 0) {
        return -1;
    }
    FloorRecord *record = &floor_buffer.items[floor_buffer.count++];
    record->ns = floor_now_ns();
    record->what = (uint64_t)(uintptr_t)what;
    record->kind = kind;
    return 0;
}

static void floor_clear(void)
{
    free(floor_buffer.items);
    floor_buffer.items = NULL;
    floor_buffer.count = 0;
    floor_buffer.capacity = 0;
}

#endif
