"""Line statistics collection (the ``lines`` option): per line hits, self and total time, call edges.

``LineCollector`` runs beside the core: its own ``sys.monitoring`` tool id on 3.12+, the trace hook
before. Two collectors follow the same rules (``accounting`` says exactly what is counted and how):
the C one (``ccollector``, the accounting in ``_core/lines.c``), used whenever the C extension is
built, and the Python one (``monitoring`` / ``settrace``), the fallback and the C one's oracle in the
tests. ``PULSETRACE_LINES_BACKEND`` forces one: ``c-monitoring`` or ``monitoring`` (3.12+),
``c-settrace`` or ``settrace``. Either hands back a ``model.lines.LineStats`` for the process, at
stop or (``snapshot()``) while it counts.

Which code is kept line by line (``line_detail``): ``project`` keeps every file outside the standard
library and site-packages (``filegroups``) and summarises the rest per function; ``all`` keeps every
file. pulsetrace's own code is never counted, nor code the tracing controls' filter does not record
(``include_files`` / ``exclude_files``).
"""

from __future__ import annotations

import functools
import os
import sys
import time
from types import CodeType
from typing import Callable, Collection, Dict, FrozenSet, List, Optional, Protocol, Tuple

from ..extension import load_c_extension
from ..filegroups import SITE_PACKAGES, STDLIB, FileGrouper, default_grouper
from ..filters import RECORD, module_code_objects
from ..model.lines import LineStats
from .accounting import CodeRow, stats_from_rows
from .ccollector import CMonitoringLines, CSettraceLines
from .monitoring import MonitoringLines, NoToolIdError
from .settrace import SettraceLines, TraceHookTaken

DETAIL_CHOICES = ("project", "all")
PYTHON_LINE_BACKENDS = ("monitoring", "settrace") if sys.version_info >= (3, 12) else ("settrace",)
C_LINE_BACKENDS = tuple(f"c-{name}" for name in PYTHON_LINE_BACKENDS)
# What this build offers here, preferred first: the C collector when the extension is built.
LINE_BACKENDS = (C_LINE_BACKENDS if load_c_extension()[0] is not None else ()) + PYTHON_LINE_BACKENDS
_SUMMARISED_GROUPS = (STDLIB, SITE_PACKAGES)


class LineCollectorError(RuntimeError):
    """Line statistics cannot be collected (no free tool id, the trace hook is taken, bad settings)."""


def choose_line_backend(requested: Optional[str] = None) -> Tuple[str, str]:
    """(backend, why): the C collector when built, sys.monitoring where it exists, else the trace hook;
    an env var or argument may force one."""
    requested = requested or os.environ.get("PULSETRACE_LINES_BACKEND") or None
    hook = "sys.monitoring" if sys.version_info >= (3, 12) else "trace hook"
    if requested is None:
        chosen = LINE_BACKENDS[0]
        if chosen in C_LINE_BACKENDS:
            return chosen, f"C line collector ({hook})"
        return chosen, f"Python line collector ({hook}): {load_c_extension()[1]}"
    if requested not in LINE_BACKENDS:
        raise LineCollectorError(
            f"line backend {requested!r} is not available here (choose from: {', '.join(LINE_BACKENDS)})"
        )
    which = "C" if requested in C_LINE_BACKENDS else "Python"
    return requested, f"{which} line collector ({requested}), requested"


