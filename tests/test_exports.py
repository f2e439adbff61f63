"""The pstats, collapsed-stacks and speedscope exports: exact figures on hand-built traces, the
formats' own rules on real recordings by every core, and the choice of writer by file name."""

from __future__ import annotations

import io
import json
import os
import pstats
import re
import threading
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

import pulsetrace
from corpus.harness import CoreChoice
from helpers_cli import run_pulsetrace, write
from pulsetrace.events import (
    ENTER_C,
    ENTER_CALL,
    ENTER_KINDS,
    ENTER_RESUME,
    EXIT_RETURN,
    EXIT_STOP,
    EXIT_UNWIND,
    EXIT_YIELD,
    FUNC_C,
    FUNC_PYTHON,
    pack,
)
from pulsetrace.model import ProcessTrace, ThreadTrace, Trace
from pulsetrace.recording import FunctionInfo
from pulsetrace.reports.callstats import call_stats
from pulsetrace.reports.stacks import self_time_by_stack
from pulsetrace.writers import save, writer_for
from pulsetrace.writers.collapsed import clean_frame, collapsed_lines
from pulsetrace.writers.pstats_writer import PstatsKey, pstats_key, pstats_table
from pulsetrace.writers.speedscope import SCHEMA

START = 1_000_000

# -- a hand-built trace with figures worked out on paper ---------------------------------------------

FUNCTIONS = [
    FunctionInfo(FUNC_PYTHON, "main", "/app/prog.py", 1),
    FunctionInfo(FUNC_PYTHON, "Tree.fib", "/app/prog.py", 5),
    FunctionInfo(FUNC_C, "builtins.len", "", 0),
    FunctionInfo(FUNC_PYTHON, "numbers", "/app/prog.py", 9),
    FunctionInfo(FUNC_PYTHON, "odd;name\nhere", "/app/we;ird.py", 20),
]
MAIN, FIB, LEN, GEN, ODD = range(5)
MAIN_KEY = ("/app/prog.py", 1, "main")
FIB_KEY = ("/app/prog.py", 5, "Tree.fib")
LEN_KEY = ("~", 0, "<built-in method builtins.len>")
GEN_KEY = ("/app/prog.py", 9, "numbers")
ODD_KEY = ("/app/we;ird.py", 20, "odd;name\nhere")


def records(*events: Tuple[int, int, int]) -> bytes:
    """(ns after START, kind, func) triples, packed."""
    return b"".join(pack(START + ns, kind, func) for ns, kind, func in events)


def hand_trace() -> Trace:
    """Main thread: main -> fib -> fib, a C call, a generator resumed once. Worker: fib -> len
    unwinding, then a slice still open at stop."""
    main = records(
        (1000, ENTER_CALL, MAIN),
        (2000, ENTER_CALL, FIB),
        (3000, ENTER_CALL, FIB),
        (5000, EXIT_RETURN, FIB),  # 2000, all self
        (8000, EXIT_RETURN, FIB),  # 6000, 4000 self
        (9000, ENTER_C, LEN),
        (9500, EXIT_RETURN, LEN),  # 500
        (10000, ENTER_CALL, GEN),
        (11000, EXIT_YIELD, GEN),  # 1000
        (12000, ENTER_RESUME, GEN),
        (14000, EXIT_RETURN, GEN),  # 2000
        (20000, EXIT_RETURN, MAIN),  # 19000, 9500 self
    )
    worker = records(
        (30000, ENTER_CALL, FIB),
        (31000, ENTER_C, LEN),
        (31250, EXIT_UNWIND, LEN),  # 250
        (34000, EXIT_UNWIND, FIB),  # 4000, 3750 self
        (40000, ENTER_CALL, ODD),
        (100000, EXIT_STOP, ODD),  # 60000
    )
    process = ProcessTrace(
        pid=42,
        name="python prog.py",
        functions=list(FUNCTIONS),
        # records split across chunks, as the cores hand them over
        threads=[
            ThreadTrace(1, 100, "MainThread", [main[:36], main[36:]]),
            ThreadTrace(2, 101, "work;er\n1", [worker]),
        ],
        start_ns=START,
        stop_ns=START + 100000,
        wall_anchor_ns=1_700_000_000_000_000_000,
        mono_anchor_ns=START,
    )
    return Trace([process])


