"""Chrome Trace Event JSON export: structure, exact timestamps, names, nesting, gzip, and the C twin."""

from __future__ import annotations

import gzip
import io
import json
import random
import struct
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from pulsetrace import codec
from pulsetrace.codec import chrome_json_events, format_us
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
from pulsetrace.writers import OutputError, save
from pulsetrace.writers.chrome_json import ChromeJsonWriter, clock_bases, name_fragments

_core = c_extension()

needs_c = pytest.mark.skipif(_core is None, reason="the C extension pulsetrace._core is not built")

START = 1_700_000_000_000_000

FUNCTIONS = [
    FunctionInfo(FUNC_PYTHON, "<module>", "/srv/app/main.py", 1),
    FunctionInfo(FUNC_PYTHON, "Tree.fib", "/srv/app/main.py", 3),
    FunctionInfo(FUNC_C, "builtins.len", "", 0),
    FunctionInfo(FUNC_PYTHON, "numbers", "/srv/app/main.py", 10),
    FunctionInfo(FUNC_PYTHON, 'ünï "q"\\', "/tmp/файл\t.py", 5),
    FunctionInfo(FUNC_PYTHON, "lone", "/tmp/bad\udcff.py", 9),
    FunctionInfo(FUNC_C, "dict.get", "", 0),
]


class ThreadScript:
    """Builds one thread's records by hand; the clock moves by ``dt`` ns per event."""

    def __init__(self, start_ns: int = START) -> None:
        self.ns = start_ns
        self.records: List[bytes] = []
        self.stack: List[int] = []

    def enter(self, func: int, kind: int = ENTER_CALL, dt: int = 1000) -> ThreadScript:
        self.ns += dt
        self.stack.append(func)
        self.records.append(pack(self.ns, kind, func))
        return self

    def exit(self, kind: int = EXIT_RETURN, dt: int = 1000) -> ThreadScript:
        self.ns += dt
        self.records.append(pack(self.ns, kind, self.stack.pop()))
        return self

    def chunks(self, per_chunk: int = 4) -> List[bytes]:
        return [b"".join(self.records[i : i + per_chunk]) for i in range(0, len(self.records), per_chunk)]


def main_script() -> ThreadScript:
    script = ThreadScript()
    script.enter(0, dt=1)
    script.enter(1, dt=333).enter(1, dt=1).exit(dt=7).exit(dt=1_000_001)
    script.enter(2, ENTER_C).exit()
    script.enter(3, ENTER_RESUME).exit(EXIT_YIELD).enter(3, ENTER_RESUME).exit(EXIT_RETURN)
    script.enter(4).enter(6, ENTER_C, dt=2).exit(EXIT_UNWIND, dt=3).exit(EXIT_UNWIND)
    script.enter(5, dt=123_456_789)
    script.ns += 5
    script.records.append(pack(script.ns, EXIT_STOP, 5))
    script.records.append(pack(script.ns, EXIT_STOP, 0))
    return script


def make_process(
    pid: int = 100,
    start: int = START,
    wall_anchor: int = 1_712_000_000_000_000_000,
    mono_anchor: int = START - 50,
) -> ProcessTrace:
    worker = ThreadScript(start + 10)
    worker.enter(2, ENTER_C, dt=0).exit(dt=0)  # a zero-length slice
    return ProcessTrace(
        pid=pid,
        name=f"python main.py ({pid})",
        functions=list(FUNCTIONS),
        threads=[
            ThreadTrace(
                1,
                5001,
                "MainThread",
                main_script().chunks() if start == START else ThreadScript(start).enter(1).exit().chunks(),
            ),
            ThreadTrace(2, 5002, 'Wörker "1"', worker.chunks()),
            ThreadTrace(3, 5003, "idle", []),
        ],
        start_ns=start,
        stop_ns=start + 10**9,
        wall_anchor_ns=wall_anchor,
        mono_anchor_ns=mono_anchor,
        argv=["main.py"],
        python_version="3.11.7",
        metadata={"core": "c", "backend": "monitoring"},
    )


def export(trace: Trace) -> bytes:
    buffer = io.BytesIO()
    ChromeJsonWriter().write(trace, buffer)
    return buffer.getvalue()


def parse(data: bytes) -> Dict[str, Any]:
    document: Dict[str, Any] = json.loads(data, parse_float=Decimal)
    return document


