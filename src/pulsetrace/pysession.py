"""What the Python core's two backends share: per-thread state, the function table, the verdicts and
the *slow paths* that apply the tracing controls (see ``pulsetrace.pycore`` for the rules).

Each callback has a fast path that records as issue 2 did, and one per-thread test, ``state.gate``,
that sends it here instead. The gate is open (False) unless the thread is hiding (a HIDE verdict, a
call past max_stack_depth, or a call made while paused), is paused, has no threading.Thread found
yet, or the session records something per call (max_stack_depth, min_duration, log_args,
log_retval). With every option off, the fast path is the only path.
"""

from __future__ import annotations

import sys
import threading
import types
from types import CodeType, FrameType
from typing import Any, Dict, FrozenSet, List, Optional, Set, Tuple

from . import events as ev
from .cores import CoreConfig, thread_name
from .filters import HIDE, RECORD, SKIP
from .pyframes import TAG_C, c_function_name
from .recording import FunctionInfo, ThreadRecording
from .reprs import argument_names, bounded_repr, format_arguments

PACK = ev.RECORD.pack
SHIFT = ev.KIND_BITS
FUNC_MASK = 0xFFFFFFFF
C_ITEM = TAG_C << 32
RECORD_SIZE = ev.RECORD_SIZE
GENERATOR_FLAGS = 0x20 | 0x80 | 0x200  # CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR
_THROW_METHODS = frozenset({"generator.throw", "coroutine.throw"})
_CLOSE_METHODS = frozenset({"generator.close", "coroutine.close"})
_CHUNK_BYTES = ev.RECORD_SIZE * 65536

# (function id, co_code or b"", is a generator/coroutine). Two shared entries stand for the verdicts
# that give no slice: SKIPPED (pulsetrace's own code and filters.SKIP) and HIDDEN (filters.HIDE).
CodeEntry = Tuple[int, bytes, bool]
SKIPPED: CodeEntry = (-1, b"", False)
HIDDEN: CodeEntry = (-2, b"", False)

active_threads: Dict[int, Any] = threading._active  # type: ignore[attr-defined]


class ThreadState:
    """One thread's open slices, packed records, recorded values and tracing-control state."""

    __slots__ = (
        "ident",
        "native_id",
        "thread",
        "stack",
        "buf",
        "ambiguous_end",
        "gate",
        "always",
        "hidden",
        "paused",
        "args",
        "retvals",
    )

    def __init__(self, always: bool) -> None:
        self.ident = threading.get_ident()
        self.native_id = threading.get_native_id()
        # Found by ident while the thread runs; kept, so a thread that ends still has its name.
        self.thread: Optional[Any] = active_threads.get(self.ident)
        self.stack: List[int] = []
        self.buf = bytearray()
        self.ambiguous_end = -1  # setprofile: len(buf) right after an exit record exit_kind was unsure of
        self.always = always  # the session records something per call: every event takes the slow path
        # Open Python frames of the region being hidden (0: recording). The region starts at a HIDE
        # frame, a call past max_stack_depth or a call made while paused, and ends when it exits.
        self.hidden = 0
        self.paused = False
        self.args: Dict[int, str] = {}
        self.retvals: Dict[int, str] = {}
        self.gate = True
        self.regate()

    def regate(self) -> None:
        """Recompute whether this thread's events must take the slow path."""
        self.gate = self.always or self.thread is None or self.hidden > 0 or self.paused


def close_lost_c_calls(state: ThreadState, ns: int) -> None:
    """A Python frame is leaving while C calls it made are still open (their exit event never came):
    close them first, so one lost event cannot break the nesting of everything after it."""
    stack = state.stack
    stamp = (ns << SHIFT) | ev.EXIT_RETURN
    while stack and stack[-1] >> 32 == TAG_C:
        state.buf += PACK(stamp, stack.pop() & FUNC_MASK)


