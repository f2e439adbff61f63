"""``pulsetrace combine``: real traces (recorded here and in a second process, saved as .pulse and JSON)
and another tool's JSON put into one trace, each process on its own track; wall-clock and start
alignment, pid clashes, every output format read back, errors, and combining a combination again."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import threading
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple

import pytest

import pulsetrace
from helpers_cli import Result, load_json_trace, run_pulsetrace, run_python, write
from pulsetrace.model import ProcessTrace, Trace, read_any_trace
from pulsetrace.model.combine import combination_step, combine
from pulsetrace.recording import FunctionInfo
from pulsetrace.writers import save

SUMMARY = re.compile(r"^pulsetrace: combined (\d+) process(?:es)? from (\d+) files? into (.+)$")
WEEK_NS = 7 * 86_400 * 10**9

# -- the inputs -----------------------------------------------------------------------------------


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def here_program() -> None:
    worker = threading.Thread(target=fib, args=(8,), name="fib-worker")
    worker.start()
    fib(10)
    worker.join()


# Recorded in a second process, so that it has a pid of its own and functions of its own.
THERE_PROGRAM = """
import sys
import threading

import pulsetrace


def squares(count):
    return sum(number * number for number in range(count))


def work():
    return [squares(40) for _ in range(5)]


tracer = pulsetrace.Tracer(core="c")
tracer.start()
thread = threading.Thread(target=work, name="squares-worker")
thread.start()
work()
thread.join()
tracer.stop()
tracer.save(sys.argv[1])
tracer.save(sys.argv[2])
"""

# Another tool's trace: no pulsetrace metadata, so no wall-clock time; pid 1, as such files often have.
FOREIGN_EVENTS: List[Dict[str, Any]] = [
    {"ph": "M", "pid": 1, "tid": 1, "name": "process_name", "args": {"name": "renderer"}},
    {"ph": "M", "pid": 1, "tid": 1, "name": "thread_name", "args": {"name": "main"}},
    {"ph": "X", "pid": 1, "tid": 1, "ts": 1000.5, "dur": 50, "name": "outer", "cat": "js"},
    {"ph": "X", "pid": 1, "tid": 1, "ts": 1010, "dur": 20.25, "name": "inner", "cat": "js"},
    {"ph": "B", "pid": 1, "tid": 2, "ts": 1020, "name": "task", "cat": "js"},
    {"ph": "E", "pid": 1, "tid": 2, "ts": 1030},
    {"ph": "i", "pid": 1, "tid": 1, "ts": 1040, "name": "mark", "s": "t"},
]


@dataclasses.dataclass(frozen=True)
class Inputs:
    """Trace files to combine and the traces they hold."""

    directory: Path
    here: Trace  # recorded in this process
    there: Trace  # recorded in another process (as read back from its .pulse file)

    def path(self, name: str) -> str:
        return str(self.directory / name)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    directory = tmp_path_factory.mktemp("inputs")
    tracer = pulsetrace.Tracer(core="c")
    tracer.start()
    try:
        here_program()
    finally:
        here = tracer.stop()
    save(here, directory / "here.pulse")
    save(here, directory / "here.json")
    script = write(directory / "there.py", THERE_PROGRAM)
    result = run_python([str(script), "there.pulse", "there.json"], directory)
    assert result.returncode == 0, result.stderr
    foreign(directory / "foreign.json", FOREIGN_EVENTS)
    later = [dict(event, ts=event["ts"] + 7) if "ts" in event else event for event in FOREIGN_EVENTS]
    foreign(directory / "other.json", later)  # the same process, 7 µs later on its own axis
    return Inputs(directory, here, read_any_trace(directory / "there.pulse"))


def foreign(path: Path, events: List[Dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"traceEvents": events, "displayTimeUnit": "ms"}))
    return path


def combine_files(inputs: Inputs, *args: str) -> Result:
    """``pulsetrace combine ARGS`` in the inputs' directory."""
    return run_pulsetrace(["combine", *args], inputs.directory)


