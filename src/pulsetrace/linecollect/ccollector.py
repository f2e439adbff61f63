"""The C line collector: ``pulsetrace._core.LineRecorder`` does the accounting (the twin of
``accounting.py``, same rules) and receives the events in C; this module only installs its hooks.

``CMonitoringLines`` (3.12+) registers the recorder's C callbacks under a sys.monitoring tool id of
its own, exactly as ``MonitoringLines`` registers its Python ones (same events, same DISABLEs).
``CSettraceLines`` sets the recorder's C trace function (``PyEval_SetTrace``) in the starting thread
and, through ``threading.settrace``, in threads started later, as ``SettraceLines`` does with
``sys.settrace``. Both read the counts with ``rows()``, from any thread, at any time.
"""

from __future__ import annotations

import threading
from types import CodeType
from typing import Any, Callable, Dict, List, Optional

from .accounting import CodeRow
from .monitoring import MonitoringLines
from .settrace import TraceHookTaken


class RecorderCounts:
    """Reading the counts of a C recorder (both C hooks): the recorder keeps them, from any thread."""

    _recorder: Any

    def close_all(self) -> None:
        self._recorder.close_all()

    def rows(self) -> List[CodeRow]:
        rows: List[CodeRow] = self._recorder.rows()
        return rows

    def ignore_thread(self) -> None:
        self._recorder.ignore_thread()


class CMonitoringLines(RecorderCounts, MonitoringLines):
    """Counts lines of every thread through one sys.monitoring tool id, in C."""

    name = "c-monitoring"

    def __init__(
        self, module: Any, detail: Callable[[CodeType], Any], clock: Optional[Callable[[], int]]
    ) -> None:
        super().__init__(detail, clock or _no_clock)
        self._recorder = module.LineRecorder(detail, clock)

    def install(self) -> None:
        self._recorder.activate()
        try:
            super().install()
        except BaseException:
            self._recorder.deactivate()
            raise

    def uninstall(self) -> None:
        super().uninstall()
        self._recorder.deactivate()

    def make_callbacks(self) -> Dict[int, Callable[..., Any]]:
        events = self.events()
        return {getattr(events, name): hook for name, hook in self._recorder.monitoring_callbacks().items()}


class CSettraceLines(RecorderCounts):
    """Counts lines of the starting thread and of threads started later, with a C trace function."""

    name = "c-settrace"

    def __init__(
        self, module: Any, detail: Callable[[CodeType], Any], clock: Optional[Callable[[], int]]
    ) -> None:
        self._recorder = module.LineRecorder(detail, clock)
        self._previous_thread_hook: Any = None

    def install(self) -> None:
        recorder = self._recorder
        recorder.activate()
        self._previous_thread_hook = getattr(threading, "_trace_hook", None)
        threading.settrace(recorder.thread_hook())  # first: the trace function would count this call
        try:
            recorder.trace_install()  # last: nothing of pulsetrace runs after it in this thread
        except RuntimeError as exc:
            threading.settrace(self._previous_thread_hook)
            recorder.deactivate()
            raise TraceHookTaken(str(exc)) from None

    def uninstall(self) -> None:
        recorder = self._recorder
        recorder.trace_uninstall()
        recorder.deactivate()  # threads that still have the trace function remove it at their next event
        threading.settrace(self._previous_thread_hook)


def _no_clock() -> int:
    return 0  # the C recorder keeps its own time: MonitoringLines' clock is never read here