def seconds(ns: int) -> float:
    return ns / 1e9


# -- recording a real program ----------------------------------------------------------------------


def _fib(n: int) -> int:
    return n if n < 2 else _fib(n - 1) + _fib(n - 2)


def _numbers() -> Any:
    yield 1
    yield 2


def _fails() -> None:
    raise ValueError("boom")


def _work() -> int:
    total = _fib(7) + len(sorted([3, 1, 2]))
    for number in _numbers():
        total += number
    try:
        _fails()
    except ValueError:
        total += 1
    index = 0
    while index < 3000:  # self time of its own, so _work's stack outweighs a microsecond
        index += 1
    return total


def _program() -> None:
    worker = threading.Thread(target=_work, name="worker")
    worker.start()
    _work()
    worker.join()


def record(core: CoreChoice) -> Trace:
    tracer = pulsetrace.Tracer(core=core.core, backend=core.backend)
    tracer.start()
    try:
        _program()
    finally:
        trace = tracer.stop()
    return trace


THIS_FILE = os.path.abspath(__file__)


def key_of(function: Any) -> PstatsKey:
    return (THIS_FILE, function.__code__.co_firstlineno, function.__qualname__)


# -- pstats ----------------------------------------------------------------------------------------


def test_pstats_table_of_a_hand_built_trace_is_exact() -> None:
    table = pstats_table(hand_trace())
    assert table == {
        MAIN_KEY: (1, 1, seconds(9500), seconds(19000), {}),
        FIB_KEY: (
            2,
            3,
            seconds(9750),
            seconds(10000),
            # callers hold (nc, cc, tt, ct), cProfile's order; the recursive call is not primitive
            # and its time is inside the outer call's, so it adds nothing to ct
            {MAIN_KEY: (1, 1, seconds(4000), seconds(6000)), FIB_KEY: (1, 0, seconds(2000), 0.0)},
        ),
        LEN_KEY: (
            2,
            2,
            seconds(750),
            seconds(750),
            {MAIN_KEY: (1, 1, seconds(500), seconds(500)), FIB_KEY: (1, 1, seconds(250), seconds(250))},
        ),
        # a resumption adds time, not a call
        GEN_KEY: (1, 1, seconds(3000), seconds(3000), {MAIN_KEY: (1, 1, seconds(3000), seconds(3000))}),
        ODD_KEY: (1, 1, seconds(60000), seconds(60000), {}),
    }


def test_pstats_file_loads_in_the_standard_library(tmp_path: Path) -> None:
    path = tmp_path / "hand.pstats"
    result = save(hand_trace(), str(path))
    assert result.format == "pstats"
    stats = pstats.Stats(str(path))
    assert stats.total_calls == 8  # type: ignore[attr-defined]
    assert stats.prim_calls == 7  # type: ignore[attr-defined]
    assert stats.total_tt == pytest.approx(seconds(9500 + 9750 + 750 + 3000 + 60000))  # type: ignore[attr-defined]
    assert stats.stats[FIB_KEY][:4] == (2, 3, seconds(9750), seconds(10000))  # type: ignore[attr-defined]
    out = io.StringIO()
    pstats.Stats(str(path), stream=out).sort_stats("cumulative").print_stats()
    text = out.getvalue()
    assert "8 function calls (7 primitive calls)" in text
    assert "{built-in method builtins.len}" in text  # "~" keys print the way cProfile's built-ins do
    assert "prog.py:5(Tree.fib)" in text
    assert "3/2" in text  # fib: all calls / primitive calls
    out = io.StringIO()
    pstats.Stats(str(path), stream=out).print_callers("len")
    assert "prog.py:5(Tree.fib)" in out.getvalue() and "prog.py:1(main)" in out.getvalue()


def test_pstats_merges_processes_by_key() -> None:
    one = hand_trace()
    two = hand_trace()
    two.processes[0].pid = 43
    merged = pstats_table(Trace(one.processes + two.processes))
    single = pstats_table(one)
    assert merged.keys() == single.keys()
    cc, nc, tt, ct, callers = merged[FIB_KEY]
    assert (cc, nc) == (4, 6)
    assert tt == seconds(2 * 9750) and ct == seconds(2 * 10000)
    assert callers[MAIN_KEY] == (2, 2, seconds(8000), seconds(12000))