def expected_slices(chunks: List[bytes]) -> List[Tuple[int, int, int, int]]:
    """(enter_ns, exit_ns, func, exit kind) per slice, in the order slices end."""
    stack: List[Tuple[int, int]] = []
    out = []
    for stamp, func in struct.iter_unpack("<QI", b"".join(chunks)):
        ns, kind = stamp >> 3, stamp & 7
        if kind <= ENTER_C:
            stack.append((ns, func))
        else:
            enter_ns, enter_func = stack.pop()
            out.append((enter_ns, ns, enter_func, kind))
    return out


def x_events(document: Dict[str, Any], pid: int, tid: int) -> List[Dict[str, Any]]:
    return [e for e in document["traceEvents"] if e["ph"] == "X" and e["pid"] == pid and e["tid"] == tid]


# -- the document ----------------------------------------------------------------------------------


def test_document_shape_and_metadata_events() -> None:
    document = parse(export(Trace([make_process()])))
    assert set(document) == {"traceEvents", "displayTimeUnit", "metadata"}
    assert document["displayTimeUnit"] == "ns"
    meta = [e for e in document["traceEvents"] if e["ph"] == "M"]
    assert {
        "name": "process_name",
        "pid": 100,
        "tid": 0,
        "ph": "M",
        "args": {"name": "python main.py (100)"},
    } in meta
    thread_names = {e["tid"]: e["args"]["name"] for e in meta if e["name"] == "thread_name"}
    assert thread_names == {5001: "MainThread", 5002: 'Wörker "1"', 5003: "idle"}
    order = {e["tid"]: e["args"]["sort_index"] for e in meta if e["name"] == "thread_sort_index"}
    assert order == {5001: 0, 5002: 1, 5003: 2}
    assert document["metadata"]["processes"][0]["pid"] == 100
    assert document["metadata"]["base_wall_ns"] == make_process().to_wall_ns(START)
    assert document["traceEvents"].index(meta[-1]) == len(meta) - 1  # metadata events come first


def test_slices_are_exact_to_the_nanosecond() -> None:
    process = make_process()
    document = parse(export(Trace([process])))
    for thread in process.threads:
        events = x_events(document, 100, thread.native_id)
        slices = expected_slices(thread.chunks)
        assert len(events) == len(slices)
        for event, (enter_ns, exit_ns, func, _kind) in zip(events, slices):
            assert event["ts"] * 1000 == enter_ns - START  # one process: ts counts from its start
            assert event["dur"] * 1000 == exit_ns - enter_ns
            assert event["name"].startswith(FUNCTIONS[func].name)
    # the raw text has three decimals, always
    text = export(Trace([process])).decode()
    assert '"ts":0.334,"dur":1000.009,' in text
    assert '"dur":0.000,' in text


def test_names_categories_and_args() -> None:
    document = parse(export(Trace([make_process()])))
    events = x_events(document, 100, 5001)
    names = [(e["name"], e["cat"]) for e in events]
    assert ("Tree.fib (/srv/app/main.py:3)", "python") in names
    assert ("builtins.len", "c") in names
    assert ('ünï "q"\\ (/tmp/файл\t.py:5)', "python") in names
    assert ("lone (/tmp/bad\udcff.py:9)", "python") in names
    unwound = [e for e in events if e.get("args") == {"exit": "exception"}]
    assert [e["name"] for e in unwound] == ["dict.get", 'ünï "q"\\ (/tmp/файл\t.py:5)']
    unfinished = [e for e in events if e.get("args") == {"unfinished": True}]
    assert [e["name"] for e in unfinished] == ["lone (/tmp/bad\udcff.py:9)", "<module> (/srv/app/main.py:1)"]
    # a generator resumed, suspending once and then returning: how each slice began and ended
    generator = [e.get("args") for e in events if e["name"].startswith("numbers ")]
    assert generator == [{"resumed": True, "exit": "yield"}, {"resumed": True}]
    plain = [e for e in events if "args" not in e]
    assert len(plain) + len(unwound) + len(unfinished) + len(generator) == len(events)


