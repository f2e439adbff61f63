"""The pure-Python core: the C core's events, recorded with Python callbacks.

It is the fallback when the C extension is missing and the oracle the C core is checked against
(tests/test_cross_core.py), so its rules are written down here for the C core to mirror.

Backends
  ``monitoring`` (3.12+): a free ``sys.monitoring`` tool id, tried in the order 4, 3, 5, 2, 1, 0 (an id
  another tool holds is never taken or freed). PY_START -> ENTER_CALL; PY_RESUME and PY_THROW ->
  ENTER_RESUME; PY_RETURN -> EXIT_RETURN; PY_YIELD -> EXIT_YIELD; PY_UNWIND -> EXIT_UNWIND; CALL of a
  C callable -> ENTER_C; C_RETURN -> EXIT_RETURN; C_RAISE -> EXIT_UNWIND. Threads that were already
  running when recording starts are recorded from their next event on.

  ``setprofile`` (every version): ``sys.setprofile`` in the thread that starts recording and
  ``threading.setprofile`` for threads started later. ``call`` -> ENTER_CALL, or ENTER_RESUME when a
  generator, coroutine or async generator frame continues after a yield; ``c_call`` -> ENTER_C;
  ``c_return`` -> EXIT_RETURN; ``c_exception`` -> EXIT_UNWIND. A ``return`` is classified by the
  instruction the frame stopped at (see ``_exit_kind``): a return instruction -> EXIT_RETURN, a yield
  point -> EXIT_YIELD, anything else (the instruction that raised) -> EXIT_UNWIND. A Python profile
  function is not told that an exception is leaving, which matters once: a generator thrown into
  that leaves from the yield point it was resumed at, yielding None, either let the exception through
  or caught it and yielded None again. Such a throw is seen when ``throw()``/``close()`` was called
  from Python (that C call is the innermost slice), and on 3.11/3.12 also from the resume position;
  the exit is then recorded as EXIT_UNWIND and corrected to EXIT_YIELD when the throw() call returns
  (or the close() call raises). A throw made by C code (asyncio cancelling a task) on 3.9, 3.10 or
  3.13 is not seen, and an uncaught one is recorded as EXIT_YIELD.

Rules shared by both backends
  - A *C callable* is a ``builtin_function_or_method`` (``types.BuiltinFunctionType``, bound builtin
    methods such as ``[].append`` included) or a ``method_descriptor`` (``types.MethodDescriptorType``).
    Calls of anything else (classes, slot wrappers, Python functions) are not C entries. C functions
    are named by ``c_function_name``; Python functions by code object (``co_qualname``, or ``co_name``
    before 3.11), one function-table row per code object.
  - Each thread keeps a stack of open slices. An exit with an empty stack is ignored (its frame began
    before recording). A C exit closes the innermost slice only when the callable is a C callable
    and that slice is a C entry (C_RETURN also follows the call of a class, which was never entered).
    A Python exit closes the innermost Python slice; C slices still open above it (their exit event
    never came) are closed first, with EXIT_RETURN at the same time.
  - Frames whose code is in ``ignore`` (the tracer's start/stop path, and this module's own code) are
    not recorded: neither their entry nor their exit, nor the C calls they make directly.
  - At stop, each thread's open slices are closed innermost first with EXIT_STOP records stamped
    with the stop time. Timestamps are ``time.monotonic_ns()``.

Limitation (setprofile only): the interpreter removes a Python profile function that raises, and a
program that reaches the recursion limit makes the call of the profile function itself raise
RecursionError. The thread then stops being recorded; ``stop()`` warns when it sees that this happened
in the calling thread. The monitoring backend keeps its callbacks and stays balanced.
"""

from __future__ import annotations

import dis
import inspect
import sys
import threading
import time
import types
import warnings
from types import CodeType, FrameType
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Set, Tuple

from . import events as ev
from .cores import BACKENDS, CoreConfig, CoreError, thread_name
from .recording import FunctionInfo, Recording, ThreadRecording

TOOL_NAME = "pulsetrace"
TOOL_IDS = (4, 3, 5, 2, 1, 0)  # general-purpose ids first; 0-2 and 5 are customary for other tools
C_CALLABLE_TYPES = (types.BuiltinFunctionType, types.MethodDescriptorType)