def test_pstats_of_a_recording_matches_callstats(core: CoreChoice, tmp_path: Path) -> None:
    trace = record(core)
    path = tmp_path / "real.prof"
    save(trace, str(path))
    stats = pstats.Stats(str(path))
    # The oracle: CallStats summed by key (ns, exact), then made seconds.
    expected: Dict[PstatsKey, List[int]] = {}
    for process_stats in call_stats(trace):
        for function in process_stats.functions.values():
            figures = expected.setdefault(pstats_key(function.info), [0, 0, 0, 0])
            figures[0] += function.primitive_calls
            figures[1] += function.calls
            figures[2] += function.self_ns
            figures[3] += function.total_ns
    table = stats.stats  # type: ignore[attr-defined]
    assert set(table) == set(expected)
    for key, (cc, nc, tt, ct) in expected.items():
        assert table[key][:4] == (cc, nc, pytest.approx(seconds(tt)), pytest.approx(seconds(ct))), key
    assert stats.total_calls == sum(f[1] for f in expected.values())  # type: ignore[attr-defined]

    fib, work, fails, numbers = key_of(_fib), key_of(_work), key_of(_fails), key_of(_numbers)
    assert table[fib][1] == 2 * 41  # fib(7) makes 41 calls, in each of two threads
    assert table[fib][0] == 2  # one primitive call per thread
    assert set(table[fib][4]) == {work, fib}
    assert table[fib][4][work][:2] == (2, 2)
    assert table[fib][4][fib][:2] == (80, 0)
    assert table[fails][1] == 2 and set(table[fails][4]) == {work}
    assert table[numbers][1] == 2 and work in table[numbers][4]
    assert table[("~", 0, "<built-in method builtins.sorted>")][4][work][:2] == (2, 2)
    assert table[work][1] == 2
    out = io.StringIO()
    pstats.Stats(str(path), stream=out).sort_stats("cumulative").print_stats()
    assert "_fib" in out.getvalue()


# -- collapsed stacks ------------------------------------------------------------------------------

LINE = re.compile(r"^[^\n]+ \d+$")


def test_collapsed_lines_of_a_hand_built_trace_are_exact() -> None:
    main = "python prog.py (pid 42);MainThread (tid 100)"
    assert collapsed_lines(hand_trace()) == [
        f"{main};main (prog.py:1) 10",  # 9.5 µs rounds half up
        f"{main};main (prog.py:1);Tree.fib (prog.py:5) 4",
        f"{main};main (prog.py:1);Tree.fib (prog.py:5);Tree.fib (prog.py:5) 2",
        f"{main};main (prog.py:1);builtins.len 1",
        f"{main};main (prog.py:1);numbers (prog.py:9) 3",  # both slices of the generator
        # the worker's name and the odd function lose their ";" and line break; fib -> len (0.25 µs)
        # rounds to nothing and is left out
        "python prog.py (pid 42);work,er 1 (tid 101);Tree.fib (prog.py:5) 4",
        "python prog.py (pid 42);work,er 1 (tid 101);odd,name here (we,ird.py:20) 60",
    ]


def test_collapsed_frames_never_break_the_format() -> None:
    assert clean_frame("a;b\nc\r\nd\u2028e\x85f g") == "a,b c  d e f g"
    for line in collapsed_lines(hand_trace()):
        assert LINE.match(line) and len(line.splitlines()) == 1


