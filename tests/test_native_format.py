"""The native trace file and its event stream codec: round trips, exact bytes, and every kind of damage."""

from __future__ import annotations

import io
import json
import random
import struct
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import pytest

from pulsetrace import codec
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
    RECORD_SIZE,
    pack,
)
from pulsetrace.extension import c_extension
from pulsetrace.model import ProcessTrace, ThreadTrace, Trace
from pulsetrace.model.native import (
    FORMAT_VERSION,
    HEADER,
    MAGIC,
    SECTION,
    TAG_END,
    TAG_EVENTS,
    TAG_FUNCTIONS,
    TAG_PROCESS,
    VERSION_WITHOUT_LINES,
    TraceFileError,
    iter_sections,
    load_trace,
    parse_trace,
    read_trace,
)
from pulsetrace.recording import FunctionInfo
from pulsetrace.writers import OutputError, save
from pulsetrace.writers.native import NativeWriter, function_table, process_metadata, write_section

_core = c_extension()

needs_c = pytest.mark.skipif(_core is None, reason="the C extension pulsetrace._core is not built")

# -- synthetic traces ------------------------------------------------------------------------------


class ThreadScript:
    """Builds one thread's records by hand: enter/exit with a clock that moves by ``dt`` per event."""

    def __init__(self, start_ns: int = 1_700_000_000_000_000) -> None:
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

    def stop_all(self, dt: int = 1) -> ThreadScript:
        self.ns += dt
        while self.stack:
            self.records.append(pack(self.ns, EXIT_STOP, self.stack.pop()))
        return self

    def chunks(self, per_chunk: int = 3) -> List[bytes]:
        return [b"".join(self.records[i : i + per_chunk]) for i in range(0, len(self.records), per_chunk)]


FUNCTIONS = [
    FunctionInfo(FUNC_PYTHON, "<module>", "/srv/app/main.py", 1),
    FunctionInfo(FUNC_PYTHON, "fib", "/srv/app/main.py", 3),
    FunctionInfo(FUNC_C, "builtins.len", "", 0),
    FunctionInfo(FUNC_PYTHON, "numbers", "/srv/app/main.py", 10),
    FunctionInfo(FUNC_PYTHON, "Klasse.méthode", "/tmp/ünï/файл.py", 5),
    FunctionInfo(FUNC_PYTHON, 'odd "name"\\', '/p/"a b"\n.py', 7),
    FunctionInfo(FUNC_C, "dict.get", "", 0),
    FunctionInfo(FUNC_PYTHON, "worker", "/srv/app/main.py", 20),
]


def main_thread() -> ThreadScript:
    script = ThreadScript()
    script.enter(0)  # <module>
    script.enter(1).enter(1, dt=250).exit(dt=10).enter(1).exit().exit(dt=1_000_000)  # nested fib
    script.enter(2, ENTER_C).exit()  # a C call
    for _ in range(3):  # a generator resumed and suspended
        script.enter(3, ENTER_RESUME).exit(EXIT_YIELD)
    script.enter(3, ENTER_RESUME).exit(EXIT_RETURN)
    script.enter(4).enter(6, ENTER_C).exit(EXIT_UNWIND).exit(EXIT_UNWIND)  # an exception leaves both
    script.enter(5).enter(1, dt=5_000_000_000)  # still open when tracing stops
    return script.stop_all()


def make_trace() -> Trace:
    worker = ThreadScript(1_700_000_000_500_000)
    for _ in range(5):
        worker.enter(7).enter(2, ENTER_C, dt=3).exit(dt=2).exit(dt=7)
    process = ProcessTrace(
        pid=4242,
        name="python main.py",
        functions=list(FUNCTIONS),
        threads=[
            ThreadTrace(140000000001, 1001, "MainThread", main_thread().chunks()),
            ThreadTrace(140000000002, 1002, "wörker-1", worker.chunks(per_chunk=7)),
            ThreadTrace(140000000003, 1003, "idle", []),
        ],
        start_ns=1_700_000_000_000_000,
        stop_ns=1_700_000_100_000_000,
        wall_anchor_ns=1_712_000_000_123_456_789,
        mono_anchor_ns=1_700_000_000_000_100,
        argv=["main.py", "--flag", "ünï", "bad\udcff"],
        python_version="3.11.7",
        sources={"/srv/app/main.py": "def fib(n):\n    return n\n", "/tmp/ünï/файл.py": "x = 'ü'\n"},
        metadata={"core": "c", "backend": "monitoring", "core_reason": "default", "options": {"a": [1, 2]}},
    )
    return Trace([process])


