"""The public Tracer: start, stop, save; usable as a context manager and reusable after stop()."""

from __future__ import annotations

import sys
import time
from types import CodeType, FunctionType, TracebackType
from typing import TYPE_CHECKING, Any, FrozenSet, List, Optional, Set, Type

from . import cores
from .cores import Core, CoreError
from .model import Trace
from .model.build import build_trace

if TYPE_CHECKING:  # writers are imported when a trace is saved, not when pulsetrace is
    from .writers import SaveResult


class TracerError(RuntimeError):
    """Misuse of the Tracer API (starting twice, saving before recording, ...)."""


_running: Optional[Tracer] = None  # at most one tracer records at a time, process-wide


def running_tracer() -> Optional[Tracer]:
    """The Tracer currently recording, if any."""
    return _running


class Tracer:
    """Records every Python and C function call of every thread between start() and stop().

    ``with Tracer(output="trace.json"):`` records the block and saves it on exit.
    ``core`` ("c" or "python") and ``backend`` ("monitoring" or "setprofile") override the
    automatic choice (see pulsetrace.cores).
    """

    def __init__(
        self,
        *,
        output: Optional[str] = None,
        core: Optional[str] = None,
        backend: Optional[str] = None,
        process_name: Optional[str] = None,
    ) -> None:
        self.output = output
        self.core_name = core
        self.backend = backend
        self.process_name = process_name
        self._core: Optional[Core] = None
        self._trace: Optional[Trace] = None
        self._wall_anchor_ns = 0
        self._mono_anchor_ns = 0

    # -- recording -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._core is not None and self._core.running

    @property
    def core(self) -> Optional[Core]:
        """The core of the current or last recording."""
        return self._core

    def start(self) -> Tracer:
        global _running
        if _running is not None and _running.running:
            which = "this tracer is" if _running is self else "another pulsetrace Tracer is"
            raise TracerError(f"cannot start: {which} already recording; stop() it first")
        try:
            core = cores.choose_core(self.core_name, self.backend, ignore=_own_code_objects())
        except CoreError as exc:
            raise TracerError(str(exc)) from None
        self._trace = None
        self._wall_anchor_ns = time.time_ns()
        self._mono_anchor_ns = time.monotonic_ns()
        try:
            core.start()
        except CoreError as exc:
            raise TracerError(str(exc)) from None
        self._core = core
        _running = self
        return self

    def stop(self) -> Trace:
        """Stop recording; slices still open are closed now and marked as such."""
        global _running
        core = self._core
        if core is None or not core.running:
            raise TracerError("cannot stop: this tracer is not recording")
        recording = core.stop()  # first: nothing below must be recorded
        if _running is self:
            _running = None
        self._trace = build_trace(
            recording,
            wall_anchor_ns=self._wall_anchor_ns,
            mono_anchor_ns=self._mono_anchor_ns,
            process_name=self.process_name,
        )
        return self._trace

    @property
    def trace(self) -> Trace:
        """The trace of the last finished recording."""
        if self._trace is None:
            raise TracerError("no trace yet: start() and stop() the tracer first")
        return self._trace

    def save(self, path: Optional[str] = None) -> SaveResult:
        """Write the last trace to ``path`` (format by extension); stops first if still recording."""
        if self.running:
            self.stop()
        target = path or self.output or "result.json"
        from .writers import save

        return save(self.trace, target)

    # -- context manager -------------------------------------------------------------------------

    def __enter__(self) -> Tracer:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if self.running:
            self.stop()
        if self.output is not None:
            self.save(self.output)



def _codes_of(module: Any) -> Set[CodeType]:
    """Every code object defined in ``module``: functions, methods, properties and what they nest."""
    found: Set[CodeType] = set()
    pending: List[CodeType] = []
    for value in vars(module).values():
        if getattr(value, "__module__", None) != module.__name__:
            continue
        members = vars(value).values() if isinstance(value, type) else [value]
        for member in members:
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            if isinstance(member, property):
                pending.extend(f.__code__ for f in (member.fget, member.fset, member.fdel) if f is not None)
            elif isinstance(member, FunctionType):
                pending.append(member.__code__)
    while pending:
        code = pending.pop()
        if code not in found:
            found.add(code)
            pending.extend(const for const in code.co_consts if isinstance(const, CodeType))
    return found


_own_codes: FrozenSet[CodeType] = frozenset()
_own_modules: FrozenSet[str] = frozenset()


def _own_code_objects() -> FrozenSet[CodeType]:
    """pulsetrace's own code (tracer, cores, runner, CLI, ...), which must never appear in a trace.

    Only those frames are skipped: what they call (the traced program, run by the runner) is not.
    """
    global _own_codes, _own_modules
    modules = frozenset(name for name in list(sys.modules) if name.split(".")[0] == "pulsetrace")
    if modules != _own_modules:
        codes: Set[CodeType] = set()
        for name in modules:
            module = sys.modules.get(name)
            if module is not None:
                codes |= _codes_of(module)
        _own_codes, _own_modules = frozenset(codes), modules
    return _own_codes