class Session:
    """What one start()..stop() records: the function table and every thread's events."""

    def __init__(self, ignore: FrozenSet[CodeType], config: CoreConfig, keep_code_bytes: bool) -> None:
        self.active = False
        self.functions: List[FunctionInfo] = []
        # Keyed by id(): hashing a code object is slow. Ignored code is kept alive by ``ignore``,
        # judged code by ``_kept``, so no id is reused while the session exists.
        self.codes: Dict[int, CodeEntry] = {id(code): SKIPPED for code in ignore}
        self.c_ids: Dict[Any, int] = {}  # descriptors and module/class builtins -> function id
        self.throw_ids: Set[int] = set()  # ids of generator/coroutine throw() and close()
        self.close_ids: Set[int] = set()  # ids of generator/coroutine close()
        self.local = threading.local()
        self.threads: List[ThreadState] = []
        self.warnings: List[str] = []
        self.judge = config.code_filter
        self.max_depth = config.max_stack_depth
        self.min_ns = config.min_duration_ns
        self.log_args = config.log_args
        self.log_retval = config.log_retval
        self.repr_limit = config.repr_limit
        self.ignore_c = config.ignore_c_function
        self.sink = config.exception_sink
        self.always = bool(self.max_depth or self.min_ns or self.log_args or self.log_retval)
        self._verdicts: Dict[int, int] = {}  # code judged without being entered (its C calls, raises)
        self._arg_names: Dict[int, Tuple[str, ...]] = {}  # function id -> parameter names
        self._kept: List[CodeType] = []
        self._bound_ids: Dict[Tuple[type, str], int] = {}
        self._c_names: Dict[str, int] = {}
        self._keep_code_bytes = keep_code_bytes
        self._lock = threading.Lock()

    def install(self) -> None:
        raise NotImplementedError

    def uninstall(self) -> None:
        raise NotImplementedError

    def new_thread(self) -> ThreadState:
        state = ThreadState(self.always)
        self.local.state = state
        self.threads.append(state)
        return state

    def thread_state(self) -> ThreadState:
        try:
            state: ThreadState = self.local.state
        except AttributeError:
            state = self.new_thread()
        return state

    # -- verdicts and the function table --------------------------------------------------------

    def _judge(self, code: CodeType) -> int:
        """The code filter's verdict (RECORD without one); a filter that fails records the code."""
        verdict = self._verdicts.get(id(code))
        if verdict is None:
            verdict = RECORD
            if self.judge is not None:
                try:
                    verdict = self.judge(code)
                except Exception:  # noqa: BLE001 - a broken filter must not break the program
                    verdict = RECORD
            self._verdicts[id(code)] = verdict
            self._kept.append(code)
        return verdict

    def python_entry(self, code: CodeType) -> CodeEntry:
        """Register a code object on first sight (any thread may race here, hence the lock)."""
        with self._lock:
            entry = self.codes.get(id(code))
            if entry is None:
                verdict = self._judge(code)
                if verdict == SKIP:
                    entry = SKIPPED
                elif verdict == HIDE:
                    entry = HIDDEN
                else:
                    name = getattr(code, "co_qualname", code.co_name)
                    entry = (
                        len(self.functions),
                        code.co_code if self._keep_code_bytes else b"",
                        bool(code.co_flags & GENERATOR_FLAGS),
                    )
                    self.functions.append(
                        FunctionInfo(ev.FUNC_PYTHON, name, code.co_filename, code.co_firstlineno)
                    )
                    if self.log_args:
                        self._arg_names[entry[0]] = argument_names(code)
                self.codes[id(code)] = entry
        return entry

    def caller_skipped(self, code: CodeType) -> bool:
        """Whether a frame never entered while recording (it started before) gives no slices."""
        with self._lock:
            return self._judge(code) != RECORD

    def recorded_code(self, code: CodeType) -> bool:
        """Whether frames of ``code`` are recorded (its verdict is RECORD and it is not our own)."""
        entry = self.codes.get(id(code))
        if entry is None:
            return not self.caller_skipped(code)
        return entry[0] >= 0

    def c_function(self, func: Any) -> int:
        """The function id of a C callable not found in ``c_ids``."""
        owner = getattr(func, "__self__", None)
        bound = isinstance(func, types.BuiltinFunctionType) and not (
            owner is None or isinstance(owner, (types.ModuleType, type))
        )
        if bound:  # never keep the instance alive: cache by (its type, method name)
            key = (type(owner), str(func.__name__))
            fid = self._bound_ids.get(key)
            if fid is None:
                fid = self._c_name_id(c_function_name(func))
                self._bound_ids[key] = fid
            return fid
        fid = self._c_name_id(c_function_name(func))
        self.c_ids[func] = fid
        return fid

    def _c_name_id(self, name: str) -> int:
        with self._lock:
            fid = self._c_names.get(name)
            if fid is None:
                fid = len(self.functions)
                self.functions.append(FunctionInfo(ev.FUNC_C, name, "", 0))
                self._c_names[name] = fid
                if name in _THROW_METHODS or name in _CLOSE_METHODS:
                    self.throw_ids.add(fid)
                if name in _CLOSE_METHODS:
                    self.close_ids.add(fid)
        return fid

    # -- pause / resume -------------------------------------------------------------------------

    def set_paused(self, paused: bool) -> None:
        state = self.thread_state()
        state.paused = paused
        state.regate()

    # -- the slow paths (state.gate is set) -----------------------------------------------------

    def hide(self, state: ThreadState) -> None:
        """A frame whose code is HIDDEN starts or resumes: hide it and what it calls."""
        state.hidden += 1
        state.gate = True

    def enter(self, state: ThreadState, ns: int, kind: int, item: int, frame: Optional[FrameType]) -> None:
        """A recordable Python frame starts or resumes (``item`` is its stack item)."""
        stack = state.stack
        if state.hidden or state.paused or (self.max_depth and len(stack) >= self.max_depth):
            state.hidden += 1
            state.gate = True
            return
        buf = state.buf
        index = len(buf) // RECORD_SIZE
        fid = item & FUNC_MASK
        stack.append(item)
        buf += PACK((ns << SHIFT) | kind, fid)
        if kind == ev.ENTER_CALL and self.log_args:
            if frame is None:  # sys.monitoring: the frame starting is the caller of the callback
                frame = sys._getframe(2)
            self._record_args(state, index, fid, frame)
        if state.thread is None:
            self._find_thread(state)

    def _record_args(self, state: ThreadState, index: int, fid: int, frame: FrameType) -> None:
        names = self._arg_names.get(fid)
        entry = self.codes.get(id(frame.f_code))
        if names is None or entry is None or entry[0] != fid:  # not the frame of this call
            return
        try:
            f_locals = frame.f_locals
        except Exception:  # noqa: BLE001 - never let reading a frame break the program
            return
        state.args[index] = format_arguments(names, f_locals.__getitem__, self.repr_limit)

    def _find_thread(self, state: ThreadState) -> None:
        state.thread = active_threads.get(state.ident)
        state.regate()

    def leave(self, state: ThreadState) -> bool:
        """A Python frame exits: True when it was hidden (nothing to record)."""
        if state.hidden:
            state.hidden -= 1
            if not state.hidden:
                state.regate()
            return True
        return False

    def exit(self, state: ThreadState, ns: int, kind: int, value: Any) -> None:
        """A Python frame exits (sys.monitoring): close its slice."""
        if self.leave(state):
            return
        stack = state.stack
        if stack and stack[-1] >> 32 == TAG_C:
            close_lost_c_calls(state, ns)
        if stack:
            self.write_exit(state, ns, kind, stack.pop() & FUNC_MASK, value, True)

    def write_exit(self, state: ThreadState, ns: int, kind: int, fid: int, value: Any, python: bool) -> bool:
        """Write the exit of the innermost slice, or with min_duration remove a short slice's entry
        when it is the last record (nothing was recorded inside it). True when the exit was written."""
        buf = state.buf
        if self.min_ns and buf:
            at = len(buf) - RECORD_SIZE
            stamp = int.from_bytes(buf[at : at + 8], "little")
            if stamp & ev.KIND_MASK < ev.EXIT_RETURN and ns - (stamp >> SHIFT) < self.min_ns:
                del buf[at:]
                if state.args:
                    state.args.pop(at // RECORD_SIZE, None)
                return False
        if python and kind == ev.EXIT_RETURN and self.log_retval:
            state.retvals[len(buf) // RECORD_SIZE] = bounded_repr(value, self.repr_limit)
        buf += PACK((ns << SHIFT) | kind, fid)
        return True

    def c_enter(self, state: ThreadState, ns: int, func: Any) -> None:
        """A C function is called from a recordable frame."""
        stack = state.stack
        if state.hidden or state.paused or (self.max_depth and len(stack) >= self.max_depth):
            return  # a C call past the depth limit: its Python callees are deeper still
        fid = self.c_ids.get(func)
        if fid is None:
            fid = self.c_function(func)
        stack.append(fid | C_ITEM)
        state.buf += PACK((ns << SHIFT) | ev.ENTER_C, fid)
        if state.thread is None:
            self._find_thread(state)

    def c_exit(self, state: ThreadState, ns: int, kind: int) -> None:
        """A C function called from a recordable frame returns or raises."""
        stack = state.stack
        if not state.hidden and stack and stack[-1] >> 32 == TAG_C:
            self.write_exit(state, ns, kind, stack.pop() & FUNC_MASK, None, False)

    def exception(self, exc: BaseException, code: CodeType, lineno: int) -> None:
        """Hand an exception raised in a frame of ``code`` to the sink, if that frame is recorded."""
        sink = self.sink
        if sink is None or not self.active or not self.recorded_code(code):
            return
        state = getattr(self.local, "state", None)
        if state is not None and (state.hidden or state.paused):
            return
        try:
            sink(exc, code, lineno)
        except Exception:  # noqa: BLE001 - the sink's failure is not the program's
            pass

    # -- stop -----------------------------------------------------------------------------------

    def finish(self, stop_ns: int) -> List[ThreadRecording]:
        """Close every open slice with EXIT_STOP and hand the records over as chunks."""
        stop_stamp = (stop_ns << SHIFT) | ev.EXIT_STOP
        recorded: List[ThreadRecording] = []
        for state in self.threads:
            stack, buf = state.stack, state.buf
            while stack:
                buf += PACK(stop_stamp, stack.pop() & FUNC_MASK)
            if not buf:
                continue
            data = bytes(buf)
            chunks = [data[i : i + _CHUNK_BYTES] for i in range(0, len(data), _CHUNK_BYTES)]
            name = thread_name(state.ident, state.native_id, state.thread)
            recording = ThreadRecording(state.ident, state.native_id, name, chunks)
            recording.args, recording.retvals = state.args, state.retvals
            recorded.append(recording)
        return recorded
