"""The line collector on every line backend: hits, self and total times (with a clock the traced code
moves itself, so every number is exact), call edges, recursion, generators, exceptions, threads,
summaries of code outside the project, and the frame that started it."""

from __future__ import annotations

import dis
import os
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Tuple

import pytest

from pulsetrace import Tracer
from pulsetrace.filegroups import FileGrouper
from pulsetrace.linecollect import (
    C_LINE_BACKENDS,
    LINE_BACKENDS,
    PYTHON_LINE_BACKENDS,
    LineCollector,
    LineCollectorError,
    choose_line_backend,
)
from pulsetrace.model.lines import CodeKey, LineStat, LineStats
from pulsetrace.model.native import read_trace
from pulsetrace.tracer import TracerError

HERE = os.path.abspath(__file__)


class ProgramClock:
    """A clock only the traced code moves (``CLOCK.now += n`` is no call, so it is nobody's callee)."""

    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


CLOCK = ProgramClock()


def first_line(function: Callable[..., object]) -> int:
    return function.__code__.co_firstlineno


# The traced functions. Line numbers are taken relative to each def, so edits above do not matter.


def leaf() -> None:
    CLOCK.now += 100  # +1
    CLOCK.now += 10  # +2


def caller() -> None:
    CLOCK.now += 1  # +1
    leaf()  # +2
    CLOCK.now += 5  # +3


def recurse(n: int) -> None:
    CLOCK.now += 1  # +1
    if n:  # +2
        recurse(n - 1)  # +3


def generate() -> Iterator[int]:
    CLOCK.now += 7  # +1
    yield 1  # +2
    CLOCK.now += 3  # +3


def consume() -> None:
    for _ in generate():  # +1
        CLOCK.now += 100  # +2


def boom() -> None:
    CLOCK.now += 4  # +1
    raise ValueError("boom")  # +2


def catch() -> None:
    try:  # +1
        boom()  # +2
    except ValueError:  # +3
        CLOCK.now += 2  # +4


def uses_stdlib() -> str:
    return textwrap.dedent("  x\n  y\n")  # +1


@pytest.fixture(params=LINE_BACKENDS)
def collector(request: pytest.FixtureRequest) -> Iterator[LineCollector]:
    made = LineCollector(backend=request.param, grouper=FileGrouper(os.path.dirname(HERE)), clock=CLOCK)
    yield made
    if made.running:
        made.stop()


def collect(collector: LineCollector, work: Callable[[], object]) -> LineStats:
    collector.start()
    try:
        work()
    finally:
        stats = collector.stop()
    return stats


def numbers(stats: LineStats, function: Callable[..., object]) -> Dict[int, Tuple[int, int, int]]:
    """Line offset from the def -> (hits, self_ns, total_ns), for the lines of ``function``."""
    start = first_line(function)
    lines = stats.files[HERE]
    return {
        lineno - start: (stat.hits, stat.self_ns, stat.total_ns)
        for lineno, stat in lines.items()
        if start < lineno <= start + 6 and lineno in _body_lines(function)
    }


def _body_lines(function: Callable[..., object]) -> List[int]:
    code = function.__code__
    return sorted({line for _, line in dis.findlinestarts(code) if line and line > code.co_firstlineno})


def key(function: Callable[..., object]) -> CodeKey:
    return CodeKey(HERE, first_line(function), function.__qualname__)


def test_self_and_total_time_of_lines_and_their_callee(collector: LineCollector) -> None:
    stats = collect(collector, caller)
    assert numbers(stats, leaf) == {1: (1, 100, 100), 2: (1, 10, 10)}
    assert numbers(stats, caller) == {1: (1, 1, 1), 2: (1, 0, 110), 3: (1, 5, 5)}
    (edge,) = stats.callees_of(HERE, first_line(caller) + 2)
    assert (edge.callee, edge.count, edge.total_ns) == (key(leaf), 1, 110)
    assert stats.callers_of(key(leaf)) == [edge]