def summary(result: Result) -> Tuple[int, int, str]:
    """(processes, files, output) of the summary line, which must be stderr's last line."""
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    match = SUMMARY.match(lines[-1]) if lines else None
    assert match is not None, result.stderr
    return int(match[1]), int(match[2]), match[3]


# -- what a process in the output must still be ----------------------------------------------------


def assert_same_process(got: ProcessTrace, want: ProcessTrace, *, exact: bool = False) -> None:
    """Same threads, slices (so the same counts and durations), custom events and clock; ``exact``: the
    same records, function table and sources too (what a trip through JSON does not keep)."""
    assert [(t.native_id, t.name) for t in got.threads] == [(t.native_id, t.name) for t in want.threads]
    assert calls(got) == calls(want)
    for got_thread, want_thread in zip(got.threads, want.threads):
        assert (got_thread.instants, got_thread.spans) == (want_thread.instants, want_thread.spans)
    assert (got.start_ns, got.stop_ns, got.argv, got.python_version) == (
        want.start_ns,
        want.stop_ns,
        want.argv,
        want.python_version,
    )
    if exact:
        assert got.functions == want.functions
        assert [b"".join(t.chunks) for t in got.threads] == [b"".join(t.chunks) for t in want.threads]
        assert got.sources == want.sources


CallRow = Tuple[int, FunctionInfo, int, int]


def calls(process: ProcessTrace) -> List[List[CallRow]]:
    """Each thread's slices as (depth, function, enter ns, exit ns), in order of entry."""
    threads: List[List[CallRow]] = []
    for thread in process.threads:
        rows: List[CallRow] = []
        stack: List[Tuple[int, int]] = []  # row position, enter ns
        for event in thread.events():
            if event.is_enter:
                stack.append((len(rows), event.ns))
                rows.append((0, process.functions[event.func], 0, 0))
            else:
                position, enter_ns = stack.pop()
                rows[position] = (len(stack), process.functions[event.func], enter_ns, event.ns)
        assert not stack
        threads.append(rows)
    return threads


def wall_start(process: ProcessTrace) -> int:
    return process.to_wall_ns(process.start_ns)


def slices_by_pid(document: Mapping[str, Any]) -> Dict[int, List[Tuple[str, float, float]]]:
    """Each pid's complete events as sorted (name, ts, dur)."""
    found: Dict[int, List[Tuple[str, float, float]]] = {}
    for event in document["traceEvents"]:
        if event["ph"] == "X":
            found.setdefault(event["pid"], []).append((event["name"], event["ts"], event["dur"]))
    return {pid: sorted(slices) for pid, slices in found.items()}


def durations(slices: List[Tuple[str, float, float]]) -> List[Tuple[str, float]]:
    return sorted((name, dur) for name, _, dur in slices)


def first_ts(slices: List[Tuple[str, float, float]]) -> float:
    return min(ts for _, ts, _ in slices)


# -- combining -------------------------------------------------------------------------------------


def test_two_native_traces_become_one_with_two_processes(inputs: Inputs) -> None:
    result = combine_files(inputs, "here.pulse", "there.pulse", "-o", "both.pulse")
    assert summary(result) == (2, 2, "both.pulse")
    assert "Traceback" not in result.stderr
    combined = read_any_trace(inputs.path("both.pulse"))
    here, there = combined.processes
    assert (here.pid, there.pid) == (inputs.here.processes[0].pid, inputs.there.processes[0].pid)
    assert here.pid != there.pid
    assert_same_process(here, inputs.here.processes[0], exact=True)
    assert_same_process(there, inputs.there.processes[0], exact=True)
    assert {t.name for t in here.threads} >= {"MainThread", "fib-worker"}
    assert {t.name for t in there.threads} >= {"MainThread", "squares-worker"}
    # --align wall (the default) leaves real wall-clock times where they were
    assert wall_start(here) == wall_start(inputs.here.processes[0])
    assert wall_start(there) == wall_start(inputs.there.processes[0])
    assert combination_step(here) == {"source": "here.pulse"}
    assert combination_step(there) == {"source": "there.pulse"}


