"""Line events through ``sys.monitoring`` (3.12+): a tool id of its own, beside the core's.

PY_START, PY_RESUME and PY_THROW put a frame on the thread's stack; PY_RETURN, PY_YIELD and PY_UNWIND
take it off; LINE moves the frame's open line. Code that is summarised per function returns DISABLE
from LINE (so its lines cost nothing after the first), and pulsetrace's own code returns DISABLE from
every event that allows it. ``restart_events()`` at install undoes an earlier session's DISABLEs.
"""

from __future__ import annotations

import sys
from types import CodeType
from typing import Any, Callable, Dict

from ..toolids import claim_free_tool_id
from .accounting import CODE, LINES, PythonLineBackend

TOOL_NAME = "pulsetrace lines"
TOOL_IDS = (5, 3, 4, 2, 1, 0)  # the core tries 4 first: start elsewhere so both usually get their first pick

_monitoring: Any = getattr(sys, "monitoring", None)


class NoToolIdError(RuntimeError):
    """Every sys.monitoring tool id is taken."""


class MonitoringLines(PythonLineBackend):
    """Counts lines of every thread through one sys.monitoring tool id."""

    name = "monitoring"

    def __init__(self, detail: Callable[[CodeType], Any], clock: Callable[[], int]) -> None:
        super().__init__(detail, clock)
        self.tool_id = -1
        self._callbacks: Dict[int, Callable[..., Any]] = {}

    def install(self) -> None:
        monitoring = _monitoring
        callbacks = self.make_callbacks()
        tool_id = claim_free_tool_id(TOOL_IDS, TOOL_NAME)
        if tool_id is not None:
            self.tool_id = tool_id
        else:
            raise NoToolIdError("no free sys.monitoring tool id for line statistics (ids 0-5 are all in use)")
        self._callbacks = callbacks
        mask = 0
        try:
            for event, callback in self._callbacks.items():
                monitoring.register_callback(self.tool_id, event, callback)
                mask |= event
            monitoring.restart_events()
            monitoring.set_events(self.tool_id, mask)
        except BaseException:
            self.uninstall()
            raise

    @staticmethod
    def events() -> Any:
        """sys.monitoring.events."""
        return _monitoring.events

    def make_callbacks(self) -> Dict[int, Callable[..., Any]]:
        """{event: callback} to register: one callback per event that starts, moves or ends a frame."""
        events = self.events()
        return {
            events.PY_START: self._enter(resumed=False, can_disable=True),
            events.PY_RESUME: self._enter(resumed=True, can_disable=True),
            events.PY_THROW: self._enter(resumed=True, can_disable=False),  # cannot be DISABLEd
            events.PY_RETURN: self._exit(can_disable=True),
            events.PY_YIELD: self._exit(can_disable=True),
            events.PY_UNWIND: self._exit(can_disable=False),
            events.LINE: self._line(),
        }

    def uninstall(self) -> None:
        monitoring = _monitoring
        if self.tool_id < 0:
            return
        monitoring.set_events(self.tool_id, 0)
        for event in self._callbacks:
            monitoring.register_callback(self.tool_id, event, None)
        monitoring.free_tool_id(self.tool_id)
        self._callbacks = {}
        self.tool_id = -1

    # The callbacks are closures over locals: they run for every event, so every lookup counts.

    def _enter(self, resumed: bool, can_disable: bool) -> Callable[..., Any]:
        local, now, new_thread = self._local, self._clock, self._new_thread
        disable = _monitoring.DISABLE if can_disable else None

        def on_enter(code: CodeType, offset: int, *_: Any) -> Any:
            ns = now()
            try:
                state = local.state
            except AttributeError:
                state = new_thread()
            if state is None:  # an ignored thread
                return None
            data = state.codes.get(code)
            if data is None:
                data = state.data_for(code)
                if data is None:
                    return disable
            # A resumed frame goes on at the line it stopped at; no LINE event says which.
            state.enter(ns, data, (sys._getframe(1).f_lineno or 0) if resumed else 0, not resumed)
            return None

        return on_enter

    def _exit(self, can_disable: bool) -> Callable[..., Any]:
        local, now = self._local, self._clock
        disable = _monitoring.DISABLE if can_disable else None

        def on_exit(code: CodeType, offset: int, value: Any) -> Any:
            ns = now()
            try:
                state = local.state
            except AttributeError:
                return None
            if state is None:
                return None
            if code not in state.codes and state.detail(code) is None:
                return disable
            stack = state.stack
            if stack and stack[-1][CODE] is code:
                state.close_top(ns)
            else:
                state.exit(ns, code)
            return None

        return on_exit

    def _line(self) -> Callable[..., Any]:
        local, now, new_thread = self._local, self._clock, self._new_thread
        disable = _monitoring.DISABLE

        def on_line(code: CodeType, lineno: int) -> Any:
            ns = now()
            try:
                state = local.state
            except AttributeError:
                state = new_thread()
            if state is None:  # an ignored thread
                return None
            stack = state.stack
            if stack and stack[-1][CODE] is code:
                frame = stack[-1]
            else:  # a frame that began before recording: it joins the stack now
                data = state.codes.get(code)
                if data is None:
                    data = state.data_for(code)
                if data is None or data.lines is None:
                    return disable
                frame = state.enter(ns, data, lineno, False)
            if frame[LINES] is None:
                return disable
            state.line(ns, frame, lineno)
            return None

        return on_line