_PACK = ev.RECORD.pack
_SHIFT = ev.KIND_BITS
_FUNC_MASK = 0xFFFFFFFF
# A stack item is ``func | tag << 32``: tag 0 is a Python slice, tag 1 a C slice, and tag 2 + lasti a
# Python slice resumed by throw()/close() at instruction offset ``lasti`` (setprofile only).
_TAG_C = 1
_C_ITEM = _TAG_C << 32
_TAG_THROWN = 2
_GENERATOR_FLAGS = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR
_THROW_METHODS = frozenset({"generator.throw", "coroutine.throw"})
_CLOSE_METHODS = frozenset({"generator.close", "coroutine.close"})
_CHUNK_BYTES = ev.RECORD_SIZE * 65536

# (function id, co_code or b"", is a generator/coroutine); function id -1 marks ignored code.
_CodeEntry = Tuple[int, bytes, bool]
_IGNORED: _CodeEntry = (-1, b"", False)

_active_threads: Dict[int, Any] = threading._active  # type: ignore[attr-defined]
_monitoring: Any = None
if sys.version_info >= (3, 12):
    _monitoring = sys.monitoring


def c_function_name(func: Any) -> str:
    """The function-table name of a C callable; the C core applies the same rules in the same order.

    1. A method descriptor (``list.append`` as the CALL event sees it): its ``__qualname__``, which is
       ``__objclass__.__qualname__`` + "." + ``__name__``: "list.append", "str.join", "dict.get".
    2. A builtin whose ``__self__`` is None or a module: the module name + "." + ``__qualname__``
       ("builtins.len", "time.sleep", "_functools.reduce", "math.sqrt"). The module name is
       ``__module__`` when that is a str, else the ``__name__`` of the module in ``__self__``; when
       there is no such str, or it is empty, the name is the bare ``__qualname__``.
    3. Any other builtin (bound to a class or an instance): its ``__qualname__``, which is the
       ``__qualname__`` of the class (``__self__`` itself when it is a class, else ``type(__self__)``)
       + "." + ``__name__``: "dict.fromkeys", "list.append" for ``[].append``, "MyList.append" for
       an instance of a list subclass.
    If ``__qualname__`` is not a str, ``__name__`` is used instead, and "?" when neither is.
    """
    qualname = getattr(func, "__qualname__", None)
    if not isinstance(qualname, str):
        qualname = getattr(func, "__name__", None)
        if not isinstance(qualname, str):
            return "?"
    if not isinstance(func, types.BuiltinFunctionType):
        return qualname  # a method descriptor
    owner = func.__self__
    if owner is not None and not isinstance(owner, types.ModuleType):
        return qualname
    module = getattr(func, "__module__", None)
    if not isinstance(module, str) and owner is not None:
        module = getattr(owner, "__name__", None)
    if not isinstance(module, str) or not module:
        return qualname
    return f"{module}.{qualname}"


# -- reading a frame's position (setprofile backend) -----------------------------------------------

_OP = dis.opmap
_RETURN_OPS = frozenset(_OP[name] for name in ("RETURN_VALUE", "RETURN_CONST") if name in _OP)
_YIELD_VALUE = _OP["YIELD_VALUE"]
_YIELD_FROM = _OP.get("YIELD_FROM", -1)  # 3.9, 3.10
_RESUME = _OP.get("RESUME", -1)  # 3.11+
_RESUME_WHERE_MASK = 3  # RESUME's oparg: 0 function start, 1 after yield, 2 after yield from, 3 after await


def _opcode(co_code: bytes, lasti: int) -> int:
    return co_code[lasti] if 0 <= lasti < len(co_code) else -1


def _is_resumption(co_code: bytes, lasti: int) -> bool:
    """Whether a 'call' event of a generator-like frame continues it rather than starts it."""
    if _RESUME < 0:  # 3.9, 3.10: a frame that has not run yet has f_lasti -1
        return lasti >= 0
    # 3.11+: a start stops at RESUME 0; a resumption at RESUME 1-3, or elsewhere when thrown into.
    return _opcode(co_code, lasti) != _RESUME or co_code[lasti + 1] & _RESUME_WHERE_MASK != 0


def _resumed_by_throw(co_code: bytes, lasti: int) -> bool:
    """3.11 and 3.12 show a throw(): the frame is still at its YIELD_VALUE, not at the RESUME after it."""
    return (3, 11) <= sys.version_info < (3, 13) and _opcode(co_code, lasti) == _YIELD_VALUE