def test_native_and_our_json_to_json_keep_slices_and_wall_clock(inputs: Inputs) -> None:
    result = combine_files(inputs, "here.pulse", "there.json", "-o", "both.json")
    assert summary(result) == (2, 2, "both.json")
    document = load_json_trace(inputs.directory / "both.json")
    slices = slices_by_pid(document)
    here_pid, there_pid = inputs.here.processes[0].pid, inputs.there.processes[0].pid
    assert sorted(slices) == sorted([here_pid, there_pid])
    # every slice as it was in its own file: same names and durations
    assert durations(slices[here_pid]) == durations(
        slices_by_pid(load_json_trace(inputs.directory / "here.json"))[here_pid]
    )
    assert durations(slices[there_pid]) == durations(
        slices_by_pid(load_json_trace(inputs.directory / "there.json"))[there_pid]
    )
    names = {
        e["args"]["name"] for e in document["traceEvents"] if e["ph"] == "M" and e["name"] == "process_name"
    }
    assert len(names) == 2
    # the processes keep their wall-clock distance on the output's time axis
    back = read_any_trace(inputs.path("both.json"))
    assert [wall_start(p) for p in back.processes] == [
        wall_start(inputs.here.processes[0]),
        wall_start(inputs.there.processes[0]),
    ]
    for got, want in zip(back.processes, [inputs.here.processes[0], inputs.there.processes[0]]):
        assert_same_process(got, want)


@pytest.mark.parametrize("output", ["out.pulse", "out.json", "out.json.gz"])
def test_every_trace_format_reads_back(inputs: Inputs, output: str) -> None:
    result = combine_files(inputs, "here.json", "there.pulse", "foreign.json", "-o", output)
    assert summary(result) == (3, 3, output)
    combined = read_any_trace(inputs.path(output))
    assert [p.name for p in combined.processes][2] == "renderer"
    assert_same_process(combined.processes[0], inputs.here.processes[0])
    assert_same_process(combined.processes[1], inputs.there.processes[0])
    assert len({p.pid for p in combined.processes}) == 3
    assert [t.name for t in combined.processes[2].threads] == ["main", ""]
    assert [t.call_count for t in combined.processes[2].threads] == [2, 1]


def test_other_formats_take_a_combination(inputs: Inputs) -> None:
    result = combine_files(inputs, "here.pulse", "there.pulse", "-o", "both.collapsed")
    assert summary(result) == (2, 2, "both.collapsed")
    text = (inputs.directory / "both.collapsed").read_text()
    tracks = {tuple(line.split(";", 2)[:2]) for line in text.splitlines()}
    here, there = inputs.here.processes[0], inputs.there.processes[0]
    assert (f"{here.name} (pid {here.pid})", f"fib-worker (tid {here.threads[1].native_id})") in tracks
    assert (f"{there.name} (pid {there.pid})", f"squares-worker (tid {there.threads[1].native_id})") in tracks


# -- clocks -----------------------------------------------------------------------------------------


