"""Line statistics collection (the ``lines`` option): per line hits, self and total time, call edges.

``LineCollector`` runs beside the core: its own ``sys.monitoring`` tool id on 3.12+, the trace hook
before (``PULSETRACE_LINES_BACKEND=monitoring|settrace`` forces one where both exist). It hands back a
``model.lines.LineStats`` for the process; ``accounting`` says exactly what is counted and how.

Which code is kept line by line (``line_detail``): ``project`` keeps every file outside the standard
library and site-packages (``filegroups``) and summarises the rest per function; ``all`` keeps every
file. pulsetrace's own code is never counted.
"""

from __future__ import annotations

import inspect
import os
import sys
import time
from types import CodeType
from typing import Callable, Collection, Dict, FrozenSet, List, Optional, Union

from ..filegroups import SITE_PACKAGES, STDLIB, FileGrouper, default_grouper
from ..model.lines import LineStats
from .accounting import line_stats
from .monitoring import MonitoringLines, NoToolIdError
from .settrace import SettraceLines, TraceHookTaken

DETAIL_CHOICES = ("project", "all")
LINE_BACKENDS = ("monitoring", "settrace") if sys.version_info >= (3, 12) else ("settrace",)
_SUMMARISED_GROUPS = (STDLIB, SITE_PACKAGES)


class LineCollectorError(RuntimeError):
    """Line statistics cannot be collected (no free tool id, the trace hook is taken, bad settings)."""


def choose_line_backend(requested: Optional[str] = None) -> str:
    """sys.monitoring where it exists, else the trace hook; an env var or argument may force one."""
    requested = requested or os.environ.get("PULSETRACE_LINES_BACKEND") or None
    if requested is None:
        return LINE_BACKENDS[0]
    if requested not in LINE_BACKENDS:
        raise LineCollectorError(
            f"line backend {requested!r} is not available here (choose from: {', '.join(LINE_BACKENDS)})"
        )
    return requested


class LineCollector:
    """Collects ``LineStats`` for every thread between start() and stop()."""

    def __init__(
        self,
        *,
        detail: str = "project",
        ignore: Collection[CodeType] = (),
        grouper: Optional[FileGrouper] = None,
        backend: Optional[str] = None,
        clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        if detail not in DETAIL_CHOICES:
            raise LineCollectorError(f"line_detail {detail!r} is not one of: {', '.join(DETAIL_CHOICES)}")
        self.detail = detail
        self.backend = choose_line_backend(backend)
        self._ignore: FrozenSet[CodeType] = frozenset(ignore) | _own_code_objects()
        self._grouper = grouper
        self._clock = clock
        self._verdicts: Dict[CodeType, Optional[bool]] = {}
        self._hook: Optional[Union[MonitoringLines, SettraceLines]] = None
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
        if code in self._ignore:
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
        hook: Union[MonitoringLines, SettraceLines]
        if self.backend == "monitoring":
            hook = MonitoringLines(self.keeps_lines, self._clock)
        else:
            hook = SettraceLines(self.keeps_lines, self._clock)
        try:
            hook.install()
        except (NoToolIdError, TraceHookTaken) as exc:
            raise LineCollectorError(f"cannot record line statistics: {exc}") from None
        self._hook = hook

    def stop(self) -> LineStats:
        """Stop counting; frames still running end now. The statistics of every thread together."""
        hook = self._hook
        if hook is None:
            raise LineCollectorError("the line collector is not running")
        hook.uninstall()
        self._hook = None
        stop_ns = self._clock()
        for thread in hook.threads:
            thread.close_all(stop_ns)
        return line_stats(hook.threads)


_OWN_CODES: Optional[FrozenSet[CodeType]] = None


def _own_code_objects() -> FrozenSet[CodeType]:
    """The code of this package (the collector's start and stop run while it counts)."""
    global _OWN_CODES
    if _OWN_CODES is None:
        from . import accounting, monitoring, settrace

        pending: List[CodeType] = []
        for module in (accounting, monitoring, settrace, sys.modules[__name__]):
            for value in list(vars(module).values()):
                members = list(vars(value).values()) if isinstance(value, type) else [value]
                for member in members:
                    if isinstance(member, property):
                        member = member.fget
                    if getattr(member, "__module__", None) == module.__name__ and inspect.isfunction(member):
                        pending.append(member.__code__)
        found = set()
        while pending:
            code = pending.pop()
            if code not in found:
                found.add(code)
                pending.extend(const for const in code.co_consts if isinstance(const, CodeType))
        _OWN_CODES = frozenset(found)
    return _OWN_CODES