def _is_yield_point(co_code: bytes, lasti: int, op: int) -> bool:
    """Whether a frame that leaves at ``lasti`` suspends there (a yield, yield from or await)."""
    if sys.version_info >= (3, 13):  # the frame is left at the RESUME that follows its YIELD_VALUE
        return op == _RESUME and co_code[lasti + 1] & _RESUME_WHERE_MASK != 0
    if op == _YIELD_VALUE:
        return True
    # 3.9/3.10: a frame suspended in YIELD_FROM is rewound to the instruction before it.
    return _YIELD_FROM >= 0 and op != _YIELD_FROM and _opcode(co_code, lasti + 2) == _YIELD_FROM


_AMBIGUOUS = 8  # added to an exit kind that a later event may correct (see _exit_kind)


def _exit_kind(co_code: bytes, lasti: int, tag: int, value: Any) -> int:
    """The exit kind of a 'return' event, from where the frame stopped and how it was resumed.

    A frame thrown into (tag) that leaves from the yield point it was resumed at with the value None
    either did not catch the exception (EXIT_UNWIND) or caught it and looped back to yield None
    again. It is recorded as EXIT_UNWIND plus ``_AMBIGUOUS``: when the throw()/close() call that
    resumed it ends next, its outcome tells which it was.
    """
    op = _opcode(co_code, lasti)
    if op in _RETURN_OPS:
        return ev.EXIT_RETURN
    if op < 0 or not _is_yield_point(co_code, lasti, op):
        return ev.EXIT_UNWIND
    if tag >= _TAG_THROWN and tag - _TAG_THROWN == lasti and value is None:
        return ev.EXIT_UNWIND | _AMBIGUOUS
    return ev.EXIT_YIELD


# -- recording state --------------------------------------------------------------------------------


class _ThreadState:
    """One thread's open slices and packed records."""

    __slots__ = ("ident", "native_id", "thread", "stack", "buf", "ambiguous_end")

    def __init__(self) -> None:
        self.ident = threading.get_ident()
        self.native_id = threading.get_native_id()
        # Found by ident while the thread runs; kept, so a thread that ends still has its name.
        self.thread: Optional[Any] = _active_threads.get(self.ident)
        self.stack: List[int] = []
        self.buf = bytearray()
        self.ambiguous_end = -1  # setprofile: len(buf) right after an exit record _exit_kind was unsure of


def _close_lost_c_calls(state: _ThreadState, ns: int) -> None:
    """A Python frame is leaving while C calls it made are still open (their exit event never came):
    close them first, so one lost event cannot break the nesting of everything after it."""
    stack = state.stack
    stamp = (ns << _SHIFT) | ev.EXIT_RETURN
    while stack and stack[-1] >> 32 == _TAG_C:
        state.buf += _PACK(stamp, stack.pop() & _FUNC_MASK)


class _Session:
    """What one start()..stop() records: the function table and every thread's events."""

    def __init__(self, ignore: FrozenSet[CodeType], keep_code_bytes: bool) -> None:
        self.active = False
        self.functions: List[FunctionInfo] = []
        # Keyed by id(): hashing a code object is slow. Ignored code is kept alive by ``ignore``,
        # recorded code by ``_kept``, so no id is reused while the session exists.
        self.codes: Dict[int, _CodeEntry] = {id(code): _IGNORED for code in ignore}
        self.c_ids: Dict[Any, int] = {}  # descriptors and module/class builtins -> function id
        self.throw_ids: Set[int] = set()  # ids of generator/coroutine throw() and close()
        self.close_ids: Set[int] = set()  # ids of generator/coroutine close()
        self.local = threading.local()
        self.threads: List[_ThreadState] = []
        self._kept: List[CodeType] = []
        self._bound_ids: Dict[Tuple[type, str], int] = {}
        self._c_names: Dict[str, int] = {}
        self._keep_code_bytes = keep_code_bytes
        self._lock = threading.Lock()

    def new_thread(self) -> _ThreadState:
        state = _ThreadState()
        self.local.state = state
        self.threads.append(state)
        return state

    def python_entry(self, code: CodeType) -> _CodeEntry:
        """Register a code object on first sight (any thread may race here, hence the lock)."""
        with self._lock:
            entry = self.codes.get(id(code))
            if entry is None:
                name = getattr(code, "co_qualname", code.co_name)
                entry = (
                    len(self.functions),
                    code.co_code if self._keep_code_bytes else b"",
                    bool(code.co_flags & _GENERATOR_FLAGS),
                )
                info = FunctionInfo(ev.FUNC_PYTHON, name, code.co_filename, code.co_firstlineno)
                self.functions.append(info)
                self._kept.append(code)
                self.codes[id(code)] = entry
        return entry

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

    def finish(self, stop_ns: int) -> List[ThreadRecording]:
        """Close every open slice with EXIT_STOP and hand the records over as chunks."""
        stop_stamp = (stop_ns << _SHIFT) | ev.EXIT_STOP
        recorded: List[ThreadRecording] = []
        for state in self.threads:
            stack, buf = state.stack, state.buf
            while stack:
                buf += _PACK(stop_stamp, stack.pop() & _FUNC_MASK)
            if not buf:
                continue
            data = bytes(buf)
            chunks = [data[i : i + _CHUNK_BYTES] for i in range(0, len(data), _CHUNK_BYTES)]
            name = thread_name(state.ident, state.native_id, state.thread)
            recorded.append(ThreadRecording(state.ident, state.native_id, name, chunks))
        return recorded

    def install(self) -> None:
        raise NotImplementedError

    def uninstall(self) -> None:
        raise NotImplementedError