def test_foreign_json_starts_with_the_earliest_known_start(inputs: Inputs) -> None:
    result = combine_files(inputs, "there.pulse", "foreign.json", "here.pulse", "-o", "mixed.json")
    assert summary(result) == (3, 3, "mixed.json")
    assert (
        "pulsetrace: note: foreign.json has no wall-clock times (JSON from another tool): it starts "
        "with the earliest process of the other traces" in result.stderr
    )
    document = load_json_trace(inputs.directory / "mixed.json")
    known = [inputs.here.processes[0], inputs.there.processes[0]]
    earliest = min(wall_start(p) for p in known)
    assert document["metadata"]["base_wall_ns"] == earliest
    renderer = next(p for p in document["metadata"]["processes"] if p["name"] == "renderer")
    assert renderer["pid"] == 1
    assert renderer["start_ns"] - renderer["base_ns"] == 0  # it starts where the earliest process starts
    slices = slices_by_pid(document)[1]
    assert slices == [("inner", 9.5, 20.25), ("outer", 0.0, 50.0), ("task", 19.5, 10.0)]
    # the native processes stay where their wall clocks put them
    back = read_any_trace(inputs.path("mixed.json"))
    assert [wall_start(p) for p in back.processes] == [
        wall_start(inputs.there.processes[0]),
        earliest,
        wall_start(inputs.here.processes[0]),
    ]
    assert combination_step(back.processes[1]) == {"source": "foreign.json", "unanchored": True}


def test_align_start_starts_every_input_together(inputs: Inputs) -> None:
    result = combine_files(
        inputs, "here.pulse", "foreign.json", "there.json", "--align", "start", "-o", "s.json"
    )
    assert summary(result) == (3, 3, "s.json")
    assert "note" not in result.stderr
    document = load_json_trace(inputs.directory / "s.json")
    for entry in document["metadata"]["processes"]:
        assert entry["start_ns"] == entry["base_ns"], entry  # every process starts at ts 0
    slices = slices_by_pid(document)
    # each first slice lies as far from ts 0 as from its process's start in its own file
    for process, name in ((inputs.here.processes[0], "here.json"), (inputs.there.processes[0], "there.json")):
        alone = slices_by_pid(load_json_trace(inputs.directory / name))[process.pid]
        assert first_ts(slices[process.pid]) == first_ts(alone)
        assert durations(slices[process.pid]) == durations(alone)
    assert first_ts(slices[1]) == 0.0
    back = read_any_trace(inputs.path("s.json"))
    assert len({wall_start(p) for p in back.processes}) == 1
    here_start = wall_start(inputs.here.processes[0])
    assert wall_start(back.processes[0]) == here_start  # the earliest input stays where it was
    moved = combination_step(back.processes[2])
    assert moved["moved_ns"] == here_start - wall_start(inputs.there.processes[0])


def test_align_start_keeps_the_processes_of_one_input_in_place() -> None:
    first = hand_process(pid=10, wall=10**18, start=1_000)
    child = hand_process(pid=11, wall=10**18 + 500, start=1_000)
    other = hand_process(pid=20, wall=3 * 10**18, start=7_000)
    combined = combine([Trace([first, child]), Trace([other])], align="start")
    a, b, c = combined.processes
    assert wall_start(a) == wall_start(c) == wall_start(first)
    assert wall_start(b) - wall_start(a) == 500


def test_unanchored_processes_start_with_their_own_input_first() -> None:
    known = hand_process(pid=10, wall=10**18, start=1_000)
    unknown = hand_process(pid=11, wall=0, start=50)
    earlier = hand_process(pid=20, wall=5 * 10**17, start=1_000)
    combined = combine([Trace([known, unknown]), Trace([earlier])])
    placed = combined.processes[1]
    assert wall_start(placed) == wall_start(known)  # not with ``earlier``, the earliest of all
    assert placed.wall_anchor_ns != 0  # and anchored there, so that the place holds
    assert combination_step(placed) == {"source": "input 1", "unanchored": True}
    assert (unknown.wall_anchor_ns, unknown.mono_anchor_ns) == (0, 50)  # the input is not changed


def test_only_foreign_traces_start_together(inputs: Inputs) -> None:
    result = combine_files(inputs, "foreign.json", "other.json", "-o", "foreign2.json")
    assert summary(result) == (2, 2, "foreign2.json")
    assert "pulsetrace: note: no trace has wall-clock times" in result.stderr
    document = load_json_trace(inputs.directory / "foreign2.json")
    slices = slices_by_pid(document)
    assert sorted(slices) == [1, 2]
    assert slices[1] == slices[2]  # other.json is foreign.json 7 µs later: both now start at ts 0
    names = sorted(e["args"]["name"] for e in document["traceEvents"] if e.get("name") == "process_name")
    assert names == ["renderer", "renderer (run 2, pid 1)"]