def test_children_come_before_and_inside_their_parents() -> None:
    document = parse(export(Trace([make_process()])))
    events = x_events(document, 100, 5001)
    ends = [e["ts"] + e["dur"] for e in events]
    assert ends == sorted(ends)
    module = events[-1]
    assert module["name"].startswith("<module>")
    for event in events[:-1]:
        assert module["ts"] <= event["ts"] and event["ts"] + event["dur"] <= module["ts"] + module["dur"]
    inner, outer = events[0], events[1]
    assert inner["name"] == outer["name"] == "Tree.fib (/srv/app/main.py:3)"
    assert outer["ts"] < inner["ts"] and inner["ts"] + inner["dur"] < outer["ts"] + outer["dur"]


def test_several_processes_line_up_by_wall_clock() -> None:
    a = make_process(pid=1, start=10**12, wall_anchor=5 * 10**18, mono_anchor=10**12 - 7)
    b = make_process(pid=2, start=3 * 10**9, wall_anchor=5 * 10**18 + 2_500_000_123, mono_anchor=3 * 10**9)
    document = parse(export(Trace([a, b])))
    base_wall = min(a.to_wall_ns(a.start_ns), b.to_wall_ns(b.start_ns))
    assert document["metadata"]["base_wall_ns"] == base_wall
    for process in (a, b):
        for thread in process.threads:
            for event, (enter_ns, _, _, _) in zip(
                x_events(document, process.pid, thread.native_id), expected_slices(thread.chunks)
            ):
                assert event["ts"] * 1000 == process.to_wall_ns(enter_ns) - base_wall
    assert clock_bases(Trace([a]))[1] == [a.start_ns]


def test_events_before_the_start_have_negative_timestamps() -> None:
    process = make_process()
    process.start_ns = START + 1500
    text = export(Trace([process])).decode()
    assert '"ts":-1.499,' in text  # the first entry is at START + 1


def test_thread_ids_reused_by_the_os_share_one_named_track() -> None:
    process = make_process()
    process.threads[2].native_id = 5002
    document = parse(export(Trace([process])))
    names = [
        e["args"]["name"]
        for e in document["traceEvents"]
        if e["ph"] == "M" and e["tid"] == 5002 and e["name"] == "thread_name"
    ]
    assert names == ['Wörker "1" / idle']


def test_empty_traces_are_valid_json() -> None:
    assert parse(export(Trace([])))["traceEvents"] == []
    empty = ProcessTrace(
        pid=1, name="p", functions=[], threads=[], start_ns=0, stop_ns=0, wall_anchor_ns=0, mono_anchor_ns=0
    )
    assert [e["ph"] for e in parse(export(Trace([empty])))["traceEvents"]] == ["M"]


def test_bad_records_fail_the_export_clearly() -> None:
    process = make_process()
    process.threads[1].chunks = [pack(START, EXIT_RETURN, 1)]
    with pytest.raises(OutputError, match="Wörker"):
        export(Trace([process]))


def test_gzip_output_is_the_same_json(tmp_path: Path) -> None:
    trace = Trace([make_process()])
    plain, packed = tmp_path / "t.json", tmp_path / "t.json.gz"
    assert save(trace, str(plain)).format == "json"
    result = save(trace, str(packed))
    assert result.format == "json.gz" and result.bytes_written == packed.stat().st_size
    with gzip.open(packed, "rb") as file:
        assert file.read() == plain.read_bytes()
    raw = packed.read_bytes()
    assert raw[3] & 0x08 == 0  # no file name (so no temporary name) in the gzip header


# -- chrome_json_events itself ---------------------------------------------------------------------


def test_format_us() -> None:
    assert format_us(0) == b"0.000"
    assert format_us(1) == b"0.001"
    assert format_us(-500) == b"-0.500"
    assert format_us(-1000) == b"-1.000"
    assert format_us(123_456_789) == b"123456.789"
    assert format_us(2**63 - 1) == b"9223372036854775.807"
    assert format_us(-(2**63)) == b"-9223372036854775.808"


def call(
    chunks: List[bytes], names: List[bytes], first: bool, base: int = 0, function: Optional[Any] = None
) -> Tuple[bytes, int, List[bytes]]:
    blocks: List[bytes] = []

    def write(data: Any) -> None:
        # Like any io write: the block may only be read during the call (the C writer reuses it).
        blocks.append(bytes(data))

    count = (function or chrome_json_events)(chunks, names, 7, 8, base, write, first)
    return b"".join(blocks), count, blocks


NAMES = [b'"name":"a","cat":"python"', b'"name":"b","cat":"c"']


