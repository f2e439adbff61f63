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
  instruction the frame stopped at (see ``pyframes.exit_kind``): a return instruction -> EXIT_RETURN, a yield
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

Tracing controls (CoreConfig; the C core follows the same rules)
  - Verdicts: ``config.code_filter`` is asked once per code object (cached with its function id).
    SKIP: no slice for the frame and none for the C calls it makes directly; its Python callees are
    judged on their own. HIDE: no slice for the frame nor anything it runs in that thread until it
    exits (each resumption of a hidden generator hides again). A frame that began before recording
    is judged when it makes a C call or raises (its own entry and exit are never seen).
  - Hiding is a per-thread count of open Python frames, started by a HIDE frame, by a call that
    would be the (max_stack_depth + 1)-th recorded open slice of the thread, or by any call made
    while the thread is paused; the region ends when that frame exits. C calls are never counted in
    it: a C call past max_stack_depth, or made while paused or hiding, is simply not recorded.
  - pause()/resume() act on the calling thread: entries made while paused are hidden (with what
    they run, even if resume() is called inside them); exits of slices opened before pause() are
    recorded. Pausing twice or resuming a running thread does nothing.
  - ignore_c_function: no C slices; the monitoring backend does not register CALL, C_RETURN or
    C_RAISE at all.
  - min_duration_ns: when a slice exits less than this after it entered and its ENTER is the
    thread's last record, the ENTER (and its args) is removed instead of writing the exit. This core
    keeps one buffer per thread, so the C core's exception (an ENTER in an earlier chunk is kept)
    never arises here. EXIT_STOP slices are never removed.
  - log_args / log_retval: ``ThreadRecording.args[index]`` (ENTER_CALL of a Python function, read
    from the frame's locals when it starts) and ``.retvals[index]`` (EXIT_RETURN of a Python function,
    the returned value), rendered by ``pulsetrace.reprs``; the index is the record's position in the
    thread's records. Reprs run inside the callback, where no event is delivered (sys.monitoring) or
    the hook is not re-entered (setprofile), so the code they run is never recorded.
  - exception_sink: called as sink(exc, code, lineno) for an exception raised in (or passing
    through) a frame whose code is recorded, while the thread is neither hiding nor paused. The
    monitoring backend uses the RAISE event; the setprofile backend a trace function
    (``sys.settrace`` and ``threading.settrace``, line events off), installed only when a sink is
    set and only if no other trace function is installed; otherwise a warning says exceptions were
    not recorded. Before 3.12 the exception's ``__traceback__`` is set to the traceback built so far
    before the sink sees it. Exceptions the sink raises are swallowed.
  - Cost: with every option off, each callback pays one test of ``state.gate`` (pysession), which
    replaced issue 2's per-entry test of whether the thread's Thread object was found.

Limitation (setprofile only): the interpreter removes a Python profile function that raises, and a
program that reaches the recursion limit makes the call of the profile function itself raise
RecursionError. The thread then stops being recorded; ``stop()`` warns when it sees that this happened
in the calling thread. The monitoring backend keeps its callbacks and stays balanced.
"""

from __future__ import annotations

import functools
import sys
import threading
import time
import warnings
from types import CodeType, ModuleType
from typing import FrozenSet, List, Optional

from . import pyframes, pymonitoring, pyprofile, pysession
from .cores import BACKENDS, CoreConfig, CoreError
from .filters import module_code_objects
from .pyframes import C_CALLABLE_TYPES, c_function_name
from .pymonitoring import TOOL_IDS, TOOL_NAME, MonitoringSession
from .pyprofile import ProfileSession
from .pysession import Session
from .recording import Recording

__all__ = ["C_CALLABLE_TYPES", "TOOL_IDS", "TOOL_NAME", "PythonCore", "c_function_name"]


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
        self._session: Optional[Session] = None
        self._start_ns = 0

    @property
    def running(self) -> bool:
        return self._session is not None and self._session.active

    @property
    def tool_id(self) -> int:
        """The sys.monitoring tool id while recording with the monitoring backend, else -1."""
        session = self._session
        if isinstance(session, MonitoringSession) and session.active:
            return session.tool_id
        return -1

    def start(self) -> None:
        if self.running:
            raise CoreError("the Python core is already recording")
        session: Session
        if self.backend == "monitoring":
            session = MonitoringSession(self._ignore, self.config)
        else:
            session = ProfileSession(self._ignore, self.config)
        self._start_ns = time.monotonic_ns()
        session.install()  # last: everything after this is recorded
        self._session = session

    def pause(self) -> None:
        """Stop recording new calls in the calling thread (slices open now still get their exit)."""
        self._recording_session("pause").set_paused(True)

    def resume(self) -> None:
        """Record the calling thread again after pause()."""
        self._recording_session("resume").set_paused(False)

    def _recording_session(self, action: str) -> Session:
        session = self._session
        if session is None or not session.active:
            raise CoreError(f"cannot {action}: the Python core is not recording")
        return session

    def stop(self) -> Recording:
        session = self._recording_session("stop")
        session.uninstall()  # first: nothing below is recorded
        stop_ns = time.monotonic_ns()
        threads = session.finish(stop_ns)
        if isinstance(session, ProfileSession) and session.hook_lost:
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
            warnings=list(session.warnings),
        )


_OWN_MODULES: List[ModuleType] = [pyframes, pysession, pymonitoring, pyprofile, sys.modules[__name__]]


@functools.cache
def _own_code_objects() -> FrozenSet[CodeType]:
    """Every code object of the Python core's modules (callbacks included): none may appear in a trace."""
    return module_code_objects(_OWN_MODULES)
