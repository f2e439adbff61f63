/* Which clock the hot path reads, and how its readings become CLOCK_MONOTONIC nanoseconds. */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pt_use_tsc = 0;
static PtClockPair process_origin; /* the longest calibration baseline we have: since import */

/* Use the TSC only where the kernel itself does: it then has verified it is invariant and synchronised
 * across CPUs. PULSETRACE_CLOCK=monotonic forces clock_gettime. */
static int kernel_trusts_tsc(void)
{
#if PT_HAVE_TSC
    const char *forced = getenv("PULSETRACE_CLOCK");
    if (forced != NULL && strcmp(forced, "monotonic") == 0)
        return 0;
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
    if (f == NULL)
        return 0;
    char name[32] = {0};
    int ok = fgets(name, sizeof name, f) != NULL && strncmp(name, "tsc", 3) == 0 && (name[3] == '\n' || !name[3]);
    fclose(f);
    return ok;
#else
    return 0;
#endif
}

/* A TSC reading and a clock_gettime reading taken as close together as possible. */
PtClockPair pt_clock_pair(void)
{
    PtClockPair pair;
#if PT_HAVE_TSC
    if (pt_use_tsc) {
        uint64_t best_gap = UINT64_MAX;
        for (int i = 0; i < 5; i++) { /* keep the tightest of a few tries */
            uint64_t before = __rdtsc();
            uint64_t ns = pt_now_ns();
            uint64_t after = __rdtsc();
            if (after - before < best_gap) {
                best_gap = after - before;
                pair.ticks = before + (after - before) / 2;
                pair.ns = ns;
            }
        }
        return pair;
    }
#endif
    pair.ns = pt_now_ns();
    pair.ticks = pair.ns;
    return pair;
}

void pt_clock_init(void)
{
    pt_use_tsc = kernel_trusts_tsc();
    process_origin = pt_clock_pair();
}

/* Map ticks to ns around the session's start, with the TSC rate measured over the whole time since
 * import (the longer the baseline, the smaller the rate error). */
PtClockMap pt_clock_map(PtClockPair session_start, PtClockPair now)
{
    PtClockMap map;
    map.origin = session_start;
    map.mult = (unsigned __int128)1 << 32;
    if (pt_use_tsc && now.ticks > process_origin.ticks && now.ns > process_origin.ns)
        map.mult = ((unsigned __int128)(now.ns - process_origin.ns) << 32) / (now.ticks - process_origin.ticks);
    return map;
}

/* How many pt_clock() units make ``ns`` (for min_duration). The TSC rate is measured against
 * CLOCK_MONOTONIC; when the baseline since import is short, over a 2 ms wait first. */
uint64_t pt_clock_ticks_for(uint64_t ns)
{
    if (!pt_use_tsc)
        return ns;
    PtClockPair now = pt_clock_pair();
    if (now.ns - process_origin.ns < 20000000u) {
        PtClockPair start = now;
        while (now.ns - start.ns < 2000000u)
            now = pt_clock_pair();
        if (now.ticks <= start.ticks)
            return ns;
        return (uint64_t)(((unsigned __int128)ns * (now.ticks - start.ticks)) / (now.ns - start.ns));
    }
    if (now.ticks <= process_origin.ticks)
        return ns;
    return (uint64_t)(((unsigned __int128)ns * (now.ticks - process_origin.ticks)) / (now.ns - process_origin.ns));
}