def test_traces_from_another_boot_keep_their_clocks_through_json(inputs: Inputs, tmp_path: Path) -> None:
    # A second run after a reboot: it starts later than the first by more than its own monotonic
    # clock had counted, so its place on the JSON time axis (base_ns) is negative.
    first = inputs.here.processes[0]
    gap = 2 * first.start_ns + 10**9
    later = dataclasses.replace(first, pid=first.pid + 1, wall_anchor_ns=first.wall_anchor_ns + gap)
    combined = combine([Trace([first]), Trace([later])])
    save(combined, tmp_path / "reboot.json")
    document = load_json_trace(tmp_path / "reboot.json")
    assert document["metadata"]["processes"][1]["base_ns"] < 0
    back = read_any_trace(tmp_path / "reboot.json")
    assert [wall_start(p) for p in back.processes] == [wall_start(first), wall_start(first) + gap]
    for got, want in zip(back.processes, combined.processes):
        assert (got.pid, got.name, got.metadata) == (want.pid, want.name, want.metadata)
        assert (got.wall_anchor_ns, got.mono_anchor_ns) == (want.wall_anchor_ns, want.mono_anchor_ns)
        assert_same_process(got, want)


# -- pids ---------------------------------------------------------------------------------------------


def test_a_pid_clash_gives_the_later_process_a_fresh_pid(inputs: Inputs) -> None:
    result = combine_files(inputs, "here.pulse", "there.pulse", "here.json", "-o", "clash.pulse")
    assert summary(result) == (3, 3, "clash.pulse")
    combined = read_any_trace(inputs.path("clash.pulse"))
    pid = inputs.here.processes[0].pid
    first, _, again = combined.processes
    taken = {pid, inputs.there.processes[0].pid}
    assert first.pid == pid and again.pid not in taken and again.pid > pid
    assert again.name == f"{inputs.here.processes[0].name} (run 2, pid {pid})"
    assert combination_step(again) == {"source": "here.json", "pid": pid}
    assert (
        f"pulsetrace: note: here.json: pid {pid} is taken, this process is now pid {again.pid}"
        in result.stderr
    )
    assert_same_process(again, inputs.here.processes[0])
    document_pids = {p.pid for p in combined.processes}
    assert len(document_pids) == 3


def test_fresh_pids_skip_every_pid_in_use() -> None:
    processes = [hand_process(pid=pid, wall=10**18, start=0) for pid in (5, 6, 5, 8, 5)]
    combined = combine([Trace(processes[:2]), Trace(processes[2:])])
    assert [p.pid for p in combined.processes] == [5, 6, 7, 8, 9]
    assert [p.name for p in combined.processes] == [
        "p5",
        "p6",
        "p5 (run 2, pid 5)",
        "p8",
        "p5 (run 3, pid 5)",
    ]
    assert [p.pid for p in processes] == [5, 6, 5, 8, 5]  # the inputs are not changed
    assert all("combined" not in p.metadata for p in processes)


