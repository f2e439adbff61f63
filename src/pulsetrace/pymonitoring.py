"""The Python core's sys.monitoring backend (3.12+): one tool id, callbacks for every thread."""

from __future__ import annotations

import sys
import time
from types import CodeType
from typing import Any, Callable, Dict, FrozenSet

from . import events as ev
from .cores import CoreConfig, CoreError
from .pyframes import C_CALLABLE_TYPES, TAG_C
from .pysession import (
    C_ITEM,
    FUNC_MASK,
    HIDDEN,
    PACK,
    SHIFT,
    SKIPPED,
    Session,
    close_lost_c_calls,
)
from .toolids import claim_free_tool_id

TOOL_NAME = "pulsetrace"
TOOL_IDS = (4, 3, 5, 2, 1, 0)  # general-purpose ids first; 0-2 and 5 are customary for other tools

_monitoring: Any = getattr(sys, "monitoring", None)


class MonitoringSession(Session):
    """Records through sys.monitoring: PY_* events always, C events unless ignore_c_function, RAISE
    only when an exception sink is set."""

    def __init__(self, ignore: FrozenSet[CodeType], config: CoreConfig) -> None:
        super().__init__(ignore, config, keep_code_bytes=False)
        self.tool_id = -1
        self._events: Dict[int, Callable[..., Any]] = {}

    def install(self) -> None:
        monitoring = _monitoring
        tool_id = claim_free_tool_id(TOOL_IDS, TOOL_NAME)
        if tool_id is not None:
            self.tool_id = tool_id
        else:
            holders = ", ".join(f"{i}={monitoring.get_tool(i)!r}" for i in sorted(TOOL_IDS))
            raise CoreError(
                f"no free sys.monitoring tool id: ids 0-5 are all in use ({holders}); stop one of those "
                "tools or record with PULSETRACE_BACKEND=setprofile"
            )
        events = monitoring.events
        self._events = {
            events.PY_START: self._enter(ev.ENTER_CALL, True),
            events.PY_RESUME: self._enter(ev.ENTER_RESUME, True),
            events.PY_THROW: self._enter(ev.ENTER_RESUME, False),  # PY_THROW and PY_UNWIND cannot
            events.PY_RETURN: self._exit(ev.EXIT_RETURN, True),  # be DISABLEd (ValueError)
            events.PY_YIELD: self._exit(ev.EXIT_YIELD, True),
            events.PY_UNWIND: self._exit(ev.EXIT_UNWIND, False),
        }
        if not self.ignore_c:  # not even delivered: C calls then cost nothing
            self._events[events.CALL] = self._c_enter()
            self._events[events.C_RETURN] = self._c_exit(ev.EXIT_RETURN)
            self._events[events.C_RAISE] = self._c_exit(ev.EXIT_UNWIND)
        if self.sink is not None:
            self._events[events.RAISE] = self._raise()
        mask = 0
        try:
            for event, callback in self._events.items():
                monitoring.register_callback(self.tool_id, event, callback)
                mask |= event
            monitoring.restart_events()  # a DISABLE returned in an earlier session would otherwise persist
            self.active = True
            monitoring.set_events(self.tool_id, mask)
        except BaseException:
            self.uninstall()
            raise

    def uninstall(self) -> None:
        monitoring = _monitoring
        monitoring.set_events(self.tool_id, 0)
        self.active = False
        for event in self._events:
            monitoring.register_callback(self.tool_id, event, None)
        if monitoring.get_tool(self.tool_id) == TOOL_NAME:
            monitoring.free_tool_id(self.tool_id)
        self._events = {}
        self.tool_id = -1

    # The callbacks are closures over locals: they run for every event, so every lookup counts. The
    # fast path is issue 2's; ``state.gate`` sends an event to the session's slow path. Code whose
    # verdict is SKIPPED (outside include_files, frozen with ignore_frozen, pulsetrace's own) never
    # goes on the stack, so its events return DISABLE where sys.monitoring allows it: after the first
    # call it runs at untraced speed. restart_events() at install() undoes that for the next session.

    def _enter(self, kind: int, can_disable: bool) -> Callable[..., Any]:
        local, codes, now = self.local, self.codes, time.monotonic_ns
        new_thread, python_entry = self.new_thread, self.python_entry
        slow, hide = self.enter, self.hide
        disable = _monitoring.DISABLE if can_disable else None

        def on_enter(code: CodeType, offset: int, *_: Any) -> Any:
            ns = now()
            entry = codes.get(id(code))
            if entry is None:
                entry = python_entry(code)
            fid = entry[0]
            if fid < 0:
                if entry is HIDDEN:
                    try:
                        hide(local.state)
                    except AttributeError:
                        hide(new_thread())
                    return None
                return disable
            try:
                state = local.state
            except AttributeError:
                state = new_thread()
            if state.gate:
                slow(state, ns, kind, fid, None)
                return
            state.stack.append(fid)
            state.buf += PACK((ns << SHIFT) | kind, fid)

        return on_enter

    def _exit(self, kind: int, can_disable: bool) -> Callable[..., Any]:
        local, codes, now = self.local, self.codes, time.monotonic_ns
        slow = self.exit
        disable = _monitoring.DISABLE if can_disable else None

        def on_exit(code: CodeType, offset: int, value: Any) -> Any:
            ns = now()
            if codes.get(id(code)) is SKIPPED:
                return disable
            try:
                state = local.state
            except AttributeError:
                return
            if state.gate:
                slow(state, ns, kind, value)
                return
            stack = state.stack
            if stack and stack[-1] >> 32 == TAG_C:
                close_lost_c_calls(state, ns)
            if stack:
                state.buf += PACK((ns << SHIFT) | kind, stack.pop() & FUNC_MASK)

        return on_exit

    def _c_enter(self) -> Callable[..., Any]:
        local, codes, now = self.local, self.codes, time.monotonic_ns
        new_thread, c_ids, c_function = self.new_thread, self.c_ids, self.c_function
        judge, caller_skipped, slow = self.judge, self.caller_skipped, self.c_enter
        disable = _monitoring.DISABLE

        def on_call(code: CodeType, offset: int, func: Any, arg0: Any) -> Any:
            # A call made by skipped code is not recorded, whatever the callee: stop reporting it.
            if not isinstance(func, C_CALLABLE_TYPES):
                return disable if codes.get(id(code)) is SKIPPED else None
            entry = codes.get(id(code))
            if entry is SKIPPED or (entry is None and judge is not None and caller_skipped(code)):
                return disable
            ns = now()
            try:
                state = local.state
            except AttributeError:
                state = new_thread()
            if state.gate:
                slow(state, ns, func)
                return
            fid = c_ids.get(func)
            if fid is None:
                fid = c_function(func)
            state.stack.append(fid | C_ITEM)
            state.buf += PACK((ns << SHIFT) | ev.ENTER_C, fid)

        return on_call

    def _c_exit(self, kind: int) -> Callable[..., None]:
        local, codes, now = self.local, self.codes, time.monotonic_ns
        slow = self.c_exit

        def on_c_exit(code: CodeType, offset: int, func: Any, arg0: Any) -> None:
            ns = now()
            if not isinstance(func, C_CALLABLE_TYPES) or codes.get(id(code)) is SKIPPED:
                return
            try:
                state = local.state
            except AttributeError:
                return
            if state.gate:
                slow(state, ns, kind)
                return
            stack = state.stack
            if stack and stack[-1] >> 32 == TAG_C:
                state.buf += PACK((ns << SHIFT) | kind, stack.pop() & FUNC_MASK)

        return on_c_exit

    def _raise(self) -> Callable[..., None]:
        exception = self.exception

        def on_raise(code: CodeType, offset: int, exc: BaseException) -> None:
            exception(exc, code, sys._getframe(1).f_lineno or 0)

        return on_raise
