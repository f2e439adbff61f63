"""Reading Chrome Trace Event JSON back: our own exports (exact to the ns, and write-read-write gives the
same events), other tools' files (VizTracer-like, array form, gzip), repairs, and every error."""

from __future__ import annotations

import dataclasses
import gc
import gzip
import json
import logging
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

import pulsetrace
from corpus.harness import CoreChoice
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
)
from pulsetrace.model import ProcessTrace, ThreadTrace, Trace, read_any_trace
from pulsetrace.model.chrome_reader import parse_chrome_trace, read_chrome_trace
from pulsetrace.model.native import TraceFileError, read_trace
from pulsetrace.recording import FunctionInfo
from pulsetrace.writers import save

# -- a small program with recursion, a generator, an exception, threads and custom events -----------


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def squares(count: int) -> Any:
    for number in range(count):
        yield number * number


def fails() -> None:
    raise ValueError("boom")


def worker(count: int) -> int:
    return sum(squares(count)) + fib(5)


class Point:
    def __init__(self, x: int) -> None:
        self.x = x


def program() -> None:
    fib(6)
    total = sum(squares(4))
    try:
        fails()
    except ValueError:
        pulsetrace.instant("caught", {"total": total, "ratio": 0.25})
    pulsetrace.counter("progress").update({"done": 1, "ratio": 0.5})
    point = Point(3)
    pulsetrace.take_snapshot(point, "x")
    with pulsetrace.span("threads", args={"n": 2}):
        threads = [threading.Thread(target=worker, args=(3,), name=f"worker-{i}") for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:  # both alive at once: distinct OS thread ids, one track each
            thread.join()
    pulsetrace.instant("done", scope="process")
    del point
    LOG.warning("%d squares", total)
    print("printed")
    gc.collect()


@pulsetrace.trace_only
def sparse_step(n: int) -> int:
    return fib(n)


LOG = logging.getLogger("test_chrome_reader")


def record(core: CoreChoice) -> Trace:
    tracer = pulsetrace.Tracer(
        core=core.core,
        backend=core.backend,
        log_args=True,
        log_retval=True,
        log_exceptions=True,
        log_print=True,
        log_gc=True,
    )
    handler = pulsetrace.LogHandler()
    LOG.addHandler(handler)
    try:
        with tracer:
            program()
    finally:
        LOG.removeHandler(handler)
    return tracer.trace


# -- helpers -----------------------------------------------------------------------------------------

SliceRow = Tuple[int, FunctionInfo, int, int, str, Optional[str], Optional[str]]

# Every kind of record: our Chrome JSON marks resumptions and yields ("resumed", "exit":"yield"),
# so each kind reads back as it was recorded.
_ENTER_CLASS = {ENTER_CALL: "call", ENTER_RESUME: "resume", ENTER_C: "c"}
_EXIT_CLASS = {EXIT_RETURN: "return", EXIT_YIELD: "yield", EXIT_UNWIND: "unwind", EXIT_STOP: "stop"}


def slices(process: ProcessTrace, thread: ThreadTrace) -> List[SliceRow]:
    """(depth, function, start relative to the process start, duration, how it ran, args, retval),
    in order of entry."""
    rows: List[SliceRow] = []
    stack: List[Tuple[int, int, int, int]] = []  # row position, enter ns, enter kind, record index
    for index, event in enumerate(thread.events()):
        if event.is_enter:
            stack.append((len(rows), event.ns, event.kind, index))
            rows.append((0, process.functions[event.func], 0, 0, "", None, None))
            continue
        position, enter_ns, enter_kind, enter_index = stack.pop()
        how = f"{_ENTER_CLASS[enter_kind]}/{_EXIT_CLASS[event.kind]}"
        function = process.functions[event.func]
        rows[position] = (
            len(stack),
            function,
            enter_ns - process.start_ns,
            event.ns - enter_ns,
            how,
            thread.args.get(enter_index),
            thread.retvals.get(index),
        )
    assert not stack
    return rows


def canonical_events(path: Path) -> List[str]:
    """The file's events as sorted canonical JSON text (key order ignored)."""
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as file:
        document = json.load(file)
    return sorted(json.dumps(event, sort_keys=True) for event in document["traceEvents"])


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def expect_error(path: Path, *fragments: str) -> str:
    with pytest.raises(TraceFileError) as caught:
        read_chrome_trace(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    for fragment in fragments:
        assert fragment in message, message
    return message


# -- our own files -----------------------------------------------------------------------------------


def test_own_json_reads_back_to_the_same_slices(core: CoreChoice, tmp_path: Path) -> None:
    trace = record(core)
    path = tmp_path / "trace.json"
    save(trace, path)
    back = read_chrome_trace(path)

    assert len(back.processes) == 1
    original, read = trace.processes[0], back.processes[0]
    assert (read.pid, read.name, read.argv, read.python_version) == (
        original.pid,
        original.name,
        original.argv,
        original.python_version,
    )
    # pulsetrace's metadata gives each process its own clock back, to the ns.
    assert (read.start_ns, read.stop_ns, read.wall_anchor_ns, read.mono_anchor_ns) == (
        original.start_ns,
        original.stop_ns,
        original.wall_anchor_ns,
        original.mono_anchor_ns,
    )
    assert read.metadata == original.metadata
    ids = [thread.native_id for thread in original.threads]
    assert len(set(ids)) == len(ids)
    assert [(t.native_id, t.name) for t in read.threads] == [(t.native_id, t.name) for t in original.threads]
    for before, after in zip(original.threads, read.threads):
        assert slices(read, after) == slices(original, before), before.name
        assert after.instants == before.instants
        assert after.spans == before.spans
    assert read.instants == original.instants
    assert read.counters == original.counters
    assert read.objects == original.objects
    assert back.call_count == trace.call_count
    assert back.custom_event_count == trace.custom_event_count

    # What the program did is all there.
    names = {row[1].name for thread in read.threads for row in slices(read, thread)}
    assert {"fib", "squares", "fails", "worker", "program"} <= names
    rows = slices(read, read.threads[0])
    assert any(r[1].name == "fails" and r[4] == "call/unwind" for r in rows)
    assert any(r[1].name == "fib" and r[5] == "n=6" and r[6] == "8" for r in rows)
    assert any(r[1].kind == FUNC_C and r[4] == "c/return" for r in rows)
    generator = [r[4] for r in rows if r[1].name == "squares"]  # started, resumed, suspended, returned
    assert generator[0] == "call/yield" and generator[-1] == "resume/return"
    assert set(generator[1:-1]) == {"resume/yield"}
    assert any(r[1].name == "program" and r[1].filename == __file__ for r in rows)
    assert {t.name for t in read.threads} >= {"worker-0", "worker-1"}
    assert [s.name for s in read.threads[0].spans if s.category == "span"] == ["threads"]
    assert {o.phase for o in read.objects} >= {"N", "O"}
    categories = {i.category for i in read.threads[0].instants} | {s.category for s in read.threads[0].spans}
    assert categories >= {"instant", "exception", "log", "print", "span", "gc"}


def test_a_process_from_another_boot_reads_back_to_its_own_clock(core: CoreChoice, tmp_path: Path) -> None:
    # The second process started later than the first by more than its own monotonic clock had
    # counted (another boot, another host): its base_ns on the file's time axis is negative.
    first = record(core).processes[0]
    gap = 2 * first.start_ns + 10**9
    later = dataclasses.replace(first, pid=first.pid + 1, wall_anchor_ns=first.wall_anchor_ns + gap)
    path = tmp_path / "two-boots.json"
    save(Trace([first, later]), path)
    assert json.loads(path.read_text())["metadata"]["processes"][1]["base_ns"] < 0
    back = read_chrome_trace(path)
    for read, original in zip(back.processes, (first, later)):
        assert (read.pid, read.metadata, read.wall_anchor_ns, read.mono_anchor_ns) == (
            original.pid,
            original.metadata,
            original.wall_anchor_ns,
            original.mono_anchor_ns,
        )
        for before, after in zip(original.threads, read.threads):
            assert slices(read, after) == slices(original, before)


def test_sparse_mode_spans_round_trip(tmp_path: Path) -> None:
    tracer = pulsetrace.Tracer(trace_only=True)
    with tracer:
        sparse_step(3)
        with pulsetrace.span("outer"):
            sparse_step(2)
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    save(tracer.trace, first)
    back = read_chrome_trace(first)
    assert back.call_count == 0
    assert [t.spans for t in back.processes[0].threads] == [
        t.spans for t in tracer.trace.processes[0].threads
    ]
    assert {s.category for s in back.processes[0].threads[0].spans} == {"trace_only", "span"}
    save(back, second)
    assert canonical_events(second) == canonical_events(first)


@pytest.mark.parametrize("suffix", [".json", ".json.gz"])
def test_write_read_write_gives_the_same_events(core: CoreChoice, tmp_path: Path, suffix: str) -> None:
    first, second = tmp_path / f"first{suffix}", tmp_path / f"second{suffix}"
    save(record(core), first)
    save(read_chrome_trace(first), second)
    assert canonical_events(second) == canonical_events(first)

    # Also a valid model for the native writer and reader (args on calls, return values on returns).
    native = tmp_path / "again.pulse"
    save(read_chrome_trace(second), native)
    third = tmp_path / f"third{suffix}"
    save(read_trace(native), third)
    assert canonical_events(third) == canonical_events(first)


def test_read_any_trace_opens_every_format_by_content(tmp_path: Path) -> None:
    trace = parse_chrome_trace(json.dumps(VIZTRACER_LIKE).encode(), "<viz>")
    for name in ("a.pulse", "b.json", "c.json.gz"):
        save(trace, tmp_path / name)
    expected = canonical_events(tmp_path / "b.json")
    for name in ("a.pulse", "b.json", "c.json.gz"):
        renamed = tmp_path / f"renamed-{name}.bin"  # by content, not by name
        renamed.write_bytes((tmp_path / name).read_bytes())
        save(read_any_trace(renamed), tmp_path / "out.json")
        assert canonical_events(tmp_path / "out.json") == expected, name
    other = tmp_path / "notes.txt"
    other.write_text("hello", encoding="utf-8")
    with pytest.raises(TraceFileError, match=r"notes\.txt: not a trace: neither"):
        read_any_trace(other)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(TraceFileError, match="empty file"):
        read_any_trace(empty)
    with pytest.raises(TraceFileError, match="cannot read"):
        read_any_trace(tmp_path / "missing.json")


# -- other tools' files ------------------------------------------------------------------------------

VIZTRACER_LIKE: Dict[str, Any] = {
    "traceEvents": [
        {"ph": "M", "pid": 7, "tid": 7, "name": "process_name", "args": {"name": "python app.py"}},
        {"ph": "M", "pid": 7, "tid": 8, "name": "thread_name", "args": {"name": "Worker"}},
        {"ph": "M", "pid": 7, "tid": 7, "name": "thread_name", "args": {"name": "MainThread"}},
        {"ph": "M", "pid": 7, "tid": 7, "name": "process_labels", "args": {"labels": "x"}},
        {"pid": 7, "tid": 7, "ts": 10.5, "dur": 2.25, "name": "builtins.len", "ph": "X", "cat": "FEE"},
        {"pid": 7, "tid": 7, "ts": 10.0, "dur": 5.0005, "name": "g (/app/b.py:4)", "ph": "X", "cat": "FEE"},
        {"pid": 7, "tid": 7, "ts": 9.0, "dur": 100.0, "name": "main (/app/a.py:1)", "ph": "X", "cat": "FEE"},
        {"pid": 7, "tid": 7, "ts": 50.0, "ph": "B", "name": "phase", "cat": "app", "args": {"a": 1}},
        {"pid": 7, "tid": 7, "ts": 60.125, "ph": "E", "args": {"b": 2}},
        {"pid": 7, "tid": 8, "ts": 20.0, "dur": 1.0, "name": "<built-in method sleep>", "ph": "X"},
        {"pid": 7, "tid": 7, "ts": 30.0, "ph": "i", "s": "p", "name": "checkpoint", "args": {"k": 1.5}},
        {"pid": 7, "tid": 7, "ts": 31.0, "ph": "i", "name": "mark"},
        {"pid": 7, "tid": 7, "ts": 40.0, "ph": "C", "name": "memory", "args": {"rss": 1024, "bad": "x"}},
        {"pid": 7, "tid": 7, "ts": 41.0, "ph": "s", "id": 1, "name": "flow", "cat": "f"},
        {"pid": 7, "tid": 8, "ts": 42.0, "ph": "f", "id": 1, "name": "flow", "cat": "f", "bp": "e"},
        {"pid": 7, "tid": 7, "ts": 43.0, "ph": "b", "id": 2, "name": "async", "cat": "a"},
    ],
    "viztracer_metadata": {"version": "0.16.0"},
}


def test_viztracer_like_json(tmp_path: Path) -> None:
    trace = read_chrome_trace(write_json(tmp_path / "viz.json", VIZTRACER_LIKE))
    (process,) = trace.processes
    assert (process.pid, process.name) == (7, "python app.py")
    assert [(t.native_id, t.name) for t in process.threads] == [(8, "Worker"), (7, "MainThread")]
    worker, main = process.threads
    # The file's own time axis, in exact ns; nothing known of the wall clock.
    assert (process.start_ns, process.stop_ns) == (9_000, 109_000)
    assert (process.wall_anchor_ns, process.mono_anchor_ns) == (0, 0)
    assert process.to_wall_ns(10_500) == 10_500
    rows = [(r[0], r[1], r[2] + process.start_ns, r[3], r[4]) for r in slices(process, main)]
    assert rows == [
        (0, FunctionInfo(FUNC_PYTHON, "main", "/app/a.py", 1), 9_000, 100_000, "call/return"),
        (1, FunctionInfo(FUNC_PYTHON, "g", "/app/b.py", 4), 10_000, 5_000, "call/return"),  # 5000.5 ns: even
        (2, FunctionInfo(FUNC_C, "builtins.len", "", 0), 10_500, 2_250, "c/return"),
        (1, FunctionInfo(FUNC_C, "phase", "", 0), 50_000, 10_125, "c/return"),  # B/E, args merged
    ]
    assert [r[1] for r in slices(process, worker)] == [FunctionInfo(FUNC_C, "<built-in method sleep>", "", 0)]
    assert [(i.ns, i.name, i.scope) for i in main.instants] == [(31_000, "mark", "thread")]
    assert [(i.ns, i.name, i.scope, i.args) for i in process.instants] == [
        (30_000, "checkpoint", "process", {"k": 1.5})
    ]
    assert [(c.ns, c.name, c.values) for c in process.counters] == [(40_000, "memory", {"rss": 1024})]
    assert process.metadata == {
        "skipped_events": {"b": 1, "f": 1, "s": 1},
        "repaired_events": {"non_numeric_counter_value": 1},
    }
    # Written by our writer, read again: the same model.
    again = tmp_path / "again.json"
    save(trace, again)
    assert canonical_model(read_chrome_trace(again)) == canonical_model(trace)


def test_array_form_plain_gzip_and_unterminated(tmp_path: Path) -> None:
    events = VIZTRACER_LIKE["traceEvents"]
    expected = canonical_model(read_chrome_trace(write_json(tmp_path / "object.json", VIZTRACER_LIKE)))
    array = write_json(tmp_path / "array.json", events)
    assert canonical_model(read_chrome_trace(array)) == expected
    zipped = tmp_path / "array.json.gz"
    zipped.write_bytes(gzip.compress(array.read_bytes()))
    assert canonical_model(read_chrome_trace(zipped)) == expected
    named_plainly = tmp_path / "trace.json"  # gzip found by its magic bytes, whatever the name
    named_plainly.write_bytes(gzip.compress(json.dumps(VIZTRACER_LIKE).encode()))
    assert canonical_model(read_chrome_trace(named_plainly)) == expected
    # The format lets an array lack its closing "]" (a writer that crashed), with or without a comma.
    text = "[\n" + ",\n".join(json.dumps(e) for e in events)
    for ending in ("", ",", ",\n"):
        unterminated = tmp_path / "unterminated.json"
        unterminated.write_text(text + ending, encoding="utf-8")
        assert canonical_model(read_chrome_trace(unterminated)) == expected


def canonical_model(trace: Trace) -> str:
    """Everything the reader made, as comparable text."""
    out = []
    for process in trace.processes:
        out.append(repr((process.pid, process.name, process.start_ns, process.stop_ns, process.metadata)))
        for thread in process.threads:
            out.append(
                repr((thread.native_id, thread.name, slices(process, thread), thread.instants, thread.spans))
            )
        out.append(repr((process.instants, process.counters, process.objects)))
    return "\n".join(out)


def test_empty_trace_events_is_an_empty_trace(tmp_path: Path) -> None:
    assert read_chrome_trace(write_json(tmp_path / "a.json", {"traceEvents": []})).processes == []
    assert read_chrome_trace(write_json(tmp_path / "b.json", [])).processes == []


def test_custom_categories_and_object_events_of_another_tool(tmp_path: Path) -> None:
    document = [
        {"ph": "X", "pid": 1, "tid": 2, "ts": 5, "dur": 3, "name": "load", "cat": "span", "args": {"f": "x"}},
        {"ph": "B", "pid": 1, "tid": 2, "ts": 1, "name": "collect", "cat": "gc"},
        {"ph": "N", "pid": 1, "tid": 2, "ts": 1, "id": "0x1f", "name": "Cache"},
        {"ph": "O", "pid": 1, "tid": 2, "ts": 2, "id2": {"local": "0x1f"}, "name": "Cache",
         "args": {"snapshot": {"size": 3, "keys": ["a"], "label": "hot"}}},
        {"ph": "D", "pid": 1, "tid": 2, "ts": 9, "id": 31, "name": "Cache"},
        {"ph": "X", "pid": "renderer", "tid": "main", "ts": 1, "dur": 1, "name": "Task"},
        {"ph": "i", "pid": 1, "tid": 2, "ts": 3, "s": "g", "name": "everywhere", "args": [1, 2]},
        {"ph": "C", "pid": 1, "tid": 2, "ts": 4, "name": "heap", "id": 5, "args": {"used": NAN_TEXT}},
    ]  # fmt: skip
    path = tmp_path / "other.json"
    path.write_text(json.dumps(document).replace(f'"{NAN_TEXT}"', "NaN"), encoding="utf-8")
    trace = read_chrome_trace(path)
    process = trace.process(1)
    (thread,) = process.threads
    assert thread.event_count == 0
    # The "B" never ended: a span to the process's last moment, marked unfinished.
    assert [(s.start_ns, s.end_ns, s.name, s.category, s.args) for s in thread.spans] == [
        (5_000, 8_000, "load", "span", {"f": "x"}),
        (1_000, 9_000, "collect", "gc", {"unfinished": True}),
    ]
    assert [(o.phase, o.id, o.snapshot) for o in process.objects] == [
        ("N", 31, {}),
        ("O", 31, {"size": "3", "keys": '["a"]', "label": "hot"}),
        ("D", 31, {}),
    ]
    assert [(i.scope, i.category, i.args) for i in process.instants] == [
        ("global", "instant", {"args": [1, 2]})
    ]
    assert [(c.name, c.values) for c in process.counters] == [("heap 5", {})]
    assert process.metadata["repaired_events"] == {"begin_without_end": 1, "non_numeric_counter_value": 1}
    # A pid and tid given as names get ids of their own, and keep the names.
    renderer = trace.processes[1]
    assert (renderer.pid, renderer.name, renderer.threads[0].native_id, renderer.threads[0].name) == (
        2**32,
        "renderer",
        2**32 + 1,
        "main",
    )
    save(trace, tmp_path / "again.json")  # the model is one our writers take
    save(trace, tmp_path / "again.pulse")


NAN_TEXT = "__nan__"


def test_negative_timestamps_move_the_axis_up(tmp_path: Path) -> None:
    document = [
        {"ph": "X", "pid": 1, "tid": 1, "ts": -2.5, "dur": 1, "name": "early"},
        {"ph": "X", "pid": 2, "tid": 1, "ts": 4, "dur": 1, "name": "late"},
    ]
    trace = read_chrome_trace(write_json(tmp_path / "neg.json", document))
    first, second = trace.processes
    assert (first.start_ns, first.stop_ns, second.start_ns, second.stop_ns) == (0, 1_000, 6_500, 7_500)
    assert first.mono_anchor_ns == second.mono_anchor_ns == 2_500
    assert (first.to_wall_ns(first.start_ns), second.to_wall_ns(second.start_ns)) == (-2_500, 4_000)


# -- repairs -----------------------------------------------------------------------------------------


def test_partially_overlapping_slices_are_clamped(tmp_path: Path) -> None:
    document = [
        {"ph": "X", "pid": 1, "tid": 1, "ts": 0, "dur": 10, "name": "a"},
        {"ph": "X", "pid": 1, "tid": 1, "ts": 5, "dur": 10, "name": "b"},  # outlives a
        {"ph": "X", "pid": 1, "tid": 1, "ts": 6, "dur": 2, "name": "c"},
        {"ph": "X", "pid": 1, "tid": 1, "ts": 10, "dur": 1, "name": "d"},  # starts as a ends
        {"ph": "X", "pid": 1, "tid": 1, "ts": 20, "dur": -1, "name": "e"},
        {"ph": "E", "pid": 1, "tid": 1, "ts": 30},
        {"ph": "B", "pid": 1, "tid": 1, "ts": 40, "name": "f"},
        {"ph": "X", "pid": 1, "tid": 1, "ts": 41, "dur": 100, "name": "g"},  # inside the open "f"
    ]
    trace = read_chrome_trace(write_json(tmp_path / "overlap.json", document))
    (process,) = trace.processes
    rows = [(r[0], r[1].name, r[2], r[3], r[4]) for r in slices(process, process.threads[0])]
    assert rows == [
        (0, "a", 0, 10_000, "c/return"),
        (1, "b", 5_000, 5_000, "c/return"),
        (2, "c", 6_000, 2_000, "c/return"),
        (0, "d", 10_000, 1_000, "c/return"),
        (0, "e", 20_000, 0, "c/return"),
        (0, "f", 40_000, 101_000, "c/stop"),
        (1, "g", 41_000, 100_000, "c/return"),
    ]
    assert process.metadata["repaired_events"] == {
        "begin_without_end": 1,
        "end_without_begin": 1,
        "negative_duration": 1,
        "overlap_clamped": 1,
    }
    save(trace, tmp_path / "ok.pulse")  # balanced, ordered records: the native encoder takes them


def test_many_random_overlaps_never_unbalance(tmp_path: Path) -> None:
    import random

    rng = random.Random(7)
    document = []
    for index in range(400):
        phase = rng.choice("XXXXBE")
        event: Dict[str, Any] = {"ph": phase, "pid": 1, "tid": rng.randint(1, 3), "ts": rng.randint(0, 500)}
        event["name"] = f"f{index % 9} (/x.py:{index % 9})" if index % 2 else f"c{index % 5}"
        if phase == "X":
            event["dur"] = rng.choice([0, 0.001, rng.randint(0, 200), rng.random() * 50])
        document.append(event)
    trace = read_chrome_trace(write_json(tmp_path / "random.json", document))
    for thread in trace.processes[0].threads:
        depth, last = 0, -1
        for event in thread.events():
            assert event.ns >= last
            last = event.ns
            depth += 1 if event.is_enter else -1
            assert depth >= 0
        assert depth == 0
    save(trace, tmp_path / "random.pulse")


# -- errors ------------------------------------------------------------------------------------------


def test_errors_name_the_file_and_the_problem(tmp_path: Path) -> None:
    def file(name: str, content: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(content)
        return path

    expect_error(file("text.json", b"hello, world"), "not valid JSON")
    expect_error(file("blank.json", b"  \n"), "empty file")
    expect_error(file("latin.json", b'{"traceEvents": ["\xff"]}'), "not utf-8 text")
    expect_error(file("number.json", b"42"), "not a Chrome trace", "number")
    expect_error(file("object.json", b'{"events": []}'), 'no "traceEvents"')
    expect_error(file("notlist.json", b'{"traceEvents": {}}'), '"traceEvents" is an object, not a list')
    expect_error(file("nophase.json", b'{"traceEvents": [{"ph": "M"}, {"ts": 1}]}'), 'event #1 has no "ph"')
    expect_error(file("notobject.json", b'{"traceEvents": [3]}'), "event #0 is a number, not a JSON object")
    expect_error(file("ts.json", b'[{"ph": "X", "ts": "12", "dur": 1}]'), "event #0", '"ts" is not a number')
    expect_error(file("nots.json", b'[{"ph": "i", "name": "x"}]'), '"ts" is missing')
    expect_error(file("nan.json", b'[{"ph": "X", "ts": NaN, "dur": 1}]'), '"ts" is not a finite number')
    expect_error(file("dur.json", b'[{"ph": "X", "ts": 1, "dur": [1]}]'), '"dur" is not a number')
    expect_error(file("huge.json", b'[{"ph": "C", "ts": 1e30}]'), '"ts" is out of range')
    expect_error(file("deep.json", b"[" * 100_000), "JSON")

    whole = json.dumps(VIZTRACER_LIKE).encode()
    for end in range(1, len(whole), 3):  # wherever the object form is cut, it says so
        expect_error(file("cut.json", whole[:end]), "truncated")
    expect_error(file("cutstring.json", b'{"traceEvents": [{"ph": "X", "name": "abc'), "truncated")
    expect_error(file("cutarray.json", json.dumps(VIZTRACER_LIKE["traceEvents"]).encode()[:200]), "truncated")
    zipped = gzip.compress(whole)
    expect_error(file("cut.json.gz", zipped[: len(zipped) - 10]), "truncated", "gzip")
    expect_error(file("bad.json.gz", zipped[:10] + b"\x00" * 40), "corrupt gzip data")
    expect_error(tmp_path / "missing.json", "cannot read")


def test_native_reader_points_json_to_the_chrome_reader(tmp_path: Path) -> None:
    path = write_json(tmp_path / "trace.pulse", {"traceEvents": []})
    with pytest.raises(TraceFileError, match="looks like JSON: read it with read_chrome_trace"):
        read_trace(path)