def test_collapsed_file_of_a_recording(core: CoreChoice, tmp_path: Path) -> None:
    trace = record(core)
    path = tmp_path / "real.folded"
    assert save(trace, str(path)).format == "collapsed"
    text = path.read_text("utf-8")
    assert text.endswith("\n")
    lines = text.splitlines()
    assert lines == sorted(lines) and len(set(lines)) == len(lines)
    process = trace.processes[0]
    thread_frames = {f"{t.name} (tid {t.native_id})" for t in process.threads}
    weights = 0
    seen_threads = set()
    for line in lines:
        assert LINE.match(line), line
        stack, weight = line.rsplit(" ", 1)
        assert int(weight) > 0
        weights += int(weight)
        frames = stack.split(";")
        assert frames[0] == f"{process.name} (pid {process.pid})"
        assert frames[1] in thread_frames
        assert len(frames) >= 3
        seen_threads.add(frames[1])
    assert len(seen_threads) == 2  # the main thread and the worker, apart
    work = f"_work ({os.path.basename(THIS_FILE)}:{_work.__code__.co_firstlineno})"
    assert sum(line.split(";")[-1].startswith(work + " ") for line in lines) == 2  # once per thread
    # Self time adds up: each line is rounded once, so the sum is within half a µs per stack.
    self_ns = sum(s.self_ns for s in call_stats(trace))
    stacks = sum(len(self_time_by_stack(t)) for p in trace.processes for t in p.threads)
    assert abs(weights * 1000 - self_ns) <= 500 * stacks


def test_stack_self_times_add_up_to_callstats_self_time(core: CoreChoice) -> None:
    trace = record(core)
    process = trace.processes[0]
    by_stack = [self_time_by_stack(thread) for thread in process.threads]
    assert sum(sum(stacks.values()) for stacks in by_stack) == call_stats(trace)[0].self_ns
    fib = next(i for i, f in enumerate(process.functions) if f.name == "_fib")
    # fib(7) recurses six levels below the first call
    assert any(stack.count(fib) == 7 for stacks in by_stack for stack in stacks)


# -- speedscope ------------------------------------------------------------------------------------

UNITS = {"none", "nanoseconds", "microseconds", "milliseconds", "seconds", "bytes"}


def check_speedscope(document: Any) -> None:
    """The rules of speedscope's file-format schema for evented profiles, and its importer's:
    every frame opened is closed, innermost first, and time never goes back."""
    assert isinstance(document, dict)
    assert document["$schema"] == SCHEMA
    assert set(document) <= {"$schema", "shared", "profiles", "name", "activeProfileIndex", "exporter"}
    frames = document["shared"]["frames"]
    assert isinstance(frames, list)
    for frame in frames:
        assert isinstance(frame["name"], str)
        assert set(frame) <= {"name", "file", "line", "col"}
        assert isinstance(frame.get("file", ""), str)
        assert isinstance(frame.get("line", 0), int) and frame.get("line", 0) >= 0
    profiles = document["profiles"]
    assert isinstance(profiles, list)
    for key in ("name", "exporter"):
        assert isinstance(document.get(key, ""), str)
    if "activeProfileIndex" in document:
        assert 0 <= document["activeProfileIndex"] < len(profiles)
    for profile in profiles:
        assert set(profile) == {"type", "name", "unit", "startValue", "endValue", "events"}
        assert profile["type"] == "evented"
        assert isinstance(profile["name"], str)
        assert profile["unit"] in UNITS
        start, end = profile["startValue"], profile["endValue"]
        assert isinstance(start, (int, float)) and isinstance(end, (int, float)) and start <= end
        open_frames: List[int] = []
        previous = start
        for event in profile["events"]:
            assert set(event) == {"type", "frame", "at"}
            assert isinstance(event["frame"], int) and 0 <= event["frame"] < len(frames)
            at = event["at"]
            assert isinstance(at, (int, float)) and previous <= at <= end
            previous = at
            if event["type"] == "O":
                open_frames.append(event["frame"])
            else:
                assert event["type"] == "C"
                assert open_frames and open_frames.pop() == event["frame"]
        assert open_frames == []


