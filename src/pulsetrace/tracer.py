"""The public Tracer: start, stop, save; usable as a context manager and reusable after stop()."""

from __future__ import annotations

import os
import sys
import time
from types import CodeType, FunctionType, TracebackType
from typing import TYPE_CHECKING, Any, Callable, FrozenSet, List, Optional, Sequence, Set, Type, Union

from . import cores
from .config import DEFAULT_OUTPUT
from .cores import Core, CoreConfig, CoreError
from .custom import CustomRecording, EventLog, gcevents, printing
from .custom.exceptions import exception_sink
from .filters import CodeFilter, FilterError, hidden_codes
from .linecollect import LineCollector, LineCollectorError
from .model import LineStats, Trace
from .model.build import build_trace
from .options import OPTION_NAMES, OptionError, TraceOptions
from .recording import Recording
from .reprs import DEFAULT_REPR_LIMIT

if TYPE_CHECKING:  # writers are imported when a trace is saved, not when pulsetrace is
    from .tracerfamily import TracerFamily
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
    ``trace_children=True`` records the child processes started meanwhile too (fork,
    multiprocessing, subprocess, os.exec*; pulsetrace.tracerfamily): stop() waits up to
    ``children_timeout`` seconds for those still running, and the trace has one process per pid.
    ``core`` ("c" or "python") and ``backend`` ("monitoring" or "setprofile") override the
    automatic choice (see pulsetrace.cores). Every other keyword is a tracing option, with the same
    name as on the command line and in ``[tool.pulsetrace]`` (see pulsetrace.options and the README);
    a bad value raises TracerError naming the option.

    Only one tracer records at a time. ``gives_way=True`` is for tools that trace on the program's
    behalf (the pytest plugin): when the program starts a Tracer of its own, such a tracer stops
    (its trace so far is kept) instead of making the program's start() fail.
    """

    def __init__(
        self,
        output: Optional[str] = None,
        *,
        core: Optional[str] = None,
        backend: Optional[str] = None,
        process_name: Optional[str] = None,
        max_stack_depth: Optional[int] = None,
        include_files: Sequence[str] = (),
        exclude_files: Sequence[str] = (),
        ignore_c_function: bool = False,
        ignore_frozen: bool = False,
        min_duration: Union[str, float, int] = 0,
        trace_only: bool = False,
        log_args: bool = False,
        log_retval: bool = False,
        repr_limit: int = DEFAULT_REPR_LIMIT,
        log_print: bool = False,
        log_exceptions: bool = False,
        log_gc: bool = False,
        lines: bool = False,
        line_detail: str = "project",
        trace_children: bool = False,
        children_timeout: float = 5.0,
        options: Optional[TraceOptions] = None,
        gives_way: bool = False,
    ) -> None:
        given = {
            name: value
            for name, value in locals().items()
            if name in OPTION_NAMES and name != "trace_children"  # the option's default is run's
        }
        defaults = TraceOptions()
        changed = {name: value for name, value in given.items() if value != _raw_default(defaults, name)}
        try:
            self.options = (options or defaults).updated(changed, "Tracer()")
        except OptionError as exc:
            raise TracerError(str(exc)) from None
        self.gives_way = gives_way
        # trace_children: this Tracer's own choice, off unless asked for (the option of the same name
        # is `pulsetrace run`'s, on by default there); see pulsetrace.tracerfamily.
        self.trace_children = trace_children
        self._family: Optional[TracerFamily] = None
        self._left_to_child = False  # a forked child's copy: its recording is the child's session's
        self._core: Optional[Core] = None
        self._custom: Optional[EventLog] = None  # the custom-event log of the current recording
        self._lines: Optional[LineCollector] = None  # lines=True: the line collector of the recording
        self._trace: Optional[Trace] = None
        self._wall_anchor_ns = 0
        self._mono_anchor_ns = 0
        self._sparse_start_ns = 0
        self._sparse_running = False

    # Kept as attributes for callers of the first API (tracer.output, .core_name, ...).
    @property
    def output(self) -> Optional[str]:
        return self.options.output

    @property
    def core_name(self) -> Optional[str]:
        return self.options.core

    @property
    def backend(self) -> Optional[str]:
        return self.options.backend

    @property
    def process_name(self) -> Optional[str]:
        return self.options.process_name

    def core_config(self) -> CoreConfig:
        """What the core is asked to record, from the options."""
        options = self.options
        code_filter = CodeFilter(
            include_files=options.include_files,
            exclude_files=options.exclude_files,
            ignore_frozen=options.ignore_frozen,
            hidden=hidden_codes(),
        )
        return CoreConfig(
            ignore=_own_code_objects(),
            code_filter=code_filter,  # always: @ignore_function may decorate while recording
            max_stack_depth=options.max_stack_depth or 0,
            ignore_c_function=options.ignore_c_function,
            min_duration_ns=options.min_duration,
            log_args=options.log_args,
            log_retval=options.log_retval,
            repr_limit=options.repr_limit,
            exception_sink=exception_sink if options.log_exceptions else None,
        )

    # -- recording -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        if self.options.trace_only:
            return self._sparse_running
        return self._core is not None and self._core.running

    @property
    def core(self) -> Optional[Core]:
        """The core of the current or last recording."""
        return self._core

    def start(self) -> Tracer:
        global _running
        if _running is not None and _running.running:
            if _running is self or not _running.gives_way:
                which = "this tracer is" if _running is self else "another pulsetrace Tracer is"
                raise TracerError(f"cannot start: {which} already recording; stop() it first")
            _running.stop()
        self._trace = None
        self._left_to_child = False
        if self.trace_children:
            self._begin_family()
        try:
            return self._start_recording()
        except BaseException:
            self._end_family_unused()
            raise

    def _start_recording(self) -> Tracer:
        global _running
        if self.options.trace_only:  # sparse mode: no core; decorated functions record themselves
            self._wall_anchor_ns = time.time_ns()
            self._mono_anchor_ns = self._sparse_start_ns = time.monotonic_ns()
            self._start_custom()
            try:
                self._start_lines(None)
            except TracerError:
                self._stop_custom()
                raise
            self._sparse_running = True
            _running = self
            return self
        try:
            config = self.core_config()
            core = cores.choose_core(self.core_name, self.backend, config=config)
        except (CoreError, FilterError) as exc:
            raise TracerError(str(exc)) from None
        self._wall_anchor_ns = time.time_ns()
        self._mono_anchor_ns = time.monotonic_ns()
        self._start_custom()
        try:
            # first: the core then records nothing of the collector's start
            self._start_lines(core.backend if self.options.lines else None)
        except TracerError:
            self._stop_custom()
            raise
        try:
            core.start()
        except CoreError as exc:
            self._stop_lines()
            self._stop_custom()
            raise TracerError(str(exc)) from None
        self._core = core
        _running = self
        return self

    def _begin_family(self) -> None:
        """trace_children: become the root of a run that the child processes record into."""
        from .tracerfamily import TracerFamily

        if self._family is not None:
            self._family.abandon()
        try:
            self._family = TracerFamily.begin(self)
        except OSError as exc:
            raise TracerError(f"cannot trace child processes: {exc}") from None

    def _end_family_unused(self) -> None:
        family, self._family = self._family, None
        if family is not None:
            family.abandon()

    def lines_snapshot(self) -> LineStats:
        """The line statistics so far (``lines=True``), while recording; callable from any thread.

        Meant for a live view polling a few times a second: it costs one copy of the counts, and the
        program keeps running meanwhile (only the GIL is shared). Hit counts, call counts and edge
        counts are exact up to the call; times lag, since a line still running adds its interval only
        when its frame moves on (at stop every open line is closed, so the trace's times are complete).
        TracerError when not recording or recording without ``lines``.
        """
        collector = self._lines
        if collector is None:
            raise TracerError("no line statistics: this tracer is not recording with lines=True")
        try:
            return collector.snapshot()
        except LineCollectorError as exc:  # stop() won the race
            raise TracerError(str(exc)) from None

    def pause(self) -> None:
        """Stop recording new calls in the calling thread until resume(); other threads go on."""
        if not self.running:
            raise TracerError("cannot pause: this tracer is not recording")
        if self._custom is not None:
            self._custom.set_paused(True)
        if self._core is not None and not self.options.trace_only:
            self._core.pause()

    def resume(self) -> None:
        """Record the calling thread again after pause()."""
        if not self.running:
            raise TracerError("cannot resume: this tracer is not recording")
        if self._custom is not None:
            self._custom.set_paused(False)
        if self._core is not None and not self.options.trace_only:
            self._core.resume()

    def stop(self) -> Trace:
        """Stop recording; slices still open are closed now and marked as such."""
        global _running
        if not self.running:
            raise TracerError("cannot stop: this tracer is not recording")
        if self.options.trace_only:
            self._sparse_running = False
            lines = self._stop_lines()
            custom = self._stop_custom()
            stop_ns = time.monotonic_ns()
            recording = Recording(
                [], [], self._sparse_start_ns, stop_ns, "none", "none", "sparse mode (trace_only)"
            )
        else:
            assert self._core is not None
            recording = self._core.stop()  # first: nothing below must be recorded
            lines = self._stop_lines()
            custom = self._stop_custom()
        if _running is self:
            _running = None
        trace = build_trace(
            recording,
            wall_anchor_ns=self._wall_anchor_ns,
            mono_anchor_ns=self._mono_anchor_ns,
            process_name=self.process_name,
            custom=custom,
            lines=lines,
        )
        family, self._family = self._family, None
        if family is not None:
            if os.getpid() == family.pid:
                trace = family.end(trace)
            else:
                family.abandon()
        self._trace = trace
        return trace

    def stop_without_children(self) -> Trace:
        """Stop recording this process only: its children's run goes on (the process is about to be
        replaced by a program that takes the run over, pulsetrace.tracerfamily)."""
        self._family = None
        return self.stop()

    def leave_to_forked_child(self) -> str:
        """In a forked child of this Tracer's process: drop the copy of the parent's recording (the
        child is recorded by a session of its own from now on); the process's name."""
        self._family = None
        try:
            return self.stop().process().name
        finally:
            self._trace = None
            self._left_to_child = True

    def _start_lines(self, core_backend: Optional[str]) -> None:
        """lines=True: start the line collector (TracerError when it cannot run here)."""
        options = self.options
        if not options.lines:
            return
        try:
            code_filter = self.core_config().code_filter  # include_files / exclude_files apply to lines too
            collector = LineCollector(
                detail=options.line_detail, ignore=_own_code_objects(), code_filter=code_filter
            )
        except LineCollectorError as exc:
            raise TracerError(str(exc)) from None
        if collector.backend.endswith("settrace") and options.log_exceptions and core_backend == "setprofile":
            raise TracerError(
                "lines and log_exceptions cannot be combined before Python 3.12 (both need the trace hook): "
                "drop one of them"
            )
        try:
            collector.start()
        except LineCollectorError as exc:
            raise TracerError(str(exc)) from None
        self._lines = collector

    def _stop_lines(self) -> Optional[LineStats]:
        collector, self._lines = self._lines, None
        return collector.stop() if collector is not None else None

    def _start_custom(self) -> None:
        """Open the custom-event log and install the hooks the options ask for."""
        options = self.options
        log = EventLog(repr_limit=options.repr_limit, sparse=options.trace_only)
        if options.log_print:
            printing.install()
        if options.log_gc:
            gcevents.install()
        log.start()
        self._custom = log

    def _stop_custom(self) -> CustomRecording:
        """Remove the hooks and close the custom-event log; what it recorded."""
        log, self._custom = self._custom, None
        if self.options.log_gc:
            gcevents.uninstall()
        if self.options.log_print:
            printing.uninstall()
        return log.stop() if log is not None else CustomRecording()

    @property
    def trace(self) -> Trace:
        """The trace of the last finished recording."""
        if self._trace is None:
            raise TracerError("no trace yet: start() and stop() the tracer first")
        return self._trace

    def save(
        self, path: Optional[str] = None, *, on_write: Optional[Callable[[int], None]] = None
    ) -> SaveResult:
        """Write the last trace to ``path`` (format by extension); stops first if still recording.

        ``on_write(bytes_written_so_far)`` is called as the output grows (a progress display)."""
        if self.running:
            self.stop()
        target = path or self.output or DEFAULT_OUTPUT
        from .writers import save

        return save(self.trace, target, on_write=on_write)

    # -- context manager -------------------------------------------------------------------------

    def __enter__(self) -> Tracer:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if self._left_to_child:
            return  # a forked child: its own session saves its recording into the parent's trace
        if self.running:
            self.stop()
        if self.output is not None:
            self.save(self.output)


def _raw_default(defaults: TraceOptions, name: str) -> Any:
    """The keyword default of Tracer() for an option (durations are given as text or numbers)."""
    return 0 if name == "min_duration" else getattr(defaults, name)


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
    pulsetrace's functions marked with @ignore_function are left to the filter, which hides them with
    everything they call: the work pulsetrace does in the middle of a traced program (the hooks that
    trace child processes, pulsetrace.childhooks) is not the program's.
    """
    global _own_codes, _own_modules
    modules = frozenset(name for name in list(sys.modules) if name.split(".")[0] == "pulsetrace")
    if modules != _own_modules:
        codes: Set[CodeType] = set()
        for name in modules:
            module = sys.modules.get(name)
            if module is not None:
                codes |= _codes_of(module)
        _own_codes, _own_modules = frozenset(codes - hidden_codes()), modules
    return _own_codes