class LineCollector:
    """Collects ``LineStats`` for every thread between start() and stop()."""

    def __init__(
        self,
        *,
        detail: str = "project",
        ignore: Collection[CodeType] = (),
        grouper: Optional[FileGrouper] = None,
        backend: Optional[str] = None,
        clock: Optional[Callable[[], int]] = None,
        code_filter: Optional[Callable[[CodeType], int]] = None,
    ) -> None:
        if detail not in DETAIL_CHOICES:
            raise LineCollectorError(f"line_detail {detail!r} is not one of: {', '.join(DETAIL_CHOICES)}")
        self.detail = detail
        self.backend, self.reason = choose_line_backend(backend)
        self._ignore: FrozenSet[CodeType] = frozenset(ignore) | _own_code_objects()
        self._grouper = grouper
        # The tracing controls' filter (include_files / exclude_files, filters.CodeFilter): code it does
        # not RECORD is not counted at all; its time is the calling line's own, as a C function's is.
        self._code_filter = code_filter
        self._clock = clock  # None: the collector's own clock (tests give one the program moves)
        self._verdicts: Dict[CodeType, Optional[bool]] = {}
        self._hook: Optional[LineHook] = None
        self.warnings: List[str] = []

    @property
    def running(self) -> bool:
        return self._hook is not None

    def keeps_lines(self, code: CodeType) -> Optional[bool]:
        """True: count ``code`` line by line; False: summarise it per function; None: never count it."""
        try:
            return self._verdicts[code]
        except KeyError:
            pass
        verdict: Optional[bool]
        if code in self._ignore or (self._code_filter is not None and self._code_filter(code) != RECORD):
            verdict = None
        elif self.detail == "all":
            verdict = True
        else:
            grouper = self._grouper
            if grouper is None:
                grouper = self._grouper = default_grouper()
            verdict = grouper.group(code.co_filename) not in _SUMMARISED_GROUPS
        self._verdicts[code] = verdict
        return verdict

    def start(self) -> None:
        """Start counting; LineCollectorError when the interpreter hook it needs is not free."""
        if self._hook is not None:
            raise LineCollectorError("the line collector is already running")
        if self._grouper is None:
            self._grouper = default_grouper()  # now: the program may chdir later
        hook = self._make_hook()
        try:
            hook.install()
        except (NoToolIdError, TraceHookTaken) as exc:
            raise LineCollectorError(f"cannot record line statistics: {exc}") from None
        self._hook = hook

    def _make_hook(self) -> LineHook:
        backend = self.backend
        if backend in C_LINE_BACKENDS:
            module = load_c_extension()[0]
            if backend == "c-monitoring":
                return CMonitoringLines(module, self.keeps_lines, self._clock)
            return CSettraceLines(module, self.keeps_lines, self._clock)
        clock = self._clock or time.monotonic_ns
        if backend == "monitoring":
            return MonitoringLines(self.keeps_lines, clock)
        return SettraceLines(self.keeps_lines, clock)

    def ignore_current_thread(self) -> None:
        """Never count the calling thread from now on (a tool's own server or timer thread, while
        running); its counts so far stay. Without a DISABLE: the code it runs is still counted on the
        other threads."""
        hook = self._hook
        if hook is None:
            raise LineCollectorError("the line collector is not running")
        hook.ignore_thread()

    def snapshot(self) -> LineStats:
        """The statistics so far, while counting; callable from any thread.

        Hit counts, call counts and edge counts are exact up to the moment of the call. Times lag:
        a line still running (and every frame still open) adds its current interval only when it
        moves on, so the open lines of every thread are short by what they have run so far.
        """
        hook = self._hook
        if hook is None:
            raise LineCollectorError("the line collector is not running")
        return stats_from_rows(hook.rows())

    def stop(self) -> LineStats:
        """Stop counting; frames still running end now. The statistics of every thread together."""
        hook = self._hook
        if hook is None:
            raise LineCollectorError("the line collector is not running")
        hook.uninstall()
        self._hook = None
        hook.close_all()
        return stats_from_rows(hook.rows())


class LineHook(Protocol):
    """What installs a collector's hooks and reads its counts (both collectors, both hooks)."""

    def install(self) -> None: ...

    def uninstall(self) -> None: ...

    def close_all(self) -> None: ...

    def rows(self) -> List[CodeRow]: ...

    def ignore_thread(self) -> None: ...


@functools.cache
def _own_code_objects() -> FrozenSet[CodeType]:
    """The code of this package (the collector's start and stop run while it counts)."""
    from . import accounting, ccollector, monitoring, settrace

    return module_code_objects((accounting, ccollector, monitoring, settrace, sys.modules[__name__]))