class _MonitoringSession(_Session):
    """Records through sys.monitoring (3.12+): one tool id, callbacks for every thread."""

    def __init__(self, ignore: FrozenSet[CodeType]) -> None:
        super().__init__(ignore, keep_code_bytes=False)
        self.tool_id = -1
        self._events: Dict[int, Callable[..., Any]] = {}

    def install(self) -> None:
        monitoring = _monitoring
        for tool_id in TOOL_IDS:
            if monitoring.get_tool(tool_id) is not None:
                continue
            try:
                monitoring.use_tool_id(tool_id, TOOL_NAME)
            except ValueError:  # taken between the check and the claim
                continue
            self.tool_id = tool_id
            break
        else:
            holders = ", ".join(f"{i}={monitoring.get_tool(i)!r}" for i in sorted(TOOL_IDS))
            raise CoreError(
                f"no free sys.monitoring tool id: ids 0-5 are all in use ({holders}); stop one of those "
                "tools or record with PULSETRACE_BACKEND=setprofile"
            )
        events = monitoring.events
        self._events = {
            events.PY_START: self._enter(ev.ENTER_CALL),
            events.PY_RESUME: self._enter(ev.ENTER_RESUME),
            events.PY_THROW: self._enter(ev.ENTER_RESUME),
            events.PY_RETURN: self._exit(ev.EXIT_RETURN),
            events.PY_YIELD: self._exit(ev.EXIT_YIELD),
            events.PY_UNWIND: self._exit(ev.EXIT_UNWIND),
            events.CALL: self._c_enter(),
            events.C_RETURN: self._c_exit(ev.EXIT_RETURN),
            events.C_RAISE: self._c_exit(ev.EXIT_UNWIND),
        }
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

    # The callbacks are closures over locals: they run for every event, so every lookup counts.

    def _enter(self, kind: int) -> Callable[..., None]:
        local, codes, now = self.local, self.codes, time.monotonic_ns
        new_thread, python_entry = self.new_thread, self.python_entry

        def on_enter(code: CodeType, offset: int, *_: Any) -> None:
            ns = now()
            entry = codes.get(id(code))
            if entry is None:
                entry = python_entry(code)
            fid = entry[0]
            if fid < 0:
                return
            try:
                state = local.state
            except AttributeError:
                state = new_thread()
            state.stack.append(fid)
            state.buf += _PACK((ns << _SHIFT) | kind, fid)
            if state.thread is None:
                state.thread = _active_threads.get(state.ident)

        return on_enter

    def _exit(self, kind: int) -> Callable[..., None]:
        local, codes, now = self.local, self.codes, time.monotonic_ns

        def on_exit(code: CodeType, offset: int, value: Any) -> None:
            ns = now()
            if codes.get(id(code)) is _IGNORED:
                return
            try:
                state = local.state
            except AttributeError:
                return
            stack = state.stack
            if stack and stack[-1] >> 32 == _TAG_C:
                _close_lost_c_calls(state, ns)
            if stack:
                state.buf += _PACK((ns << _SHIFT) | kind, stack.pop() & _FUNC_MASK)

        return on_exit

    def _c_enter(self) -> Callable[..., None]:
        local, codes, now = self.local, self.codes, time.monotonic_ns
        new_thread, c_ids, c_function = self.new_thread, self.c_ids, self.c_function

        def on_call(code: CodeType, offset: int, func: Any, arg0: Any) -> None:
            if not isinstance(func, C_CALLABLE_TYPES) or codes.get(id(code)) is _IGNORED:
                return
            ns = now()
            fid = c_ids.get(func)
            if fid is None:
                fid = c_function(func)
            try:
                state = local.state
            except AttributeError:
                state = new_thread()
            state.stack.append(fid | _C_ITEM)
            state.buf += _PACK((ns << _SHIFT) | ev.ENTER_C, fid)

        return on_call

    def _c_exit(self, kind: int) -> Callable[..., None]:
        local, codes, now = self.local, self.codes, time.monotonic_ns

        def on_c_exit(code: CodeType, offset: int, func: Any, arg0: Any) -> None:
            ns = now()
            if not isinstance(func, C_CALLABLE_TYPES) or codes.get(id(code)) is _IGNORED:
                return
            try:
                state = local.state
            except AttributeError:
                return
            stack = state.stack
            if stack and stack[-1] >> 32 == _TAG_C:
                state.buf += _PACK((ns << _SHIFT) | kind, stack.pop() & _FUNC_MASK)

        return on_c_exit


