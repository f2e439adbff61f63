"""The one place that decides which core records, and why.

Two cores share one contract (``Core``): the C extension (default, fast) and the pure-Python twin
(the fallback and the test oracle). ``PULSETRACE_CORE=c|python`` forces a core and
``PULSETRACE_BACKEND=monitoring|setprofile`` forces a backend; ``choose_core`` records the reason.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, replace
from types import CodeType
from typing import Any, Callable, Collection, FrozenSet, List, Optional, Protocol, Tuple

from .extension import load_c_extension
from .recording import FunctionInfo, Recording, ThreadRecording

HAS_MONITORING = sys.version_info >= (3, 12)
BACKENDS = ("monitoring", "setprofile") if HAS_MONITORING else ("setprofile",)


class CoreError(RuntimeError):
    """A core could not start (no free sys.monitoring tool id, unknown backend, ...)."""


ExceptionSink = Callable[[BaseException, CodeType, int], None]


@dataclass(frozen=True)
class CoreConfig:
    """What a core records; both cores follow these rules exactly (README "Tracing controls").

    - ``ignore``: pulsetrace's own code objects: treated as filters.SKIP, always.
    - ``code_filter``: called once per other code object; returns filters.RECORD, SKIP or HIDE.
    - ``max_stack_depth``: a slice is recorded only while fewer than N recorded slices are open in
      its thread; a deeper call is HIDden (it and everything it calls). 0: unlimited.
    - ``ignore_c_function``: no C-function slices; on sys.monitoring the C events are not even
      registered.
    - ``min_duration_ns``: a slice that ends less than this after it started is removed from the
      buffer when it ends (with its args/retval), when it is the last record (its children, being
      shorter, were removed already).
    - ``log_args`` / ``log_retval``: ThreadRecording.args / .retvals get reprs.format_arguments /
      reprs.bounded_repr text of Python calls (never of C calls), cut to ``repr_limit``.
    - ``exception_sink``: when set, called as sink(exception, code, lineno) on the raising thread for
      each exception raised in a recorded frame (never in SKIP/HIDE/paused code or pulsetrace's own).
    """

    ignore: FrozenSet[CodeType] = frozenset()
    code_filter: Optional[Callable[[CodeType], int]] = None
    max_stack_depth: int = 0
    ignore_c_function: bool = False
    min_duration_ns: int = 0
    log_args: bool = False
    log_retval: bool = False
    repr_limit: int = 100
    exception_sink: Optional[ExceptionSink] = None


class Core(Protocol):
    """What the Tracer needs from a core."""

    name: str  # "c" or "python"
    backend: str  # "monitoring" or "setprofile"

    @property
    def running(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> Recording: ...

    def pause(self) -> None:
        """Stop recording new slices in the calling thread (slices open now still get their exit)."""

    def resume(self) -> None:
        """Record the calling thread again after pause()."""


def choose_backend(requested: Optional[str] = None) -> Tuple[str, str]:
    """Pick the interpreter hook: sys.monitoring on 3.12+, PyEval_SetProfile before."""
    requested = requested or os.environ.get("PULSETRACE_BACKEND") or None
    if requested is not None:
        if requested not in BACKENDS:
            raise CoreError(
                f"backend {requested!r} is not available on Python {sys.version_info[0]}."
                f"{sys.version_info[1]} (choose from: {', '.join(BACKENDS)})"
            )
        return requested, f"backend {requested!r} requested"
    if HAS_MONITORING:
        return "monitoring", "sys.monitoring is available (Python 3.12+)"
    return "setprofile", "sys.monitoring needs Python 3.12+; using the profile hook"


def choose_core(
    requested: Optional[str] = None,
    backend: Optional[str] = None,
    ignore: Collection[CodeType] = (),
    config: Optional[CoreConfig] = None,
) -> Core:
    """Build the core to record with; its ``reason`` attribute says why it was chosen."""
    requested = requested or os.environ.get("PULSETRACE_CORE") or None
    if requested not in (None, "c", "python"):
        raise CoreError(f"unknown core {requested!r} (PULSETRACE_CORE takes 'c' or 'python')")
    chosen_backend, backend_reason = choose_backend(backend)
    config = config or CoreConfig()
    if ignore:
        config = replace(config, ignore=config.ignore | frozenset(ignore))
    core: Core
    if requested == "python":
        core_reason = "Python core requested"
    else:
        module, why = load_c_extension()
        if module is not None:
            core = CCore(module, chosen_backend, config)
            how = "requested" if requested == "c" else "is the default"
            reason = f"C core {how}; {backend_reason}"
            core.reason = reason  # type: ignore[attr-defined]
            return core
        if requested == "c":
            raise CoreError(f"the C core was requested but {why}")
        core_reason = f"{why}; falling back to the Python core"
    from .pycore import PythonCore

    core = PythonCore(chosen_backend, config)
    core.reason = f"{core_reason}; {backend_reason}"  # type: ignore[attr-defined]
    return core


def thread_name(ident: int, native_id: int, thread: Optional[Any]) -> str:
    """The threading name of a recorded thread, as current as can be known."""
    if thread is None:
        thread = threading._active.get(ident)  # type: ignore[attr-defined]
    if thread is not None:
        try:
            return str(thread.name)
        except Exception:  # a Thread subclass with a broken name property
            pass
    return f"Thread {native_id}"


class CCore:
    """Adapter from the C extension's Recorder to the Core contract."""

    name = "c"

    def __init__(self, module: Any, backend: str, config: CoreConfig) -> None:
        self.backend = backend
        self.reason = ""
        self.config = config
        self._module = module
        self._recorder = module.Recorder(
            backend, tuple(config.ignore), threading._active, config  # type: ignore[attr-defined]
        )
        self._start_ns = 0
        self._previous_thread_profile: Any = None
        self._previous_thread_trace: Any = None
        self._thread_trace_skipped = False

    @property
    def running(self) -> bool:
        return bool(self._recorder.running)

    @property
    def tool_id(self) -> int:
        return int(self._recorder.tool_id)

    def start(self) -> None:
        self._start_ns = self._module.monotonic_ns()
        if self.backend == "setprofile":
            # The profile hook is per thread: have threads started from now on install it too.
            self._previous_thread_profile = getattr(threading, "_profile_hook", None)
            threading.setprofile(self._recorder.thread_start_hook())
            self._start_thread_trace()
        try:
            self._recorder.start()
        except (ValueError, RuntimeError) as exc:  # e.g. sys.monitoring has no free tool id
            if self.backend == "setprofile":
                threading.setprofile(self._previous_thread_profile)
                self._stop_thread_trace()
            raise CoreError(str(exc)) from None

    def _start_thread_trace(self) -> None:
        """setprofile + exception sink: new threads get the C trace function, unless another tool
        (a debugger, coverage) already set threading.settrace: then that one is kept."""
        self._thread_trace_skipped = False
        self._previous_thread_trace = None
        if self.config.exception_sink is None:
            return
        previous = getattr(threading, "_trace_hook", None)
        if previous is not None:
            self._thread_trace_skipped = True
            return
        self._previous_thread_trace = previous
        threading.settrace(self._recorder.thread_trace_hook())

    def _stop_thread_trace(self) -> None:
        if self.config.exception_sink is not None and not self._thread_trace_skipped:
            threading.settrace(self._previous_thread_trace)

    def stop(self) -> Recording:
        stop_ns = self._recorder.stop()  # first, so nothing below is recorded
        if self.backend == "setprofile":
            threading.setprofile(self._previous_thread_profile)
            self._stop_thread_trace()
        functions = [FunctionInfo(*row) for row in self._recorder.functions()]
        threads: List[ThreadRecording] = []
        lost = 0
        for ident, native_id, thread, chunks, thread_lost, args, retvals in self._recorder.threads():
            name = thread_name(ident, native_id, thread)
            threads.append(ThreadRecording(ident, native_id, name, chunks, args, retvals))
            lost += thread_lost
        return Recording(
            functions=functions,
            threads=threads,
            start_ns=self._start_ns,
            stop_ns=stop_ns,
            core=self.name,
            backend=self.backend,
            core_reason=self.reason,
            lost_events=lost,
            warnings=self._warnings(),
        )

    def pause(self) -> None:
        self._recorder.pause()

    def resume(self) -> None:
        self._recorder.resume()

    def _warnings(self) -> List[str]:
        found: List[str] = []
        if self.backend == "setprofile" and self._recorder.hook_displaced:
            found.append(
                "another tool replaced pulsetrace's profile hook in the thread that started tracing "
                "(for example cProfile enabled while tracing before Python 3.12); that thread's events "
                "after that moment are missing"
            )
        if self.backend == "setprofile" and (self._recorder.trace_skipped or self._thread_trace_skipped):
            found.append(
                "another trace function (a debugger or coverage tool) was already installed, so "
                "exceptions were not logged where it runs (log_exceptions)"
            )
        return found
