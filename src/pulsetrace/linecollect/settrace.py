"""Line events through the trace hook (``sys.settrace`` / ``threading.settrace``), before 3.12.

The global trace function sees each frame's ``call`` (a start, or a generator resuming: told apart by
the instruction the frame stands at, as the Python core does) and returns the frame's local trace
function, which gets its ``line`` and ``return`` events (``return`` also ends a frame that yields or
unwinds). Summarised code keeps its ``return`` but turns its line events off (``f_trace_lines``);
pulsetrace's own code gets no local trace function at all. The frames already running in the thread
that starts recording get the local function too, so the block around ``start()`` is counted.

Threads started while recording install the hook themselves (``threading.settrace``); threads that
were already running are not counted (the hook is per thread). Only one trace function can be set
per thread: when another tool (a debugger, coverage) holds it, lines are not recorded and a warning
says so. After stop, a thread that still has the hook removes it at its next call.
"""

from __future__ import annotations

import sys
import threading
from types import CodeType, FrameType
from typing import Any, Callable, Dict, List, Optional

from ..pyframes import is_resumption
from .accounting import CODE, LINES, PythonLineBackend

GENERATOR_FLAGS = 0x20 | 0x80 | 0x200  # CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR

TraceFunction = Callable[[FrameType, str, Any], Any]


class TraceHookTaken(RuntimeError):
    """Another tool's trace function is installed."""


class SettraceLines(PythonLineBackend):
    """Counts lines of the starting thread and of threads started later, through the trace hook."""

    name = "settrace"

    def __init__(self, detail: Callable[[CodeType], Any], clock: Callable[[], int]) -> None:
        super().__init__(detail, clock)
        self.active = False
        self._previous_thread_hook: Any = None
        self._local_trace = self._make_local()
        self._global = self._make_global()

    def ignore_thread(self) -> None:
        """The calling thread is not counted from now on: its trace hook goes, its state is None."""
        super().ignore_thread()
        if sys.gettrace() is self._global:
            sys.settrace(None)

    def install(self) -> None:
        holder = sys.gettrace()
        if holder is not None:
            raise TraceHookTaken(f"another trace function is installed ({holder!r})")
        self._previous_thread_hook = getattr(threading, "_trace_hook", None)
        self.active = True
        threading.settrace(self._global)
        # The frames already running (outermost first) have no local trace function: give them ours.
        frame: Optional[FrameType] = sys._getframe(1)
        running: List[FrameType] = []
        while frame is not None:
            running.append(frame)
            frame = frame.f_back
        for frame in reversed(running):
            detailed = self._detail(frame.f_code)
            if detailed:
                frame.f_trace = self._local_trace
        sys.settrace(self._global)

    def uninstall(self) -> None:
        sys.settrace(None)
        self.active = False
        threading.settrace(self._previous_thread_hook)
        frame: Optional[FrameType] = sys._getframe(1)
        while frame is not None:
            if frame.f_trace is self._local_trace:
                frame.f_trace = None
            frame = frame.f_back

    def _make_global(self) -> TraceFunction:
        local, now, new_thread = self._local, self._clock, self._new_thread
        local_trace = self._local_trace
        codes_flags: Dict[CodeType, bool] = {}
        collector = self

        def on_call(frame: FrameType, event: str, arg: Any) -> Any:
            if not collector.active:
                sys.settrace(None)  # a thread that outlived the recording: stop calling us
                return None
            if event != "call":
                return None
            ns = now()
            try:
                state = local.state
            except AttributeError:
                state = new_thread()
            if state is None:  # an ignored thread
                return None
            code = frame.f_code
            data = state.codes.get(code)
            if data is None:
                data = state.data_for(code)
                if data is None:
                    return None
            resumed = codes_flags.get(code)
            if resumed is None:
                resumed = codes_flags[code] = bool(code.co_flags & GENERATOR_FLAGS)
            if resumed and is_resumption(code.co_code, frame.f_lasti):
                state.enter(ns, data, frame.f_lineno or 0, False)
            else:
                state.enter(ns, data, 0, True)
            if data.lines is None:
                frame.f_trace_lines = False
            return local_trace

        return on_call

    def _make_local(self) -> TraceFunction:
        local, now, new_thread = self._local, self._clock, self._new_thread
        collector = self

        def on_event(frame: FrameType, event: str, arg: Any) -> Any:
            if not collector.active:
                return None
            if event == "line":
                ns = now()
                try:
                    state = local.state
                except AttributeError:
                    state = new_thread()
                if state is None:
                    return None
                stack = state.stack
                code = frame.f_code
                lineno = frame.f_lineno
                if stack and stack[-1][CODE] is code:
                    top = stack[-1]
                else:  # a frame that was running when recording started
                    data = state.codes.get(code) or state.data_for(code)
                    if data is None or data.lines is None:
                        return None
                    top = state.enter(ns, data, lineno, False)
                if top[LINES] is not None and lineno:
                    state.line(ns, top, lineno)
            elif event == "return":
                ns = now()
                try:
                    state = local.state
                except AttributeError:
                    return None
                if state is None:
                    return None
                stack = state.stack
                if stack and stack[-1][CODE] is frame.f_code:
                    state.close_top(ns)
                else:
                    state.exit(ns, frame.f_code)
            return on_event

        return on_event