class _ProfileSession(_Session):
    """Records through the profile hook: this thread now, threads started from now on."""

    def __init__(self, ignore: FrozenSet[CodeType]) -> None:
        super().__init__(ignore, keep_code_bytes=True)
        self.hook_lost = False
        self._start_ident = 0
        self._previous_profile: Any = None
        self._previous_thread_profile: Any = None
        self.hook = self._make_hook()

    def install(self) -> None:
        self._start_ident = threading.get_ident()
        self._previous_profile = sys.getprofile()
        self._previous_thread_profile = getattr(threading, "_profile_hook", None)
        threading.setprofile(self.hook)
        self.active = True
        sys.setprofile(self.hook)

    def uninstall(self) -> None:
        current = sys.getprofile()
        if current is self.hook:
            sys.setprofile(self._previous_for_this_thread())
        elif getattr(self.local, "state", None) is not None:
            self.hook_lost = True  # removed (a RecursionError in the hook) or replaced by the program
        self.active = False
        threading.setprofile(self._previous_thread_profile)

    def _previous_for_this_thread(self) -> Any:
        if threading.get_ident() == self._start_ident:
            return self._previous_profile
        return self._previous_thread_profile

    def _make_hook(self) -> Callable[[FrameType, str, Any], None]:
        local, codes, now = self.local, self.codes, time.monotonic_ns
        new_thread, python_entry = self.new_thread, self.python_entry
        c_ids, c_function, throw_ids, close_ids = self.c_ids, self.c_function, self.throw_ids, self.close_ids
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
                    return
                kind, item = ev.ENTER_CALL, fid
                if generator_like:
                    lasti = frame.f_lasti
                    if _is_resumption(co_code, lasti):
                        kind = ev.ENTER_RESUME
                        if _resumed_by_throw(co_code, lasti) or (
                            stack and stack[-1] >> 32 == _TAG_C and stack[-1] & _FUNC_MASK in throw_ids
                        ):
                            item = fid | (_TAG_THROWN + lasti) << 32
                stack.append(item)
                state.buf += _PACK((ns << _SHIFT) | kind, fid)
                if state.thread is None:
                    state.thread = _active_threads.get(state.ident)
            elif event == "return":
                code = frame.f_code
                entry = codes.get(id(code))
                if entry is _IGNORED or not stack:
                    return
                if stack[-1] >> 32 == _TAG_C:
                    _close_lost_c_calls(state, ns)
                    if not stack:
                        return
                co_code = entry[1] if entry is not None else code.co_code
                item = stack.pop()
                kind = _exit_kind(co_code, frame.f_lasti, item >> 32, arg)
                state.buf += _PACK((ns << _SHIFT) | (kind & ev.KIND_MASK), item & _FUNC_MASK)
                if kind & _AMBIGUOUS:
                    state.ambiguous_end = len(state.buf)
            elif event == "c_call":
                if not isinstance(arg, C_CALLABLE_TYPES) or codes.get(id(frame.f_code)) is _IGNORED:
                    return
                c_fid = c_ids.get(arg)
                if c_fid is None:
                    c_fid = c_function(arg)
                stack.append(c_fid | _C_ITEM)
                state.buf += _PACK((ns << _SHIFT) | ev.ENTER_C, c_fid)
            elif stack and stack[-1] >> 32 == _TAG_C:  # c_return, c_exception
                if not isinstance(arg, C_CALLABLE_TYPES) or codes.get(id(frame.f_code)) is _IGNORED:
                    return
                kind = ev.EXIT_RETURN if event == "c_return" else ev.EXIT_UNWIND
                fid = stack.pop() & _FUNC_MASK
                buf = state.buf
                if state.ambiguous_end == len(buf) and fid in throw_ids:
                    # The generator's exit was the last record: throw() returning (close() raising)
                    # means it yielded; throw() raising (close() returning) means it ended.
                    yielded = (fid in close_ids) == (kind == ev.EXIT_UNWIND)
                    at = len(buf) - ev.RECORD_SIZE  # the stamp's low byte holds the kind
                    buf[at] = (buf[at] & ~ev.KIND_MASK) | (ev.EXIT_YIELD if yielded else ev.EXIT_UNWIND)
                buf += _PACK((ns << _SHIFT) | kind, fid)

        return hook