def test_recursion_counts_each_moment_once_in_totals(collector: LineCollector) -> None:
    stats = collect(collector, lambda: recurse(2))
    # three frames; the recursive line's total is the outermost frame's (rec(1) took 2), self is 0
    assert numbers(stats, recurse) == {1: (3, 3, 3), 2: (3, 0, 0), 3: (2, 0, 2)}
    inner = stats.edges[(HERE, first_line(recurse) + 3, key(recurse))]
    assert (inner.count, inner.total_ns) == (2, 2)


def test_generator_resumes_at_its_line_without_a_hit(collector: LineCollector) -> None:
    stats = collect(collector, consume)
    assert numbers(stats, generate) == {1: (1, 7, 7), 2: (1, 0, 0), 3: (1, 3, 3)}
    loop_hits, loop_self, loop_total = numbers(stats, consume)[1]
    assert (loop_hits, loop_self, loop_total) == (2, 0, 10)
    assert numbers(stats, consume)[2] == (1, 100, 100)
    edge = stats.edges[(HERE, first_line(consume) + 1, key(generate))]
    assert (edge.count, edge.total_ns) == (1, 10)  # one call, its time over both entries


def test_exception_ends_the_frame_and_the_handler_counts(collector: LineCollector) -> None:
    stats = collect(collector, catch)
    assert numbers(stats, boom) == {1: (1, 4, 4), 2: (1, 0, 0)}
    counted = numbers(stats, catch)
    assert counted[2] == (1, 0, 4)
    assert counted[4] == (1, 2, 2)


def test_the_block_that_started_the_collector_is_counted(collector: LineCollector) -> None:
    collector.start()
    CLOCK.now += 50
    marker = sys._getframe().f_lineno - 1
    stats = collector.stop()
    assert (stats.files[HERE][marker].hits, stats.files[HERE][marker].self_ns) == (1, 50)


def test_threads_started_while_collecting_are_counted(collector: LineCollector) -> None:
    def work() -> None:
        thread = threading.Thread(target=caller)
        thread.start()
        thread.join()
        caller()

    stats = collect(collector, work)
    assert numbers(stats, leaf) == {1: (2, 200, 200), 2: (2, 20, 20)}
    assert stats.edges[(HERE, first_line(caller) + 2, key(leaf))].count == 2


def test_standard_library_is_summarised_per_function(collector: LineCollector) -> None:
    stats = collect(collector, uses_stdlib)
    dedent = CodeKey(textwrap.__file__, first_line(textwrap.dedent), "dedent")
    assert textwrap.__file__ not in stats.files
    assert stats.functions[dedent].calls == 1
    edge = stats.edges[(HERE, first_line(uses_stdlib) + 1, dedent)]
    assert edge.count == 1
    assert stats.functions[dedent].total_ns == edge.total_ns


@pytest.mark.parametrize("backend", LINE_BACKENDS)
def test_detail_all_keeps_the_standard_library_line_by_line(backend: str) -> None:
    collector = LineCollector(backend=backend, detail="all", clock=CLOCK)
    stats = collect(collector, uses_stdlib)
    assert textwrap.__file__ in stats.files
    assert not any(code.filename == textwrap.__file__ for code in stats.functions)
    body = _body_lines(textwrap.dedent)
    assert set(stats.files[textwrap.__file__]) & set(body)


def test_real_clock_numbers_hold_together(collector: LineCollector) -> None:
    real = LineCollector(backend=collector.backend, grouper=FileGrouper(os.path.dirname(HERE)))
    stats = collect(real, lambda: [recurse(8) for _ in range(20)])
    lines = numbers(stats, recurse)
    assert [hits for hits, _, _ in lines.values()] == [180, 180, 160]
    for _, self_ns, total_ns in lines.values():
        assert 0 <= self_ns <= total_ns
    edge = stats.edges[(HERE, first_line(recurse) + 3, key(recurse))]
    assert edge.count == 160
    assert edge.total_ns <= lines[3][2]


