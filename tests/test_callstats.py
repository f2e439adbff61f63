"""Per-function call statistics (reports.callstats), their C twin, the terminal summary and
`pulsetrace report`."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

import pulsetrace
from corpus.harness import CoreChoice
from helpers_cli import run_pulsetrace, write
from pulsetrace.events import (
    ENTER_C,
    ENTER_CALL,
    ENTER_RESUME,
    EXIT_RETURN,
    EXIT_STOP,
    EXIT_UNWIND,
    EXIT_YIELD,
    FUNC_C,
    FUNC_PYTHON,
    pack,
)
from pulsetrace.extension import c_extension
from pulsetrace.model import ProcessTrace, ThreadTrace, Trace
from pulsetrace.recording import FunctionInfo
from pulsetrace.reports.callstats import CallStats
from pulsetrace.reports.summary import format_duration, summary_lines
from pulsetrace.writers import save

FUNCTIONS = [
    FunctionInfo(FUNC_PYTHON, "main", "/srv/app.py", 1),
    FunctionInfo(FUNC_PYTHON, "fact", "/srv/app.py", 5),
    FunctionInfo(FUNC_C, "builtins.len", "", 0),
    FunctionInfo(FUNC_PYTHON, "gen", "/srv/app.py", 9),
    FunctionInfo(FUNC_PYTHON, "never", "/srv/app.py", 20),
]


def process_of(*threads: List[Tuple[int, int, int]]) -> ProcessTrace:
    """A process whose threads hold these (ns, kind, func) records."""
    return ProcessTrace(
        pid=7,
        name="python app.py",
        functions=list(FUNCTIONS),
        threads=[
            ThreadTrace(i + 1, i + 1, f"t{i}", [b"".join(pack(*record) for record in records)])
            for i, records in enumerate(threads)
        ],
        start_ns=0,
        stop_ns=1_000,
        wall_anchor_ns=0,
        mono_anchor_ns=0,
    )


# main [0, 100): fact [10, 60) -> fact [20, 50) -> len [30, 35); gen resumed twice; fact unwinds.
MAIN_THREAD = [
    (0, ENTER_CALL, 0),
    (10, ENTER_CALL, 1),
    (20, ENTER_CALL, 1),
    (30, ENTER_C, 2),
    (35, EXIT_RETURN, 2),
    (50, EXIT_RETURN, 1),
    (60, EXIT_RETURN, 1),
    (62, ENTER_CALL, 3),
    (64, EXIT_YIELD, 3),
    (70, ENTER_RESUME, 3),
    (75, EXIT_RETURN, 3),
    (80, ENTER_CALL, 1),
    (90, EXIT_UNWIND, 1),
    (100, EXIT_RETURN, 0),
]
OTHER_THREAD = [(500, ENTER_CALL, 1), (520, ENTER_C, 2), (521, EXIT_STOP, 2), (521, EXIT_STOP, 1)]


def figures(stats: CallStats) -> Dict[str, Tuple[int, int, int, int, int, int]]:
    return {
        f.name: (f.calls, f.primitive_calls, f.slices, f.total_ns, f.self_ns, f.max_ns)
        for f in stats.functions.values()
    }


EXPECTED = {
    "main": (1, 1, 1, 100, 100 - 50 - 7 - 10, 100),
    # recursion: total counts the outer call only (50, plus 10 and 21 for the others)
    "fact": (4, 3, 4, 50 + 10 + 21, (50 - 30) + (30 - 5) + 10 + (21 - 1), 50),
    "builtins.len": (2, 2, 2, 6, 6, 5),
    "gen": (1, 1, 2, 7, 7, 5),  # resumed once: two slices, one call
}


@pytest.mark.parametrize("callers", [True, False])
def test_exact_figures(callers: bool) -> None:
    stats = CallStats.of(process_of(MAIN_THREAD, OTHER_THREAD), callers=callers)
    assert figures(stats) == EXPECTED  # "never" ran in no thread: no row
    assert stats.wall_ns == 1_000 and stats.self_ns == sum(v[4] for v in EXPECTED.values())
    if callers:
        fact = next(f for f in stats.functions.values() if f.name == "fact")
        assert {k: (e.calls, e.primitive_calls, e.total_ns) for k, e in fact.callers.items()} == {
            0: (2, 2, 50 + 10),  # from main
            1: (1, 0, 0),  # from itself: not primitive, its time already counted
            None: (1, 1, 21),  # the other thread's top level
        }


def test_processes_combined() -> None:
    """A program and its child processes in one table: a function is the same function in every
    process where it has the same kind, name, file and line, whatever its index there."""
    parent = CallStats.of(process_of(MAIN_THREAD, OTHER_THREAD), callers=False)
    # The child's table has "fact" at index 0 and "main" at index 1: fact [0, 50) -> main [40, 45).
    child_process = process_of(
        [(0, ENTER_CALL, 0), (40, ENTER_CALL, 1), (45, EXIT_RETURN, 1), (50, EXIT_RETURN, 0)]
    )
    child_process.functions = [FUNCTIONS[1], FUNCTIONS[0]]
    child = CallStats.of(child_process, callers=False)
    combined = CallStats.combined([parent, child])
    assert (combined.pid, combined.wall_ns, combined.processes) == (parent.pid, parent.wall_ns, 2)
    assert figures(combined) == {
        **EXPECTED,
        "fact": (5, 4, 5, 81 + 50, 75 + 45, 50),  # the child's outer slice is its "fact" [0, 50)
        "main": (2, 2, 2, 105, 33 + 5, 100),
    }
    assert summary_lines(combined)[0] == "10 calls in 1.00 µs (2 processes); all functions by self time"


def test_bad_streams_are_refused_by_the_c_twin() -> None:
    core = c_extension()
    if core is None:
        pytest.skip("the C extension is not built")
    rows = bytearray(48 * len(FUNCTIONS))
    with pytest.raises(ValueError, match="function the table does not have"):
        core.function_totals([pack(0, ENTER_CALL, 9)], len(FUNCTIONS), rows)
    with pytest.raises(ValueError, match="six int64"):
        core.function_totals([], len(FUNCTIONS), bytearray(5))
    with pytest.raises(ValueError, match="whole 12-byte records"):
        core.function_totals([b"x" * 5], len(FUNCTIONS), rows)


def work() -> int:
    def fib(n: int) -> int:
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    def numbers() -> object:
        yield from range(3)

    worker = threading.Thread(target=fib, args=(12,))
    worker.start()
    total = fib(15) + sum(numbers()) + len(sorted([3, 1, 2]))
    worker.join()
    try:
        int("x")
    except ValueError:
        pass
    return total


def test_c_and_python_walks_agree_on_a_real_trace(core: CoreChoice) -> None:
    tracer = pulsetrace.Tracer(core=core.core, backend=core.backend)
    tracer.start()
    work()
    process = tracer.stop().process()
    fast, full = CallStats.of(process, callers=False), CallStats.of(process)
    assert figures(fast) == figures(full)
    fib = next(f for f in full.functions.values() if f.name.endswith("fib"))
    assert fib.calls == 1973 + 465 and fib.primitive_calls == 2  # fib(15) and fib(12)
    # every call of a function is reached through one of its callers
    for stats in full.functions.values():
        assert sum(e.calls for e in stats.callers.values()) == stats.calls


def test_summary_table() -> None:
    stats = CallStats.of(process_of(MAIN_THREAD, OTHER_THREAD))
    lines = summary_lines(stats, top=2)
    assert lines[0] == "8 calls in 1.00 µs; top 2 of 4 functions by self time"
    assert lines[1].split() == ["calls", "self", "%", "total", "function"]
    assert lines[2].split() == ["4", "75", "ns", "7.5", "81", "ns", "fact", "(app.py:5)"]
    assert lines[3].split() == ["1", "33", "ns", "3.3", "100", "ns", "main", "(app.py:1)"]
    assert len(lines) == 4
    assert summary_lines(CallStats.of(process_of([]))) == []
    assert [format_duration(ns) for ns in (999, 1_500, 99_960, 2_500_000, 61e9)] == [
        "999 ns",
        "1.50 µs",
        "100 µs",
        "2.50 ms",
        "61.0 s",
    ]


def test_report_command(tmp_path: Path) -> None:
    trace = Trace([process_of(MAIN_THREAD, OTHER_THREAD)])
    save(trace, tmp_path / "t.pulse")
    shown = run_pulsetrace(["report", "t.pulse", "--top", "1"], tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[2].split()[-2:] == ["fact", "(app.py:5)"]
    assert len(shown.stdout.splitlines()) == 3

    converted = run_pulsetrace(["report", "t.pulse", "-o", "t.json"], tmp_path)
    assert converted.returncode == 0, converted.stderr
    assert converted.stderr == "pulsetrace: wrote 9 calls to t.json\n"  # slices: the resumption too
    assert (tmp_path / "t.json").read_text().startswith('{"traceEvents":[')


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.pulse"], "missing.pulse: cannot read"),
        (["prog.py"], "prog.py: not a trace"),
        (["t.pulse", "-o", "t.unknown"], "cannot tell the output format"),
        (["t.pulse", "-o", "t.json", "--top", "3"], "not both"),
    ],
)
def test_report_errors(tmp_path: Path, args: List[str], message: str) -> None:
    save(Trace([process_of(MAIN_THREAD)]), tmp_path / "t.pulse")
    write(tmp_path / "prog.py", "print(1)\n")
    result = run_pulsetrace(["report", *args], tmp_path)
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.startswith("pulsetrace: error: ") and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_report_reads_chrome_json_from_other_tools(tmp_path: Path) -> None:
    events = [
        {"ph": "M", "pid": 1, "tid": 2, "name": "thread_name", "args": {"name": "worker"}},
        {"ph": "X", "pid": 1, "tid": 2, "ts": 0.0, "dur": 10.0, "name": "outer (/srv/a.py:3)"},
        {"ph": "X", "pid": 1, "tid": 2, "ts": 2.0, "dur": 5.0, "name": "inner (/srv/a.py:9)"},
        {"ph": "X", "pid": 1, "tid": 2, "ts": 20.0, "dur": 5.0, "name": "inner (/srv/a.py:9)"},
    ]
    (tmp_path / "other.json").write_text(json.dumps({"traceEvents": events}))
    shown = run_pulsetrace(["report", "other.json"], tmp_path)
    assert shown.returncode == 0, shown.stderr
    rows = [line.split() for line in shown.stdout.splitlines()[2:]]
    assert rows == [
        ["2", "10.0", "µs", "40.0", "10.0", "µs", "inner", "(a.py:9)"],
        ["1", "5.00", "µs", "20.0", "10.0", "µs", "outer", "(a.py:3)"],
    ]