# -- the core ---------------------------------------------------------------------------------------


class PythonCore:
    """The pure-Python core (see the module docstring for what it records and how)."""

    name = "python"

    def __init__(self, backend: str, config: Optional[CoreConfig] = None) -> None:
        if backend not in BACKENDS:
            raise CoreError(f"backend {backend!r} is not available here (choose from: {', '.join(BACKENDS)})")
        self.backend = backend
        self.reason = ""
        self.config = config or CoreConfig()
        self._ignore = self.config.ignore | _own_code_objects()
        self._session: Optional[_Session] = None
        self._start_ns = 0

    @property
    def running(self) -> bool:
        return self._session is not None and self._session.active

    @property
    def tool_id(self) -> int:
        """The sys.monitoring tool id while recording with the monitoring backend, else -1."""
        session = self._session
        if isinstance(session, _MonitoringSession) and session.active:
            return session.tool_id
        return -1

    def start(self) -> None:
        if self.running:
            raise CoreError("the Python core is already recording")
        session: _Session
        if self.backend == "monitoring":
            session = _MonitoringSession(self._ignore)
        else:
            session = _ProfileSession(self._ignore)
        self._start_ns = time.monotonic_ns()
        session.install()  # last: everything after this is recorded
        self._session = session

    def pause(self) -> None:  # implemented with issue 3's filters (in progress)
        raise CoreError("pause() is not available in this core yet")

    def resume(self) -> None:
        raise CoreError("resume() is not available in this core yet")

    def stop(self) -> Recording:
        session = self._session
        if session is None or not session.active:
            raise CoreError("the Python core is not recording")
        session.uninstall()  # first: nothing below is recorded
        stop_ns = time.monotonic_ns()
        threads = session.finish(stop_ns)
        if isinstance(session, _ProfileSession) and session.hook_lost:
            warnings.warn(
                f"pulsetrace: the profile hook of thread {threading.current_thread().name!r} was removed "
                "while recording (a RecursionError at the recursion limit, or the program called "
                "sys.setprofile); its later events are missing",
                RuntimeWarning,
                stacklevel=3,
            )
        return Recording(
            functions=list(session.functions),
            threads=threads,
            start_ns=self._start_ns,
            stop_ns=stop_ns,
            core=self.name,
            backend=self.backend,
            core_reason=self.reason,
        )


_OWN_CODES: Optional[FrozenSet[CodeType]] = None


def _own_code_objects() -> FrozenSet[CodeType]:
    """Every code object of this module (callbacks included): none of it may appear in a trace."""
    global _OWN_CODES
    if _OWN_CODES is None:
        pending: List[CodeType] = []
        for value in list(globals().values()):
            members = list(vars(value).values()) if isinstance(value, type) else [value]
            for member in members:
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if isinstance(member, property):
                    member = member.fget
                if getattr(member, "__module__", None) == __name__ and inspect.isfunction(member):
                    pending.append(member.__code__)
        found = set()
        while pending:
            code = pending.pop()
            if code not in found:
                found.add(code)
                pending.extend(const for const in code.co_consts if isinstance(const, CodeType))
        _OWN_CODES = frozenset(found)
    return _OWN_CODES
