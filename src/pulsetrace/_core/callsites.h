/* Which CALL sites may stop reporting (return sys.monitoring.DISABLE), and the watch that re-arms
 * them when that stops being safe. See callsites.c. */
#ifndef PULSETRACE_CALLSITES_H
#define PULSETRACE_CALLSITES_H
#include "core.h"

int pt_callsites_start(PtRecorder *r);
void pt_callsites_stop(PtRecorder *r);
int pt_callsite_may_disable(PtRecorder *r, PyObject *code, PyObject *offset, PyObject *callable);

#endif