def native_bytes(trace: Trace) -> bytes:
    buffer = io.BytesIO()
    NativeWriter().write(trace, buffer)
    return buffer.getvalue()


def records_of(thread: ThreadTrace) -> bytes:
    return b"".join(thread.chunks)


def assert_same_trace(got: Trace, want: Trace) -> None:
    assert len(got.processes) == len(want.processes)
    for a, b in zip(got.processes, want.processes):
        for field in (
            "pid",
            "name",
            "functions",
            "start_ns",
            "stop_ns",
            "wall_anchor_ns",
            "mono_anchor_ns",
            "argv",
            "python_version",
            "sources",
            "metadata",
        ):
            assert getattr(a, field) == getattr(b, field), field
        assert [(t.ident, t.native_id, t.name) for t in a.threads] == [
            (t.ident, t.native_id, t.name) for t in b.threads
        ]
        for ta, tb in zip(a.threads, b.threads):
            assert records_of(ta) == records_of(tb)
            assert ta.event_count == tb.event_count


# -- the stream codec ------------------------------------------------------------------------------


def leb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def reference_encode(records: bytes) -> bytes:
    """The stream encoding spelled out as the format document states it."""
    out = bytearray()
    prev_ns = 0
    for stamp, func in struct.iter_unpack("<QI", records):
        ns, kind = stamp >> 3, stamp & 7
        out += leb128(((ns - prev_ns) << 3) | kind)
        if kind in (ENTER_CALL, ENTER_RESUME, ENTER_C):
            out += leb128(func)
        prev_ns = ns
    return bytes(out)


def random_records(rng: random.Random, count: int, *, wide: bool = False) -> bytes:
    """A well-nested random stream of ``count`` events (open entries are closed by EXIT_STOP)."""
    ns = rng.choice([0, 1, 10**15, 2**60])
    stack: List[int] = []
    out: List[bytes] = []
    while len(out) < count:
        ns += rng.choice([0, 1, 7, 130, 5000, 2**20, 2**33]) if wide else rng.randint(0, 4000)
        if stack and (rng.random() < 0.5 or len(stack) > 40):
            out.append(pack(ns, rng.choice([EXIT_RETURN, EXIT_YIELD, EXIT_UNWIND]), stack.pop()))
        else:
            func = rng.choice([0, 1, 127, 128, 300, 2**21, 2**32 - 1]) if wide else rng.randint(0, 600)
            stack.append(func)
            out.append(pack(ns, rng.choice([ENTER_CALL, ENTER_RESUME, ENTER_C]), func))
    while stack:
        out.append(pack(ns, EXIT_STOP, stack.pop()))
    return b"".join(out)


def split(records: bytes, rng: random.Random) -> List[bytes]:
    chunks = []
    pos = 0
    while pos < len(records):
        step = rng.randint(0, 9) * RECORD_SIZE
        chunks.append(records[pos : pos + step])
        pos += step
    return chunks


def test_stream_bytes_for_a_tiny_example() -> None:
    records = pack(5, ENTER_CALL, 3) + pack(7, EXIT_RETURN, 3)
    # ((5 - 0) << 3) | 0 = 40, func 3, ((7 - 5) << 3) | 3 = 19; the exit carries no func
    assert codec.encode_events([records]) == bytes([40, 3, 19])
    assert codec.decode_events(bytes([40, 3, 19]), 2) == records


def test_first_delta_is_the_absolute_stamp_as_a_multibyte_varint() -> None:
    ns = 1_700_000_000_123_456
    records = pack(ns, ENTER_C, 300) + pack(ns + 129, EXIT_RETURN, 300)
    expected = leb128((ns << 3) | ENTER_C) + leb128(300) + leb128((129 << 3) | EXIT_RETURN)
    assert codec.encode_events([records]) == expected