def test_speedscope_of_a_hand_built_trace_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "hand.speedscope.json"
    assert save(hand_trace(), str(path)).format == "speedscope"
    document = json.loads(path.read_bytes())
    check_speedscope(document)
    assert document["name"] == "python prog.py"
    assert document["exporter"] == f"pulsetrace {pulsetrace.__version__}"
    assert document["activeProfileIndex"] == 0
    assert document["shared"]["frames"] == [
        {"name": "main", "file": "/app/prog.py", "line": 1},
        {"name": "Tree.fib", "file": "/app/prog.py", "line": 5},
        {"name": "builtins.len"},
        {"name": "numbers", "file": "/app/prog.py", "line": 9},
        {"name": "odd;name\nhere", "file": "/app/we;ird.py", "line": 20},
    ]
    main, worker = document["profiles"]
    assert main["name"] == "python prog.py (pid 42) MainThread (tid 100)"
    assert (main["unit"], main["startValue"], main["endValue"]) == ("nanoseconds", 0, 100000)
    assert worker["events"] == [
        {"type": "O", "frame": FIB, "at": 30000},
        {"type": "O", "frame": LEN, "at": 31000},
        {"type": "C", "frame": LEN, "at": 31250},
        {"type": "C", "frame": FIB, "at": 34000},
        {"type": "O", "frame": ODD, "at": 40000},
        {"type": "C", "frame": ODD, "at": 100000},  # closed at stop
    ]
    assert [(e["type"], e["at"]) for e in main["events"][:3]] == [("O", 1000), ("O", 2000), ("O", 3000)]
    assert len(main["events"]) == 12


def test_speedscope_shares_frames_between_processes_and_skips_empty_threads(tmp_path: Path) -> None:
    one = hand_trace()
    two = hand_trace()
    two.processes[0].pid = 43
    two.processes[0].threads.append(ThreadTrace(3, 102, "idle", []))
    path = tmp_path / "two.speedscope.json"
    save(Trace(one.processes + two.processes), str(path))
    document = json.loads(path.read_bytes())
    check_speedscope(document)
    assert len(document["shared"]["frames"]) == len(FUNCTIONS)
    assert [p["name"].split(") ", 1)[0] for p in document["profiles"]] == ["python prog.py (pid 42"] * 2 + [
        "python prog.py (pid 43"
    ] * 2


def test_speedscope_of_an_empty_trace_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "empty.speedscope.json"
    save(Trace([]), str(path))
    document = json.loads(path.read_bytes())
    check_speedscope(document)
    assert document["profiles"] == [] and "activeProfileIndex" not in document


def test_speedscope_of_a_recording(core: CoreChoice, tmp_path: Path) -> None:
    trace = record(core)
    path = tmp_path / "real.speedscope.json"
    save(trace, str(path))
    document = json.loads(path.read_bytes())
    check_speedscope(document)
    process = trace.processes[0]
    threads = [t for t in process.threads if t.event_count]
    assert len(document["profiles"]) == len(threads) >= 2
    for profile, thread in zip(document["profiles"], threads):
        assert profile["name"].endswith(f"{thread.name} (tid {thread.native_id})")
        opens = sum(event.kind in ENTER_KINDS for event in thread.events())
        assert sum(e["type"] == "O" for e in profile["events"]) == opens
        assert profile["endValue"] == process.stop_ns - process.start_ns
    names = {frame["name"] for frame in document["shared"]["frames"]}
    assert {"_fib", "_work", "_numbers", "_fails", "builtins.sorted"} <= names


# -- choosing the writer ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "format_name"),
    [
        ("x.prof", "pstats"),
        ("x.pstats", "pstats"),
        ("x.collapsed", "collapsed"),
        ("x.folded", "collapsed"),
        ("x.speedscope.json", "speedscope"),
        ("X.SPEEDSCOPE.JSON", "speedscope"),
        ("x.json", "json"),  # the longer extension does not take plain .json away
    ],
)
def test_save_picks_the_writer_by_extension(tmp_path: Path, filename: str, format_name: str) -> None:
    assert writer_for(filename).name == format_name
    result = save(hand_trace(), str(tmp_path / filename))
    assert result.format == format_name
    assert result.bytes_written == (tmp_path / filename).stat().st_size > 0


# -- end to end ------------------------------------------------------------------------------------


def test_cli_run_writes_a_loadable_pstats_file(tmp_path: Path) -> None:
    write(
        tmp_path / "prog.py",
        """
        def square(n):
            return n * n

        def main():
            return sum(square(i) for i in range(5))

        print(main())
        """,
    )
    result = run_pulsetrace(["run", "-o", "out.pstats", "prog.py"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "30\n"
    stats = pstats.Stats(str(tmp_path / "out.pstats"))
    table = stats.stats  # type: ignore[attr-defined]
    square = next(key for key in table if key[2] == "square")
    assert square[0].endswith("prog.py") and square[1] == 1
    assert table[square][1] == 5
    assert ("~", 0, "<built-in method builtins.sum>") in table
