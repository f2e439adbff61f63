"""The Python core's setprofile backend (every version): the profile hook in the thread that starts
recording and in threads started later, plus a trace function for exceptions when a sink is set."""

from __future__ import annotations

import sys
import threading
import time
from types import CodeType, FrameType
from typing import Any, Callable, FrozenSet, Optional

from . import events as ev
from .cores import CoreConfig
from .pyframes import (
    AMBIGUOUS,
    C_CALLABLE_TYPES,
    TAG_C,
    TAG_THROWN,
    exit_kind,
    is_resumption,
    resumed_by_throw,
)
from .pysession import (
    C_ITEM,
    FUNC_MASK,
    HIDDEN,
    PACK,
    RECORD_SIZE,
    SHIFT,
    SKIPPED,
    CodeEntry,
    Session,
    ThreadState,
    close_lost_c_calls,
)

TraceFunction = Callable[[FrameType, str, Any], Any]

# Before 3.12 an exception's __traceback__ is set only once a handler catches it; the trace function
# sees the traceback being built, and hands it to the sink on the exception (as 3.12+ has it).
_SYNC_TRACEBACK = sys.version_info < (3, 12)


class ProfileSession(Session):
    """Records through the profile hook: this thread now, threads started from now on."""

    def __init__(self, ignore: FrozenSet[CodeType], config: CoreConfig) -> None:
        super().__init__(ignore, config, keep_code_bytes=True)
        self.hook_lost = False
        self._start_ident = 0
        self._previous_profile: Any = None
        self._previous_thread_profile: Any = None
        self._tracing = False  # the exception trace function is installed
        self.hook = self._make_hook()
        self.trace_call, self.trace_local = self._make_trace()

    def install(self) -> None:
        self._start_ident = threading.get_ident()
        self._previous_profile = sys.getprofile()
        self._previous_thread_profile = getattr(threading, "_profile_hook", None)
        threading.setprofile(self.hook)
        self.active = True
        if self.sink is not None:
            self._install_trace()
        sys.setprofile(self.hook)

    def uninstall(self) -> None:
        current = sys.getprofile()
        if current is self.hook:
            sys.setprofile(self._previous_for_this_thread())
        elif getattr(self.local, "state", None) is not None:
            self.hook_lost = True  # removed (a RecursionError in the hook) or replaced by the program
        self.active = False
        threading.setprofile(self._previous_thread_profile)
        if self._tracing:
            self._uninstall_trace()

    def _previous_for_this_thread(self) -> Any:
        if threading.get_ident() == self._start_ident:
            return self._previous_profile
        return self._previous_thread_profile

    # -- exceptions: a trace function, never displacing another one --------------------------------

    def _install_trace(self) -> None:
        current = sys.gettrace()
        if current is None:
            current = getattr(threading, "_trace_hook", None)
        if current is not None:
            self.warnings.append(
                f"log_exceptions: another trace function is installed ({current!r}, a debugger or coverage "
                "tool); pulsetrace did not replace it, so exceptions were not recorded with the setprofile "
                "backend"
            )
            return
        self._tracing = True
        # Frames already running get no 'call' event: give the recorded ones the local function too.
        # Judged before the trace function is set: the filter's own calls would otherwise reach it
        # here, outside any callback, and wait on the verdict lock this thread holds.
        frame: Optional[FrameType] = sys._getframe(1)
        while frame is not None:
            if self.recorded_code(frame.f_code):
                frame.f_trace_lines = False
                frame.f_trace = self.trace_local
            frame = frame.f_back
        threading.settrace(self.trace_call)
        sys.settrace(self.trace_call)

    def _uninstall_trace(self) -> None:
        self._tracing = False
        if sys.gettrace() is self.trace_call:
            sys.settrace(None)
        threading.settrace(None)  # type: ignore[arg-type]
        frame: Optional[FrameType] = sys._getframe(1)
        while frame is not None:
            if frame.f_trace is self.trace_local:
                frame.f_trace = None
            frame = frame.f_back

    def _make_trace(self) -> tuple[TraceFunction, TraceFunction]:
        session, recorded_code, exception = self, self.recorded_code, self.exception

        def trace_local(frame: FrameType, event: str, arg: Any) -> Any:
            if event == "exception" and session.active:
                exc = arg[1]
                if isinstance(exc, BaseException):
                    if _SYNC_TRACEBACK and exc.__traceback__ is not arg[2]:
                        exc.__traceback__ = arg[2]
                    exception(exc, frame.f_code, frame.f_lineno or 0)
            return trace_local

        def trace_call(frame: FrameType, event: str, arg: Any) -> Any:
            if not session.active:  # recording stopped while this thread still had the function
                if sys.gettrace() is trace_call:
                    sys.settrace(None)
                return None
            if not recorded_code(frame.f_code):
                return None
            frame.f_trace_lines = False
            return trace_local

        return trace_call, trace_local

    # -- the profile hook -------------------------------------------------------------------------

    def _exit_slow(
        self, state: ThreadState, ns: int, frame: FrameType, arg: Any, entry: Optional[CodeEntry]
    ) -> None:
        if self.leave(state):
            return
        stack = state.stack
        if stack and stack[-1] >> 32 == TAG_C:
            close_lost_c_calls(state, ns)
        if not stack:
            return
        co_code = entry[1] if entry is not None else frame.f_code.co_code
        item = stack.pop()
        kind = exit_kind(co_code, frame.f_lasti, item >> 32, arg)
        if self.write_exit(state, ns, kind & ev.KIND_MASK, item & FUNC_MASK, arg, True) and kind & AMBIGUOUS:
            state.ambiguous_end = len(state.buf)

    def _c_exit_slow(self, state: ThreadState, ns: int, kind: int) -> None:
        if state.hidden:
            return
        fid = state.stack.pop() & FUNC_MASK
        buf = state.buf
        if state.ambiguous_end == len(buf) and fid in self.throw_ids:
            _correct_thrown_exit(buf, fid in self.close_ids, kind)
        self.write_exit(state, ns, kind, fid, None, False)

    def _make_hook(self) -> Callable[[FrameType, str, Any], None]:
        local, codes, now = self.local, self.codes, time.monotonic_ns
        new_thread, python_entry, hide = self.new_thread, self.python_entry, self.hide
        c_ids, c_function, throw_ids, close_ids = self.c_ids, self.c_function, self.throw_ids, self.close_ids
        judge, caller_skipped, ignore_c = self.judge, self.caller_skipped, self.ignore_c
        enter_slow, exit_slow = self.enter, self._exit_slow
        c_enter_slow, c_exit_slow = self.c_enter, self._c_exit_slow
        session = self

        def hook(frame: FrameType, event: str, arg: Any) -> None:
            if not session.active:
                # Recording stopped while this thread still had the hook: take it out.
                if sys.getprofile() is hook:
                    sys.setprofile(session._previous_for_this_thread())
                return
            ns = now()
            try:
                state = local.state
            except AttributeError:
                state = new_thread()
            stack = state.stack
            if event == "call":
                code = frame.f_code
                entry = codes.get(id(code))
                if entry is None:
                    entry = python_entry(code)
                fid, co_code, generator_like = entry
                if fid < 0:
                    if entry is HIDDEN:
                        hide(state)
                    return
                kind, item = ev.ENTER_CALL, fid
                if generator_like:
                    lasti = frame.f_lasti
                    if is_resumption(co_code, lasti):
                        kind = ev.ENTER_RESUME
                        if resumed_by_throw(co_code, lasti) or (
                            stack and stack[-1] >> 32 == TAG_C and stack[-1] & FUNC_MASK in throw_ids
                        ):
                            item = fid | (TAG_THROWN + lasti) << 32
                if state.gate:
                    enter_slow(state, ns, kind, item, frame)
                    return
                stack.append(item)
                state.buf += PACK((ns << SHIFT) | kind, fid)
            elif event == "return":
                code = frame.f_code
                entry = codes.get(id(code))
                if entry is SKIPPED:
                    return
                if state.gate:
                    exit_slow(state, ns, frame, arg, entry)
                    return
                if not stack:
                    return
                if stack[-1] >> 32 == TAG_C:
                    close_lost_c_calls(state, ns)
                    if not stack:
                        return
                co_code = entry[1] if entry is not None else code.co_code
                item = stack.pop()
                kind = exit_kind(co_code, frame.f_lasti, item >> 32, arg)
                state.buf += PACK((ns << SHIFT) | (kind & ev.KIND_MASK), item & FUNC_MASK)
                if kind & AMBIGUOUS:
                    state.ambiguous_end = len(state.buf)
            elif event == "c_call":
                if ignore_c or not isinstance(arg, C_CALLABLE_TYPES):
                    return
                code = frame.f_code
                entry = codes.get(id(code))
                if entry is SKIPPED or (entry is None and judge is not None and caller_skipped(code)):
                    return
                if state.gate:
                    c_enter_slow(state, ns, arg)
                    return
                c_fid = c_ids.get(arg)
                if c_fid is None:
                    c_fid = c_function(arg)
                stack.append(c_fid | C_ITEM)
                state.buf += PACK((ns << SHIFT) | ev.ENTER_C, c_fid)
            elif stack and stack[-1] >> 32 == TAG_C:  # c_return, c_exception
                if not isinstance(arg, C_CALLABLE_TYPES) or codes.get(id(frame.f_code)) is SKIPPED:
                    return
                kind = ev.EXIT_RETURN if event == "c_return" else ev.EXIT_UNWIND
                if state.gate:
                    c_exit_slow(state, ns, kind)
                    return
                fid = stack.pop() & FUNC_MASK
                buf = state.buf
                if state.ambiguous_end == len(buf) and fid in throw_ids:
                    _correct_thrown_exit(buf, fid in close_ids, kind)
                buf += PACK((ns << SHIFT) | kind, fid)

        return hook


def _correct_thrown_exit(buf: bytearray, is_close: bool, kind: int) -> None:
    """The generator's exit was the last record: throw() returning (close() raising) means it
    yielded; throw() raising (close() returning) means it ended."""
    yielded = is_close == (kind == ev.EXIT_UNWIND)
    at = len(buf) - RECORD_SIZE  # the stamp's low byte holds the kind
    buf[at] = (buf[at] & ~ev.KIND_MASK) | (ev.EXIT_YIELD if yielded else ev.EXIT_UNWIND)
