"""What the pytest plugin does once asked to trace: a trace per test, or one for the whole session.

The plugin objects here are registered by ``pytest_plugin`` only when ``--pulsetrace`` or
``--pulsetrace-session`` is given, so a run without them has none of these hooks.

Tests must pass or fail exactly as they would untraced, so nothing here raises into pytest: a trace
that cannot be started or saved becomes a note in the terminal summary. The tracers are created
with ``gives_way=True``: a test that starts a pulsetrace Tracer of its own stops the plugin's
tracer instead of failing (that test gets no trace, and a note says why).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import pytest

from .model import Trace
from .options import TraceOptions
from .pytest_names import TraceNames
from .session import format_size
from .tracer import Tracer

MAX_NOTES = 10  # notes shown in the terminal summary; the rest are counted


@dataclass(frozen=True)
class TracingPlan:
    """What to trace and where to put it, from the command line (``pytest_plugin.plan_from``)."""

    options: TraceOptions
    phases: Tuple[str, ...]  # the test phases a per-test trace covers, in the order they run
    extension: str  # of the per-test files, with the dot
    directory: Optional[Path] = None  # per-test mode: where the traces go
    session_file: Optional[Path] = None  # session mode: the one trace file
    shown: str = ""  # the output as the user gave it, for the summary line


@dataclass
class Tally:
    """What was written, and why some tests have no trace, for the terminal summary."""

    traces: int = 0
    calls: int = 0
    bytes_written: int = 0
    notes: List[str] = field(default_factory=list)

    def note(self, message: str) -> None:
        self.notes.append(message)

    def note_lines(self) -> List[str]:
        shown = [f"pulsetrace: {note}" for note in self.notes[:MAX_NOTES]]
        if len(self.notes) > MAX_NOTES:
            shown.append(f"pulsetrace: ... and {len(self.notes) - MAX_NOTES} more notes like these")
        return shown


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _save(trace: Trace, path: Path, tally: Tally) -> None:
    """Write ``trace`` to ``path`` (its extension gives the format), creating its directory."""
    from .writers import save  # the writers are needed only once there is a trace to write

    path.parent.mkdir(parents=True, exist_ok=True)
    result = save(trace, str(path))
    tally.traces += 1
    tally.calls += result.calls
    tally.bytes_written += result.bytes_written


class PerTestTracing:
    """A trace of each test, written to ``plan.directory`` once the test's report is done.

    The trace runs from the start of the first phase traced to the end of the last one. With setup
    and teardown traced too, pytest's own reporting between the phases is in it: pausing would not
    keep it out, as a call made while paused hides everything it runs, including the next phase.
    """

    def __init__(self, plan: TracingPlan) -> None:
        assert plan.directory is not None
        self.plan = plan
        self.directory = plan.directory
        self.names = TraceNames(plan.extension)
        self.tally = Tally()
        self._tracer: Optional[Tracer] = None  # the current test's
        self._finished = False  # the current test's tracer was stopped by us, not by the test
        self._given_up = False  # no trace for the current test (the note says why)

    # -- the phases of a test ----------------------------------------------------------------------

    @pytest.hookimpl(hookwrapper=True, trylast=True)  # innermost: around the test, not other plugins
    def pytest_runtest_setup(self, item: pytest.Item) -> Iterator[None]:
        self._enter(item, "setup")
        yield
        self._leave(item, "setup")

    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        self._enter(item, "call")
        yield
        self._leave(item, "call")

    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Iterator[None]:
        self._enter(item, "teardown")
        yield
        self._leave(item, "teardown")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: Optional[pytest.Item]) -> Iterator[None]:
        yield
        self._finish(item)  # after the reports: saving does not count in the test's duration

    def _enter(self, item: pytest.Item, phase: str) -> None:
        if phase not in self.plan.phases or self._given_up or self._tracer is not None:
            return
        try:
            options = self.plan.options
            if options.process_name is None:  # viewers then show which test this is
                options = options.replaced({"process_name": item.nodeid}, {"process_name": "pytest"})
            tracer = Tracer(options=options, gives_way=True)
            self._finished = False
            tracer.start()  # fails if a Tracer a test started before is still recording
            self._tracer = tracer
        except Exception as exc:
            self._give_up(item, exc)

    def _leave(self, item: pytest.Item, phase: str) -> None:
        tracer = self._tracer
        if phase != self.plan.phases[-1] or tracer is None or not tracer.running:
            return
        try:
            tracer.stop()
            self._finished = True
        except Exception as exc:
            self._give_up(item, exc)

    def _give_up(self, item: pytest.Item, exc: Exception) -> None:
        """No trace for this test: say why, and make sure nothing records on."""
        _stop_quietly(self._tracer)
        self._tracer = None
        self._given_up = True
        self.tally.note(f"no trace for {item.nodeid}: {_reason(exc)}")

    def _finish(self, item: pytest.Item) -> None:
        tracer, self._tracer = self._tracer, None
        self._given_up = False
        if tracer is None:  # the phases traced did not run (a skip in setup), or could not be traced
            return
        try:
            if tracer.running:  # the last traced phase never ended (pytest stopped early)
                tracer.stop()
                self._finished = True
            if not self._finished:
                self.tally.note(f"no trace for {item.nodeid}: it started a pulsetrace Tracer of its own")
                return
            _save(tracer.trace, self.directory / self.names.name_for(item.nodeid), self.tally)
        except Exception as exc:
            self.tally.note(f"could not save the trace of {item.nodeid}: {_reason(exc)}")

    # -- the end -----------------------------------------------------------------------------------

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        tally = self.tally
        plural = "" if tally.traces == 1 else "s"
        where = self.plan.shown.rstrip("/\\") + "/"
        size = f" ({tally.calls} calls, {format_size(tally.bytes_written)})" if tally.traces else ""
        terminalreporter.write_line(f"pulsetrace: wrote {tally.traces} trace{plural}{size} to {where}")
        for line in tally.note_lines():
            terminalreporter.write_line(line)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        _stop_quietly(self._tracer)


class SessionTracing:
    """One trace from the start of the session (collection included) to its end.

    A test that starts a pulsetrace Tracer of its own ends the session trace there (the trace then
    covers the session up to that test, and a note says so).
    """

    def __init__(self, plan: TracingPlan) -> None:
        assert plan.session_file is not None
        self.plan = plan
        self.path = plan.session_file
        self.tally = Tally()
        self._tracer: Optional[Tracer] = None
        self._finished = False
        self._displaced_noted = False

    @pytest.hookimpl(trylast=True)  # after the other plugins' session start: the header is printed
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        try:
            tracer = Tracer(options=self.plan.options, gives_way=True)
            tracer.start()
            self._tracer = tracer
        except Exception as exc:
            self.tally.note(f"no session trace: {_reason(exc)}")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: Optional[pytest.Item]) -> Iterator[None]:
        yield
        tracer = self._tracer
        if tracer is not None and not tracer.running and not self._displaced_noted:
            self._displaced_noted = True
            self.tally.note(
                f"the session trace ends at {item.nodeid}: it started a pulsetrace Tracer of its own"
            )

    @pytest.hookimpl(tryfirst=True)  # before the other plugins' session finish; the summary comes after
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        tracer = self._tracer
        if tracer is None:
            return
        try:
            if tracer.running:
                tracer.stop()
            _save(tracer.trace, self.path, self.tally)
        except Exception as exc:
            self.tally.note(f"could not save the session trace to {self.plan.shown}: {_reason(exc)}")
        self._tracer = None

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        tally = self.tally
        if tally.traces:
            size = format_size(tally.bytes_written)
            terminalreporter.write_line(
                f"pulsetrace: wrote {tally.calls} calls ({size}) to {self.plan.shown}"
            )
        for line in tally.note_lines():
            terminalreporter.write_line(line)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        _stop_quietly(self._tracer)


def _stop_quietly(tracer: Optional[Tracer]) -> None:
    """Stop a tracer the session left recording (pytest ended early): nothing else records after pytest."""
    if tracer is not None and tracer.running:
        try:
            tracer.stop()
        except Exception:
            pass