def test_exact_text_and_separators() -> None:
    chunks = [
        pack(1000, ENTER_CALL, 0) + pack(1500, ENTER_C, 1),
        pack(2000, EXIT_UNWIND, 1) + pack(4001, EXIT_STOP, 0),
    ]
    text, count, _ = call(chunks, NAMES, True, base=1500)
    assert count == 2
    assert text == (
        b'{"ph":"X","pid":7,"tid":8,"ts":0.000,"dur":0.500,"name":"b","cat":"c","args":{"exit":"exception"}},\n'
        b'{"ph":"X","pid":7,"tid":8,"ts":-0.500,"dur":3.001,"name":"a","cat":"python","args":{"unfinished":true}}'
    )
    later, _, _ = call(chunks, NAMES, False, base=1500)
    assert later == b",\n" + text
    assert call([], NAMES, False) == (b"", 0, [])
    open_only, count, blocks = call([pack(1, ENTER_CALL, 0)], NAMES, False)
    assert (open_only, count, blocks) == (b"", 0, [])  # an entry never closed makes no event


def test_large_output_is_written_in_blocks_of_about_a_megabyte() -> None:
    records = b"".join(pack(i, ENTER_CALL, 0) + pack(i + 1, EXIT_RETURN, 0) for i in range(0, 60_000, 2))
    text, count, blocks = call([records], NAMES, True)
    assert count == 30_000 and len(blocks) > 1 and all(blocks)
    assert all(len(block) >= codec.CHROME_BLOCK_SIZE for block in blocks[:-1])
    assert all(len(block) < 2 * codec.CHROME_BLOCK_SIZE for block in blocks)
    assert len(json.loads(b"[" + text + b"]")) == 30_000


CHROME_ERRORS = [
    ("exit without entry", [pack(5, EXIT_RETURN, 0)]),
    ("kind 7", [pack(5, ENTER_CALL, 0) + pack(6, 7, 0)]),
    ("func without a name", [pack(5, ENTER_CALL, 2) + pack(6, EXIT_RETURN, 2)]),
    ("partial record", [pack(5, ENTER_CALL, 0)[:7]]),
]


@pytest.mark.parametrize("case", CHROME_ERRORS, ids=[case[0] for case in CHROME_ERRORS])
def test_bad_records_raise_value_error(case: Tuple[str, List[bytes]]) -> None:
    with pytest.raises(ValueError):
        call(case[1], NAMES, True)


# -- the C twin ------------------------------------------------------------------------------------


def random_thread(rng: random.Random, count: int) -> List[bytes]:
    ns = rng.choice([0, 999, START])
    stack: List[int] = []
    records = []
    for _ in range(count):
        ns += rng.choice([0, 1, 999, 1000, 1001, 123_456, 10**10])
        if stack and rng.random() < 0.5:
            records.append(
                pack(ns, rng.choice([EXIT_RETURN, EXIT_YIELD, EXIT_UNWIND, EXIT_STOP]), stack.pop())
            )
        else:
            func = rng.randrange(len(FUNCTIONS))
            stack.append(func)
            records.append(pack(ns, rng.choice([ENTER_CALL, ENTER_RESUME, ENTER_C]), func))
    return [b"".join(records[i : i + 50]) for i in range(0, len(records), 50)]


@needs_c
@pytest.mark.parametrize("seed", range(6))
def test_c_chrome_json_is_byte_identical(seed: int) -> None:
    rng = random.Random(seed)
    chunks = random_thread(rng, rng.choice([0, 10, 5000, 120_000]))
    names = name_fragments(FUNCTIONS)
    for first in (True, False):
        base = rng.choice([0, START, START + 10**12, -5])
        want = call(chunks, names, first, base)
        got = call(chunks, names, first, base, _core.chrome_json_events)
        assert got[0] == want[0] and got[1] == want[1]


@needs_c
@pytest.mark.parametrize("case", CHROME_ERRORS, ids=[case[0] for case in CHROME_ERRORS])
def test_c_chrome_json_rejects_the_same_records(case: Tuple[str, List[bytes]]) -> None:
    with pytest.raises(ValueError):
        call(case[1], NAMES, True, function=_core.chrome_json_events)


@needs_c
def test_c_and_python_exports_match(monkeypatch: pytest.MonkeyPatch) -> None:
    trace = Trace([make_process(), make_process(pid=2, start=10**9)])
    with_c = export(trace)
    monkeypatch.setattr(codec, "c_extension", lambda: None)
    assert export(trace) == with_c