def test_pulsetrace_code_is_never_counted(collector: LineCollector) -> None:
    stats = collect(collector, caller)
    package = os.path.dirname(os.path.abspath(str(sys.modules["pulsetrace"].__file__)))
    assert not [name for name in stats.files if name.startswith(package)]
    assert not [code for code in stats.functions if code.filename.startswith(package)]


def test_misuse_is_reported() -> None:
    with pytest.raises(LineCollectorError, match="line_detail 'some'"):
        LineCollector(detail="some")
    with pytest.raises(LineCollectorError, match="line backend 'nope'"):
        LineCollector(backend="nope")
    collector = LineCollector(clock=CLOCK)
    with pytest.raises(LineCollectorError, match="not running"):
        collector.stop()
    collector.start()
    try:
        with pytest.raises(LineCollectorError, match="already running"):
            collector.start()
    finally:
        collector.stop()


@pytest.mark.parametrize("backend", [name for name in LINE_BACKENDS if name.endswith("settrace")])
def test_another_trace_function_is_left_alone(backend: str) -> None:
    def other(frame: object, event: str, arg: object) -> None:
        return None

    sys.settrace(other)
    try:
        with pytest.raises(LineCollectorError, match="another trace function"):
            LineCollector(backend=backend, clock=CLOCK).start()
        assert sys.gettrace() is other
        assert threading.settrace is not None and getattr(threading, "_trace_hook", None) is None
    finally:
        sys.settrace(None)


def test_tracer_lines_option_puts_them_in_the_trace(tmp_path: Path) -> None:
    with Tracer(lines=True, output=str(tmp_path / "t.pulse")) as tracer:
        caller()
    stats = tracer.trace.process().lines
    assert stats is not None
    assert stats.files[HERE][first_line(leaf) + 1].hits == 1
    assert HERE in tracer.trace.process().sources
    assert read_trace(tmp_path / "t.pulse").process().lines == stats
    assert Tracer().options.lines is False
    with Tracer() as plain:
        caller()
    assert plain.trace.process().lines is None


def test_tracer_refuses_a_bad_line_detail() -> None:
    with pytest.raises(TracerError, match="bad value for line_detail"):
        Tracer(lines=True, line_detail="most")


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring tool ids exist on 3.12+")
def test_no_free_tool_id_is_a_clear_error() -> None:
    taken = [i for i in range(6) if sys.monitoring.get_tool(i) is None]
    for tool_id in taken:
        sys.monitoring.use_tool_id(tool_id, "someone else")
    try:
        with pytest.raises(LineCollectorError, match="no free sys.monitoring tool id for line statistics"):
            LineCollector(clock=CLOCK).start()
    finally:
        for tool_id in taken:
            sys.monitoring.free_tool_id(tool_id)


def test_a_summarised_function_has_the_time_of_its_lines(collector: LineCollector) -> None:
    detailed = collect(collector, lambda: (caller(), recurse(2)))
    summarised_codes = {caller.__code__, recurse.__code__}
    keeps_lines = collector.keeps_lines
    collector.keeps_lines = lambda code: False if code in summarised_codes else keeps_lines(code)  # type: ignore[method-assign]
    summarised = collect(collector, lambda: (caller(), recurse(2)))
    for function, calls in ((caller, 1), (recurse, 3)):
        line_self = sum(self_ns for _, self_ns, _ in numbers(detailed, function).values())
        summary = summarised.functions[key(function)]
        assert (summary.calls, summary.self_ns) == (calls, line_self)
    assert summarised.functions[key(caller)].total_ns == 116  # its lines (6) and leaf's (110)
    assert summarised.functions[key(recurse)].total_ns == 3  # the outermost frame's time only