@pytest.mark.parametrize("seed", range(12))
def test_random_streams_round_trip(seed: int) -> None:
    rng = random.Random(seed)
    records = random_records(rng, rng.randint(0, 3000), wide=seed % 2 == 1)
    encoded = codec.encode_events(split(records, rng))
    assert encoded == reference_encode(records)
    assert codec.decode_events(encoded, len(records) // RECORD_SIZE) == records


def test_extreme_values_round_trip() -> None:
    top = 2**61 - 1  # the largest ns a record can hold
    records = pack(0, ENTER_CALL, 2**32 - 1) + pack(top, EXIT_RETURN, 2**32 - 1)
    encoded = codec.encode_events([records])
    assert codec.decode_events(encoded, 2) == records
    assert codec.encode_events([]) == b"" and codec.decode_events(b"", 0) == b""


def test_typical_events_take_about_three_bytes() -> None:
    records = random_records(random.Random(3), 200_000)
    size = len(codec.encode_events([records])) / (len(records) // RECORD_SIZE)
    assert size < 4


ENCODE_ERRORS: List[Tuple[str, List[bytes], str]] = [
    ("backwards", [pack(10, ENTER_CALL, 1) + pack(9, EXIT_RETURN, 1)], "earlier"),
    ("kind 7", [pack(10, 7, 1)], "reserved"),
    ("unmatched exit", [pack(10, EXIT_RETURN, 1)], "without an open entry"),
    ("wrong func", [pack(10, ENTER_CALL, 1) + pack(11, EXIT_RETURN, 2)], "innermost"),
    ("partial record", [pack(10, ENTER_CALL, 1)[:-1]], "whole number"),
]


@pytest.mark.parametrize("case", ENCODE_ERRORS, ids=[case[0] for case in ENCODE_ERRORS])
def test_encode_refuses_what_cannot_be_decoded(case: Tuple[str, List[bytes], str]) -> None:
    _, chunks, message = case
    with pytest.raises(ValueError, match=message):
        codec.encode_events(chunks)


GOOD = codec.encode_events([pack(5, ENTER_CALL, 3) + pack(7, EXIT_RETURN, 3)])  # b"\x28\x03\x13"

DECODE_ERRORS: List[Tuple[str, bytes, int]] = [
    ("truncated varint", b"\x28\x03\x93", 2),
    ("missing func", b"\x28", 1),
    ("fewer events than counted", GOOD[:2], 2),
    ("more events than counted", GOOD, 1),
    ("count beyond data", GOOD, 1000),
    ("negative count", GOOD, -1),
    ("kind 7", b"\x2f", 1),
    ("exit with empty stack", b"\x13", 1),
    ("varint longer than 10 bytes", b"\x80" * 10 + b"\x00\x00", 1),
    ("varint past 64 bits", b"\x80" * 9 + b"\x02\x00", 1),
    ("func past 32 bits", b"\x28" + leb128(2**32), 1),
    (
        "timestamp past 61 bits",
        leb128(((2**61 - 1) << 3) | ENTER_CALL) + b"\x00" + leb128(8 | EXIT_RETURN),
        2,
    ),
]


@pytest.mark.parametrize("case", DECODE_ERRORS, ids=[case[0] for case in DECODE_ERRORS])
def test_decode_rejects_corrupt_streams(case: Tuple[str, bytes, int]) -> None:
    _, data, count = case
    with pytest.raises(ValueError):
        codec.decode_events(data, count)


def test_fast_codec_falls_back_to_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "c_extension", lambda: None)
    assert codec.fast_codec() == (codec.encode_events, codec.decode_events)
    assert codec.fast_chrome_json() is codec.chrome_json_events


@needs_c
def test_fast_codec_uses_the_c_extension() -> None:
    assert codec.fast_codec() == (_core.encode_events, _core.decode_events)


@needs_c
@pytest.mark.parametrize("seed", range(8))
def test_c_codec_is_byte_identical(seed: int) -> None:
    rng = random.Random(100 + seed)
    records = random_records(rng, rng.randint(0, 5000), wide=seed % 2 == 0)
    chunks = split(records, rng)
    encoded = codec.encode_events(chunks)
    assert _core.encode_events(chunks) == encoded
    assert _core.decode_events(encoded, len(records) // RECORD_SIZE) == records


@needs_c
@pytest.mark.parametrize("case", ENCODE_ERRORS, ids=[case[0] for case in ENCODE_ERRORS])
def test_c_encode_refuses_the_same_records(case: Tuple[str, List[bytes], str]) -> None:
    with pytest.raises(ValueError):
        _core.encode_events(case[1])


@needs_c
@pytest.mark.parametrize("case", DECODE_ERRORS, ids=[case[0] for case in DECODE_ERRORS])
def test_c_decode_rejects_the_same_streams(case: Tuple[str, bytes, int]) -> None:
    with pytest.raises(ValueError):
        _core.decode_events(case[1], case[2])


# -- the file: round trips -------------------------------------------------------------------------


def test_round_trip_through_a_file(tmp_path: Path) -> None:
    trace = make_trace()
    path = str(tmp_path / "run.pulse")
    result = save(trace, path)
    assert result.format == "native" and result.events == trace.event_count
    loaded = read_trace(path)
    assert_same_trace(loaded, trace)
    assert load_trace(path).event_count == trace.event_count


def test_round_trip_is_stable() -> None:
    data = native_bytes(make_trace())
    assert native_bytes(parse_trace(data)) == data


def test_several_processes_round_trip() -> None:
    first = make_trace().processes[0]
    second = ProcessTrace(
        pid=7,
        name="child",
        functions=[FUNCTIONS[1]],
        threads=[ThreadTrace(1, 2, "MainThread", ThreadScript(5).enter(0).exit().chunks())],
        start_ns=5,
        stop_ns=10_000,
        wall_anchor_ns=10**18,
        mono_anchor_ns=0,
    )
    empty = ProcessTrace(
        pid=8, name="", functions=[], threads=[], start_ns=0, stop_ns=0, wall_anchor_ns=0, mono_anchor_ns=0
    )
    trace = Trace([first, second, empty])
    assert_same_trace(parse_trace(native_bytes(trace)), trace)


def test_an_empty_trace_round_trips() -> None:
    assert parse_trace(native_bytes(Trace([]))).processes == []


def test_events_take_at_most_twelve_bytes_on_disk() -> None:
    rng = random.Random(5)
    records = random_records(rng, 100_000)
    trace = make_trace()
    trace.processes[0].threads[0].chunks = [records]
    trace.processes[0].functions = [FUNCTIONS[0]] * 601
    assert len(native_bytes(trace)) / trace.event_count < 4  # ~3 typical; far under the 12-byte target


def test_layout_is_the_documented_one() -> None:
    data = native_bytes(make_trace())
    assert data[:8] == MAGIC == b"\x89PLS\r\n\x1a\n"
    assert struct.unpack_from("<I", data, 8)[0] == VERSION_WITHOUT_LINES == 2  # no line statistics
    tags = [section.tag for section in iter_sections(data)]
    assert tags == [b"PROC", b"FUNC", b"EVTS", b"EVTS", b"EVTS", b"SRCS", b"SRCS", b"END!"]
    proc = json.loads(bytes(next(iter_sections(data)).payload))
    assert proc["pid"] == 4242 and proc["metadata"]["core"] == "c"
    assert [t["events"] for t in proc["threads"]] == [
        t.event_count for t in make_trace().processes[0].threads
    ]


def test_unknown_sections_are_skipped() -> None:
    data = native_bytes(make_trace())
    end = [s for s in iter_sections(data) if s.tag == TAG_END][0].offset
    extra = io.BytesIO()
    write_section(extra, b"XTRA", b"some future data")
    assert_same_trace(parse_trace(data[:end] + extra.getvalue() + data[end:]), make_trace())


# -- the file: damage ------------------------------------------------------------------------------


def small_file() -> bytes:
    script = ThreadScript(10).enter(0).enter(2, ENTER_C).exit().exit(EXIT_UNWIND)
    process = ProcessTrace(
        pid=1,
        name="p",
        functions=FUNCTIONS[:3],
        threads=[ThreadTrace(1, 1, "MainThread", script.chunks())],
        start_ns=0,
        stop_ns=100,
        wall_anchor_ns=0,
        mono_anchor_ns=0,
        sources={"/a.py": "pass\n"},
    )
    return native_bytes(Trace([process]))


def expect_error(data: bytes, *fragments: str, path: str = "trace.pulse") -> TraceFileError:
    with pytest.raises(TraceFileError) as info:
        parse_trace(data, path)
    message = str(info.value)
    assert message.startswith(path + ": ")
    for fragment in fragments:
        assert fragment in message, message
    return info.value


def test_every_truncation_is_reported() -> None:
    data = small_file()
    for length in range(len(data)):
        expect_error(data[:length])


def test_truncation_at_each_section_boundary_says_truncated() -> None:
    data = native_bytes(make_trace())
    sections = list(iter_sections(data))
    for section in sections:
        expect_error(data[: section.offset], "truncated")
        expect_error(data[: section.offset + SECTION.size + len(section.payload) // 2], "truncated")


def test_truncation_mid_stream_names_the_section() -> None:
    data = native_bytes(make_trace())
    events = [s for s in iter_sections(data) if s.tag == TAG_EVENTS][0]
    expect_error(data[: events.offset + SECTION.size + 20], "truncated", "'EVTS'")


def test_every_flipped_byte_is_reported() -> None:
    data = small_file()
    for position in range(len(data)):
        damaged = bytearray(data)
        damaged[position] ^= 0x40
        expect_error(bytes(damaged))


def test_wrong_magic() -> None:
    data = small_file()
    expect_error(b"XXXX" + data[4:], "not a pulsetrace trace file")
    expect_error(b'{"traceEvents": []}', "looks like JSON")


def test_unsupported_versions() -> None:
    data = small_file()
    expect_error(data[:8] + struct.pack("<I", 4) + data[12:], "unsupported format version 4", "newer")
    expect_error(data[:8] + struct.pack("<I", 0) + data[12:], "unsupported format version 0")


def test_empty_file_and_garbage() -> None:
    expect_error(b"", "empty file")
    rng = random.Random(9)
    for size in (1, 7, 12, 100, 5000):
        expect_error(bytes(rng.getrandbits(8) for _ in range(size)))
        expect_error(HEADER.pack(MAGIC, FORMAT_VERSION) + bytes(rng.getrandbits(8) for _ in range(size)))


def test_unreadable_path(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.pulse")
    with pytest.raises(TraceFileError, match="cannot read"):
        read_trace(missing)
    with pytest.raises(TraceFileError, match="cannot read"):
        read_trace(str(tmp_path))


def build_file(*sections: Tuple[bytes, bytes], end: Optional[int] = None) -> bytes:
    """A file with valid checksums around arbitrary section payloads."""
    out = io.BytesIO()
    out.write(HEADER.pack(MAGIC, FORMAT_VERSION))
    processes = 0
    for tag, payload in sections:
        processes += tag == TAG_PROCESS
        write_section(out, tag, payload)
    write_section(out, TAG_END, struct.pack("<I", processes if end is None else end))
    return out.getvalue()


def one_thread_process(events: int = 2) -> ProcessTrace:
    script = ThreadScript(10).enter(1).exit()
    return ProcessTrace(
        pid=3,
        name="p",
        functions=FUNCTIONS[:2],
        threads=[ThreadTrace(1, 1, "T", script.chunks()[:1] if events else [])],
        start_ns=0,
        stop_ns=0,
        wall_anchor_ns=0,
        mono_anchor_ns=0,
    )


def proc_section(
    process: ProcessTrace, edit: Optional[Callable[[Dict[str, Any]], None]] = None
) -> Tuple[bytes, bytes]:
    meta = json.loads(process_metadata(process))
    if edit is not None:
        edit(meta)
    return TAG_PROCESS, json.dumps(meta).encode()


def events_section(stream: bytes, count: int, index: int = 0) -> Tuple[bytes, bytes]:
    return TAG_EVENTS, struct.pack("<IQ", index, count) + stream


STREAM = codec.encode_events(ThreadScript(10).enter(1).exit().chunks())
FUNC = (TAG_FUNCTIONS, function_table(FUNCTIONS[:2]))

BAD_FILES: List[Tuple[str, Sequence[Tuple[bytes, bytes]], str]] = [
    ("events before any process", [events_section(STREAM, 2)], "before any process"),
    ("function table before any process", [FUNC], "before any process"),
    ("process JSON is not JSON", [(TAG_PROCESS, b"{nope")], "not valid JSON"),
    ("process JSON is a list", [(TAG_PROCESS, b"[]")], "not a JSON object"),
    ("process JSON nested absurdly deep", [(TAG_PROCESS, b"[" * 100_000 + b"]" * 100_000)], "not valid JSON"),
    ("process JSON is not UTF-8", [(TAG_PROCESS, b'{"name": "\xff"}')], "not valid JSON"),
    ("missing pid", [proc_section(one_thread_process(), lambda m: m.pop("pid"))], "'pid' is missing"),
    ("pid is a string", [proc_section(one_thread_process(), lambda m: m.update(pid="3"))], "should be int"),
    ("argv holds a number", [proc_section(one_thread_process(), lambda m: m.update(argv=[1]))], "argv"),
    (
        "thread is not an object",
        [proc_section(one_thread_process(), lambda m: m.update(threads=[1]))],
        "thread #0",
    ),
    ("no function table", [proc_section(one_thread_process()), events_section(STREAM, 2)], "function table"),
    ("two function tables", [proc_section(one_thread_process()), FUNC, FUNC], "second function table"),
    (
        "bad function table",
        [proc_section(one_thread_process()), (TAG_FUNCTIONS, b"\x05\x00\x00\x00")],
        "corrupt function table",
    ),
    (
        "function row past its string table",
        [proc_section(one_thread_process()), (TAG_FUNCTIONS, struct.pack("<IIBIII", 0, 1, 0, 0, 0, 1))],
        "corrupt function table",
    ),
    ("thread without events", [proc_section(one_thread_process()), FUNC], "no events section"),
    (
        "events for a thread that does not exist",
        [proc_section(one_thread_process()), FUNC, events_section(STREAM, 2, index=1)],
        "thread #1",
    ),
    (
        "two event sections",
        [proc_section(one_thread_process()), FUNC, events_section(STREAM, 2), events_section(STREAM, 2)],
        "second events section",
    ),
    (
        "event counts disagree",
        [proc_section(one_thread_process()), FUNC, events_section(STREAM[:2], 1)],
        "holds 1 events",
    ),
    (
        "corrupt stream with a valid checksum",
        [proc_section(one_thread_process()), FUNC, events_section(b"\x13\x13", 2)],
        "corrupt event stream",
    ),
    (
        "func not in the function table",
        [
            proc_section(one_thread_process()),
            FUNC,
            events_section(codec.encode_events([pack(1, ENTER_CALL, 9) + pack(2, EXIT_RETURN, 9)]), 2),
        ],
        "not in the function table",
    ),
    (
        "event count past 64-bit signed",
        [
            proc_section(one_thread_process(), lambda m: m["threads"][0].update(events=2**64 - 1)),
            FUNC,
            events_section(STREAM, 2**64 - 1),
        ],
        "corrupt event stream",
    ),
    (
        "events section too short",
        [proc_section(one_thread_process()), FUNC, (TAG_EVENTS, b"\x00")],
        "too short",
    ),
    (
        "bad source section",
        [
            proc_section(one_thread_process()),
            FUNC,
            events_section(STREAM, 2),
            (b"SRCS", b"\x01\x00\x00\x00a" + b"not zlib"),
        ],
        "corrupt source section",
    ),
]


@pytest.mark.parametrize("case", BAD_FILES, ids=[case[0] for case in BAD_FILES])
def test_semantically_bad_files(case: Tuple[str, Sequence[Tuple[bytes, bytes]], str]) -> None:
    _, sections, message = case
    expect_error(build_file(*sections), message)


def test_good_hand_built_file_reads() -> None:
    trace = parse_trace(build_file(proc_section(one_thread_process()), FUNC, events_section(STREAM, 2)))
    assert trace.event_count == 2


def test_end_marker_problems() -> None:
    sections = [proc_section(one_thread_process()), FUNC, events_section(STREAM, 2)]
    expect_error(build_file(*sections, end=2), "counts 2 processes")
    expect_error(build_file(*sections) + b"\x00", "after the end marker")
    bad_end = io.BytesIO()
    bad_end.write(HEADER.pack(MAGIC, FORMAT_VERSION))
    write_section(bad_end, TAG_END, b"")
    expect_error(bad_end.getvalue(), "bad end marker")


# -- the writer refuses what it cannot store -------------------------------------------------------


def test_unencodable_events_fail_the_save_and_leave_no_file(tmp_path: Path) -> None:
    trace = make_trace()
    trace.processes[0].threads[1].chunks = [pack(5, EXIT_RETURN, 1)]
    path = tmp_path / "bad.pulse"
    with pytest.raises(OutputError, match="wörker-1"):
        save(trace, str(path))
    assert list(tmp_path.iterdir()) == []


def test_metadata_that_is_not_json_fails_clearly() -> None:
    trace = make_trace()
    trace.processes[0].metadata["bad"] = float("nan")
    with pytest.raises(OutputError, match="JSON"):
        native_bytes(trace)
    trace.processes[0].metadata["bad"] = object()
    with pytest.raises(OutputError, match="JSON"):
        native_bytes(trace)


def test_python_codec_reads_and_writes_the_same_file(monkeypatch: pytest.MonkeyPatch) -> None:
    with_default = native_bytes(make_trace())
    monkeypatch.setattr(codec, "c_extension", lambda: None)
    assert native_bytes(make_trace()) == with_default
    assert_same_trace(parse_trace(with_default), make_trace())
    expect_error(
        build_file(proc_section(one_thread_process()), FUNC, events_section(b"\x13\x13", 2)),
        "corrupt event stream",
    )