def test_combining_a_combination_again(inputs: Inputs) -> None:
    assert combine_files(inputs, "here.pulse", "foreign.json", "-o", "step1.pulse").returncode == 0
    first = read_any_trace(inputs.path("step1.pulse"))
    result = combine_files(inputs, "step1.pulse", "there.json", "foreign.json", "-o", "step2.json")
    assert summary(result) == (4, 3, "step2.json")
    assert "step1.pulse has no wall-clock" not in result.stderr  # the first combination placed it
    combined = read_any_trace(inputs.path("step2.json"))
    assert len({p.pid for p in combined.processes}) == 4
    here, renderer, there, renderer_again = combined.processes
    assert_same_process(here, inputs.here.processes[0])
    assert_same_process(there, inputs.there.processes[0])
    # the places the first combination gave stay
    assert [wall_start(here), wall_start(renderer)] == [wall_start(p) for p in first.processes]
    assert here.metadata["combined"] == [{"source": "here.pulse"}, {"source": "step1.pulse"}]
    assert renderer.metadata["combined"] == [
        {"source": "foreign.json", "unanchored": True},
        {"source": "step1.pulse"},
    ]
    assert renderer_again.name == "renderer (run 2, pid 1)"
    assert_same_process(renderer, renderer_again)


def test_combine_refuses_an_unknown_alignment() -> None:
    with pytest.raises(ValueError, match="align"):
        combine([Trace([])], align="sideways")


# -- errors -------------------------------------------------------------------------------------------


def assert_fails(result: Result, *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert lines and lines[-1].startswith("pulsetrace: error: "), result.stderr
    for word in words:
        assert word in lines[-1], result.stderr


def no_output_left(directory: Path, name: str) -> bool:
    return not any(entry.startswith((name, f".{name}")) for entry in os.listdir(directory))


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        ("missing", "cannot read"),
        ("text", "not a trace"),
        ("truncated", "truncated"),
        ("half_json", "truncated"),
    ],
)
def test_a_bad_input_is_named_and_nothing_is_written(
    inputs: Inputs, tmp_path: Path, make: str, problem: str
) -> None:
    bad = tmp_path / f"bad-{make}"
    if make == "text":
        bad.write_text("hello, not a trace\n")
    elif make == "truncated":
        data = (inputs.directory / "here.pulse").read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    elif make == "half_json":
        data = (inputs.directory / "there.json").read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    result = run_pulsetrace(["combine", inputs.path("here.pulse"), str(bad), "-o", "out.json"], tmp_path)
    assert_fails(result, str(bad), problem)
    assert no_output_left(tmp_path, "out.json")


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        ("missing-dir/out.json", "does not exist"),
        ("out.txt", "cannot tell the output format"),
        ("dir.json", "it is a directory"),
    ],
)
def test_a_bad_output_is_named(inputs: Inputs, tmp_path: Path, output: str, problem: str) -> None:
    (tmp_path / "dir.json").mkdir()
    result = run_pulsetrace(["combine", inputs.path("here.pulse"), "-o", output], tmp_path)
    assert_fails(result, output, problem)
    assert os.listdir(tmp_path) == ["dir.json"]
    assert os.listdir(tmp_path / "dir.json") == []


def test_no_input_and_no_output_are_errors(inputs: Inputs, tmp_path: Path) -> None:
    assert_fails(run_pulsetrace(["combine", "-o", "out.json"], tmp_path), "give the traces to combine")
    assert_fails(run_pulsetrace(["combine", inputs.path("here.pulse")], tmp_path), "-o")
    assert os.listdir(tmp_path) == []


def test_one_input_is_copied(inputs: Inputs, tmp_path: Path) -> None:
    result = run_pulsetrace(["combine", inputs.path("there.json"), "-o", "one.pulse"], tmp_path)
    assert summary(result) == (1, 1, "one.pulse")
    (process,) = read_any_trace(tmp_path / "one.pulse").processes
    assert_same_process(process, inputs.there.processes[0])


# -- hand-built processes ----------------------------------------------------------------------------


def hand_process(pid: int, wall: int, start: int) -> ProcessTrace:
    """A process with no threads whose monotonic clock reads ``start`` at wall-clock time ``wall``."""
    return ProcessTrace(
        pid=pid,
        name=f"p{pid}",
        functions=[],
        threads=[],
        start_ns=start,
        stop_ns=start + 1_000,
        wall_anchor_ns=wall,
        mono_anchor_ns=start,
    )
