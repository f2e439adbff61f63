"""Line counting for the live view: hits and time per line of the selected files, readable while it runs.

Counts hits per line of the selected files, and the time from each line event to the next line
event of the same thread (the line's time, callees in files that are not traced included). The
per-event work is done by the C extension's ``LineCounter`` where it is built, else by the Python
functions below (same numbers, much slower). On
3.12+ it uses a sys.monitoring tool id of its own: every thread, the ones already running
included, and frames already executing (the caller of ``pulsetrace.live()`` from its next line).
Before 3.12 it uses ``sys.settrace`` / ``threading.settrace``: the calling thread from its next
line and threads started afterwards; threads already running are not seen.

Lines of files outside the selection cost one event per line location on 3.12+ (the callback
returns DISABLE) and one call event per function call before 3.12.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from types import CodeType, FrameType
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from ..model.lines import LineStats
from ..toolids import claim_free_tool_id
from .files import FileSet

TOOL_NAME = "pulsetrace-live"
TOOL_IDS = (3, 4, 5, 2, 1, 0)  # the tracer's own Python core tries 4 first: start at the other free one

LineKey = Tuple[str, int]
_SKIP: List[Any] = []  # the state of threads whose lines are never counted (the live view's own)


class CollectorError(RuntimeError):
    """Line counting could not start (every sys.monitoring tool id is taken)."""


def _c_counter_type() -> Any:
    """The C LineCounter type, or None where the extension is not built (or PULSETRACE_CORE=python)."""
    if os.environ.get("PULSETRACE_CORE") == "python":
        return None
    try:
        from .._core import LineCounter
    except ImportError:
        return None
    return LineCounter


class LineCollector:
    """Counts line hits and line time for the files of a FileSet, in every thread it can see."""

    def __init__(self, files: FileSet, use_c: Optional[bool] = None) -> None:
        self.files = files
        counter_type = _c_counter_type() if use_c is not False else None
        if use_c and counter_type is None:
            raise CollectorError("the C extension is not built: no C line counter")
        disable = getattr(getattr(sys, "monitoring", None), "DISABLE", None)
        self._c: Any = counter_type(self._wants, disable) if counter_type is not None else None
        self._hits: Dict[LineKey, int] = {}
        self._times: Dict[LineKey, int] = {}
        # thread ident -> [last line key or None, time of that line's event]; _SKIP for our own threads
        self._threads: Dict[int, List[Any]] = {}
        self._wanted: Dict[CodeType, bool] = {}
        self._running = False
        self._tool_id = -1
        self._own_prefixes: Tuple[str, ...] = ()

    # -- the live view's own threads ----------------------------------------------------------------

    def ignore_current_thread(self) -> None:
        """Never count lines run by the calling thread (the server's, the ticker's)."""
        if self._c is not None:
            self._c.ignore_thread()
            return
        self._threads[threading.get_ident()] = _SKIP
        if sys.version_info < (3, 12):
            sys.settrace(None)

    # -- start and stop ---------------------------------------------------------------------------------

    def start(self, frame: Optional[FrameType]) -> None:
        """Start counting; ``frame`` (the caller's) is counted from its next line, and its callers too."""
        if self._running:
            return
        self._running = True
        if sys.version_info >= (3, 12):
            self._start_monitoring()
        else:
            self._start_settrace(frame)

    def stop(self) -> None:
        """Stop counting; the numbers so far stay readable."""
        if not self._running:
            return
        self._running = False
        if sys.version_info >= (3, 12):
            monitoring: Any = getattr(sys, "monitoring")  # noqa: B009 - absent before 3.12 (for mypy)
            if self._c is not None:
                self._c.stop()
            monitoring.set_events(self._tool_id, 0)
            monitoring.register_callback(self._tool_id, monitoring.events.LINE, None)
            monitoring.free_tool_id(self._tool_id)
            self._tool_id = -1
        else:
            threading.settrace(None)  # type: ignore[arg-type]
            if self._c is not None:
                self._c.stop()  # other threads' C trace functions remove themselves at their next event
                self._c.ignore_thread()
            else:
                sys.settrace(None)

    @property
    def running(self) -> bool:
        return self._running

    # -- reading ---------------------------------------------------------------------------------------

    def snapshot(self) -> LineStats:
        """The numbers so far, as a LineStats (callable from any thread while counting goes on)."""
        stats = LineStats()
        if self._c is not None:
            for (filename, lineno), (count, spent) in self._c.snapshot().items():
                stat = stats.line(filename, lineno)
                stat.hits = count
                stat.self_ns = stat.total_ns = spent
            return stats
        hits = self._hits.copy()  # one C call each: safe while the program's threads add to them
        times = self._times.copy()
        for (filename, lineno), count in hits.items():
            stat = stats.line(filename, lineno)
            stat.hits = count
            spent = times.get((filename, lineno), 0)
            stat.self_ns = spent
            stat.total_ns = spent
        return stats

    # -- the counting itself -------------------------------------------------------------------------------

    def _wants(self, code: CodeType) -> bool:
        wanted = self._wanted.get(code)
        if wanted is None:
            wanted = self._wanted[code] = code.co_filename in self.files
        return wanted

    def _count(self, key: LineKey) -> None:
        now = time.perf_counter_ns()
        ident = threading.get_ident()
        state = self._threads.get(ident)
        if state is None:
            state = self._threads[ident] = [None, now]
        elif state is _SKIP:
            return
        else:
            last = state[0]
            if last is not None:
                times = self._times
                times[last] = times.get(last, 0) + now - state[1]
        hits = self._hits
        hits[key] = hits.get(key, 0) + 1
        state[0] = key
        state[1] = now

    # 3.12+: sys.monitoring, LINE events only
    def _start_monitoring(self) -> None:
        monitoring: Any = getattr(sys, "monitoring")  # noqa: B009
        tool_id = claim_free_tool_id(TOOL_IDS, TOOL_NAME)
        if tool_id is not None:
            self._tool_id = tool_id
        else:
            self._running = False
            raise CollectorError("no free sys.monitoring tool id: ids 0-5 are all in use")
        if self._c is not None:
            self._c.start()
            on_line = self._c.line_event
        else:
            on_line = self._python_line_callback(monitoring.DISABLE)
        monitoring.register_callback(self._tool_id, monitoring.events.LINE, on_line)
        monitoring.restart_events()  # lines DISABLEd by an earlier session would stay silent
        monitoring.set_events(self._tool_id, monitoring.events.LINE)

    def _python_line_callback(self, disable: Any) -> Callable[[CodeType, int], Any]:
        wants = self._wants
        count = self._count

        def on_line(code: CodeType, line: int) -> Any:
            if not wants(code):
                return disable
            count((code.co_filename, line))
            return None

        return on_line

    # before 3.12: a trace function in this thread and threads started from now on
    def _start_settrace(self, frame: Optional[FrameType]) -> None:
        if self._c is not None:
            # The C trace function sees line events of every frame: the running ones from their next line.
            threading.settrace(self._c.thread_hook)
            self._c.install_here()
            return
        wants = self._wants
        count = self._count

        def local(frame: FrameType, event: str, arg: Any) -> Optional[Callable[..., Any]]:
            if not self._running:
                return None
            if event == "line":
                count((frame.f_code.co_filename, frame.f_lineno))
            return local

        def on_call(frame: FrameType, event: str, arg: Any) -> Optional[Callable[..., Any]]:
            if event == "call" and self._running and wants(frame.f_code):
                return local
            return None

        seen: Set[int] = set()
        while frame is not None:  # the running frames of this thread: counted from their next line
            if wants(frame.f_code) and id(frame) not in seen:
                seen.add(id(frame))
                frame.f_trace = local
                frame.f_trace_lines = True
            frame = frame.f_back
        threading.settrace(on_call)  # type: ignore[arg-type]
        sys.settrace(on_call)