def test_snapshots_while_counting_only_grow_and_end_at_the_final_counts(collector: LineCollector) -> None:
    taken: List[LineStats] = []
    final: List[LineStats] = []
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            taken.append(collector.snapshot())
            time.sleep(0.001)

    calls = [0]

    def work() -> None:
        poller = threading.Thread(target=poll)
        poller.start()
        while calls[0] < 3000 or len(taken) < 5:  # the poller gets its turns however slow it is
            caller()
            calls[0] += 1
        final.append(collector.snapshot())  # from the counting thread itself, after the loop
        done.set()
        poller.join()

    stats = collect(collector, work)
    made = calls[0]
    leaf_lines = [first_line(leaf) + 1, first_line(leaf) + 2]
    series = [[snap.files.get(HERE, {}).get(line, LineStat()).hits for line in leaf_lines] for snap in taken]
    for before, after in zip(series, series[1:]):
        assert all(b <= a <= made for b, a in zip(before, after))  # counts never go back
    assert [final[0].files[HERE][line].hits for line in leaf_lines] == [made, made]
    assert [stats.files[HERE][line].hits for line in leaf_lines] == [made, made]
    edge = (HERE, first_line(caller) + 2, key(leaf))
    assert final[0].edges[edge].count == stats.edges[edge].count == made
    with pytest.raises(LineCollectorError, match="not running"):
        collector.snapshot()


def test_tracer_lines_snapshot_matches_the_saved_trace(tmp_path: Path) -> None:
    with Tracer(lines=True, output=str(tmp_path / "t.pulse")) as tracer:
        for _ in range(200):
            caller()
        snapshot = tracer.lines_snapshot()
    saved = read_trace(tmp_path / "t.pulse").process().lines
    assert saved is not None
    for line in (first_line(leaf) + 1, first_line(leaf) + 2, first_line(caller) + 2):
        assert snapshot.files[HERE][line].hits == saved.files[HERE][line].hits == 200
    with pytest.raises(TracerError, match="not recording with lines=True"):
        tracer.lines_snapshot()
    with Tracer() as plain, pytest.raises(TracerError, match="not recording with lines=True"):
        plain.lines_snapshot()


def test_the_c_collector_is_the_default_and_the_choice_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULSETRACE_LINES_BACKEND", raising=False)
    backend, reason = choose_line_backend()
    if C_LINE_BACKENDS[0] in LINE_BACKENDS:
        assert backend == C_LINE_BACKENDS[0] and reason.startswith("C line collector")
    else:
        assert backend == PYTHON_LINE_BACKENDS[0] and "C extension" in reason
    monkeypatch.setenv("PULSETRACE_LINES_BACKEND", PYTHON_LINE_BACKENDS[-1])
    assert LineCollector().backend == PYTHON_LINE_BACKENDS[-1]
    assert choose_line_backend()[1] == f"Python line collector ({PYTHON_LINE_BACKENDS[-1]}), requested"


def test_include_and_exclude_files_apply_to_lines(tmp_path: Path) -> None:
    with Tracer(lines=True, exclude_files=[textwrap.__file__], output=str(tmp_path / "a.pulse")) as tracer:
        uses_stdlib()
    excluded = tracer.trace.process().lines
    assert excluded is not None
    assert not [code for code in excluded.functions if code.filename == textwrap.__file__]
    line = first_line(uses_stdlib) + 1  # dedent is not on the stack: what it calls is the line's callee
    assert excluded.files[HERE][line].hits == 1
    assert [edge.callee.name for edge in excluded.callees_of(HERE, line)] == ["sub"]
    with Tracer(lines=True, include_files=[textwrap.__file__], output=str(tmp_path / "b.pulse")) as tracer:
        uses_stdlib()
    included = tracer.trace.process().lines
    assert included is not None
    assert HERE not in included.files
    assert included.functions[CodeKey(textwrap.__file__, first_line(textwrap.dedent), "dedent")].calls == 1
