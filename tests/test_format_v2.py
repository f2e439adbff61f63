"""Native format version 2: argument/return value text and custom events round trip; version 1 files
still read; every kind of damage to the new sections is a TraceFileError naming the file and problem.
Also the same data in the Chrome JSON export."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

from pulsetrace.events import (
    ENTER_C,
    ENTER_CALL,
    EXIT_RETURN,
    EXIT_STOP,
    FUNC_C,
    FUNC_PYTHON,
    pack,
)
from pulsetrace.model import CounterSample, Instant, ObjectEvent, ProcessTrace, Span, ThreadTrace, Trace
from pulsetrace.model.native import (
    FORMAT_VERSION,
    HEADER,
    MAGIC,
    TAG_ARGS,
    TAG_EVENTS,
    TAG_PROCESS_CUSTOM,
    TAG_RETVALS,
    TAG_THREAD_CUSTOM,
    THREAD_INDEX,
    VALUES_HEADER,
    VERSION_WITHOUT_LINES,
    TraceFileError,
    iter_sections,
    parse_trace,
    read_trace,
)
from pulsetrace.model.native_custom import encode_values
from pulsetrace.recording import FunctionInfo
from pulsetrace.writers import save
from pulsetrace.writers.chrome_custom import slices_with_values
from pulsetrace.writers.native import NativeWriter, write_section

DATA = Path(__file__).parent / "data"
START = 1_700_000_000_000_000

FUNCTIONS = [
    FunctionInfo(FUNC_PYTHON, "main", "/srv/app.py", 1),
    FunctionInfo(FUNC_PYTHON, "add", "/srv/app.py", 5),
    FunctionInfo(FUNC_C, "builtins.len", "", 0),
]


def records(*events: Tuple[int, int, int]) -> bytes:
    return b"".join(pack(START + ns, kind, func) for ns, kind, func in events)


def make_trace() -> Trace:
    main = ThreadTrace(
        11,
        1011,
        "MainThread",
        [
            records(
                (10, ENTER_CALL, 0),  # 0
                (20, ENTER_CALL, 1),  # 1: add(2, 3)
                (30, ENTER_C, 2),  # 2
                (40, EXIT_RETURN, 2),  # 3
                (50, EXIT_RETURN, 1),  # 4: -> 5
            ),
            records(
                (60, ENTER_CALL, 1), (70, EXIT_STOP, 1), (70, EXIT_STOP, 0)
            ),  # 5: add("é", "\udcff"), 6, 7
        ],
        args={0: "", 1: "a=2, b=3", 5: "a='é', b='\udcff'"},
        retvals={4: "5"},
        instants=[
            Instant(
                START + 15, "start", "instant", "thread", 1011, {"n": 1, "nested": {"l": [1.5, None, True]}}
            ),
            Instant(START + 25, "print", "print", "thread", 1011, {"text": 'ünï "quoted"\n'}),
        ],
        spans=[
            Span(START + 12, START + 45, "load", "span", {}),
            Span(START + 46, START + 58, "gc", "gc", {"generation": 2, "collected": 7, "uncollectable": 0}),
        ],
    )
    sparse_only = ThreadTrace(
        12,
        1012,
        "worker",
        [],
        spans=[
            Span(
                START + 30,
                START + 35,
                "f (/srv/app.py:9)",
                "trace_only",
                {"args": "x=1", "return_value": "2"},
            )
        ],
    )
    idle = ThreadTrace(13, 1013, "idle", [])
    process = ProcessTrace(
        pid=77,
        name="python app.py",
        functions=list(FUNCTIONS),
        threads=[main, sparse_only, idle],
        start_ns=START,
        stop_ns=START + 70,
        wall_anchor_ns=1_712_000_000_000_000_000,
        mono_anchor_ns=START,
        argv=["app.py"],
        python_version="3.12.1",
        metadata={"core": "c"},
        instants=[Instant(START + 33, "checkpoint", "instant", "global", 1012, {"bad\udcffkey": "v"})],
        counters=[
            CounterSample(START + 14, "queue", 1011, {"len": 3, "load": 0.25}),
            CounterSample(START + 44, "queue", 1012, {"len": 0}),
        ],
        objects=[
            ObjectEvent(START + 16, "N", "Body", 140000, 1011, {}),
            ObjectEvent(START + 16, "O", "Body", 140000, 1011, {"x": "1", "y": "'ü'"}),
            ObjectEvent(START + 69, "D", "Body", 140000, 1011, {}),
        ],
    )
    return Trace([process])


def assert_same(got: Trace, expected: Trace) -> None:
    """Equal traces, but for how the records are split into chunks."""
    for trace in (got, expected):
        for process in trace.processes:
            for thread in process.threads:
                thread.chunks = [b"".join(thread.chunks)] if thread.chunks else []
    assert got == expected


def native_bytes(trace: Trace) -> bytes:
    buffer = io.BytesIO()
    NativeWriter().write(trace, buffer)
    return buffer.getvalue()


# -- round trips -----------------------------------------------------------------------------------


def test_round_trip_keeps_everything(tmp_path: Path) -> None:
    trace = make_trace()
    path = tmp_path / "t.pulse"
    save(trace, path)
    loaded = read_trace(path)
    assert_same(loaded, trace)
    assert loaded.custom_event_count == trace.custom_event_count == 11
    assert loaded.processes[0].threads[0].args[5] == "a='é', b='\udcff'"
    assert loaded.processes[0].instants[0].args == {"bad\udcffkey": "v"}


def test_version_and_section_layout() -> None:
    data = native_bytes(make_trace())
    assert struct.unpack_from("<I", data, 8)[0] == VERSION_WITHOUT_LINES == 2  # no line statistics
    tags = [section.tag for section in iter_sections(data)]
    assert tags == [
        b"PROC", b"FUNC",
        b"EVTS", b"ARGS", b"RETS", b"TCEV",  # main thread
        b"EVTS", b"TCEV",  # the sparse-only thread: no records, custom events
        b"EVTS",  # idle: nothing else
        b"PCEV", b"END!",
    ]  # fmt: skip
    args = next(s for s in iter_sections(data) if s.tag == TAG_ARGS).payload
    index, count = VALUES_HEADER.unpack_from(args)
    body = zlib.decompress(args[VALUES_HEADER.size :])
    assert (index, count) == (0, 3)
    assert struct.unpack_from("<3Q3I", body) == (
        0,
        1,
        5,
        0,
        8,
        len("a='é', b='\udcff'".encode("utf-8", "surrogatepass")),
    )
    assert body[36:].decode("utf-8", "surrogatepass") == "a=2, b=3a='é', b='\udcff'"
    pcev = next(s for s in iter_sections(data) if s.tag == TAG_PROCESS_CUSTOM).payload
    document = json.loads(zlib.decompress(pcev))
    assert document["counters"][0] == [START + 14, "queue", 1011, {"len": 3, "load": 0.25}]
    assert document["objects"][1] == [START + 16, "O", "Body", 140000, 1011, {"x": "1", "y": "'ü'"}]
    assert document["instants"][0][:5] == [START + 33, "checkpoint", "instant", "global", 1012]


def test_a_trace_without_new_data_writes_no_new_sections() -> None:
    trace = make_trace()
    process = trace.processes[0]
    process.instants, process.counters, process.objects = [], [], []
    for thread in process.threads:
        thread.args, thread.retvals, thread.instants, thread.spans = {}, {}, [], []
    tags = {section.tag for section in iter_sections(native_bytes(trace))}
    assert tags == {b"PROC", b"FUNC", b"EVTS", b"END!"}


def test_version_1_files_still_read() -> None:
    """tests/data/format_v1.pulse was written by the version-1 writer (pulsetrace 0.1)."""
    data = (DATA / "format_v1.pulse").read_bytes()
    assert struct.unpack_from("<I", data, 8)[0] == 1
    trace = read_trace(DATA / "format_v1.pulse")
    process = trace.processes[0]
    assert process.pid == 4242 and [t.name for t in process.threads] == ["MainThread", "wörker-1", "idle"]
    assert process.event_count == 46 and process.custom_event_count == 0
    assert all(
        t.args == {} and t.retvals == {} and t.instants == [] and t.spans == [] for t in process.threads
    )
    assert_same(parse_trace(native_bytes(trace)), trace)  # saved again: version 2, the same trace


# -- damage ----------------------------------------------------------------------------------------


def rebuild(data: bytes, change: Callable[[bytes, bytes, int], Optional[List[Tuple[bytes, bytes]]]]) -> bytes:
    """The file with each section replaced by what ``change(tag, payload, position)`` returns
    (None keeps it; a list of (tag, payload) replaces it), with correct checksums."""
    out = io.BytesIO()
    out.write(HEADER.pack(MAGIC, FORMAT_VERSION))
    for position, section in enumerate(iter_sections(data)):
        replacement = change(section.tag, bytes(section.payload), position)
        for tag, payload in (
            replacement if replacement is not None else [(section.tag, bytes(section.payload))]
        ):
            write_section(out, tag, payload)
    return out.getvalue()


def expect_error(data: bytes, *fragments: str) -> TraceFileError:
    with pytest.raises(TraceFileError) as caught:
        parse_trace(data, "damaged.pulse")
    message = str(caught.value)
    assert message.startswith("damaged.pulse: ")
    for fragment in fragments:
        assert fragment in message, message
    return caught.value


def replace_first(tag: bytes, make: Callable[[bytes], bytes]) -> bytes:
    done: List[bool] = []

    def change(found: bytes, payload: bytes, position: int) -> Optional[List[Tuple[bytes, bytes]]]:
        if found != tag or done:
            return None
        done.append(True)
        return [(tag, make(payload))]

    return rebuild(native_bytes(make_trace()), change)


def values_payload(thread: int, values: Dict[int, str], count: Optional[int] = None) -> bytes:
    return VALUES_HEADER.pack(thread, len(values) if count is None else count) + encode_values(values)


def raw_values(thread: int, indices: List[int], lengths: List[int], texts: bytes) -> bytes:
    body = struct.pack(f"<{len(indices)}Q", *indices) + struct.pack(f"<{len(lengths)}I", *lengths) + texts
    return VALUES_HEADER.pack(thread, len(indices)) + zlib.compress(body)


@pytest.mark.parametrize(
    "tag, payload, fragments",
    [
        (TAG_ARGS, b"\x00\x00", ["arguments section at byte", "too short"]),
        (TAG_ARGS, VALUES_HEADER.pack(0, 1) + b"not zlib", ["corrupt arguments of thread 'MainThread'"]),
        (TAG_ARGS, values_payload(0, {1: "a=1"}, count=2), ["2 texts need at least 24 bytes"]),
        (TAG_ARGS, raw_values(0, [1], [5], b"abc"), ["text lengths add up to 5 bytes, but 3 follow"]),
        (TAG_ARGS, raw_values(0, [1, 1], [1, 1], b"ab"), ["record index 1 does not follow 1"]),
        (TAG_ARGS, values_payload(0, {8: "x"}), ["record index 8 is past the thread's 8 records"]),
        (TAG_ARGS, values_payload(0, {2: "x"}), ["record 2 is a 'c_call' record, not 'call'"]),
        (TAG_RETVALS, values_payload(0, {1: "x"}), ["corrupt return values", "record 1 is a 'call' record"]),
        (TAG_ARGS, values_payload(7, {1: "x"}), ["are for thread #7", "has 3 threads"]),
        (TAG_ARGS, values_payload(1, {0: "x"}), ["come before the events section of thread 'worker'"]),
        (TAG_THREAD_CUSTOM, b"\x00", ["custom events section at byte", "too short"]),
        (TAG_THREAD_CUSTOM, THREAD_INDEX.pack(0) + zlib.compress(b"[1]"), ["not a JSON object"]),
        (TAG_THREAD_CUSTOM, THREAD_INDEX.pack(0) + zlib.compress(b"{oops"), ["corrupt custom", "Expecting"]),
        (TAG_THREAD_CUSTOM, THREAD_INDEX.pack(0) + zlib.compress(b'{"instants":[]}'), ["'spans' is missing"]),
        (
            TAG_THREAD_CUSTOM,
            THREAD_INDEX.pack(0) + zlib.compress(b'{"instants":[[1,"a","b"]],"spans":[]}'),
            ["instant #0 is not an array of 4 fields"],
        ),
        (
            TAG_THREAD_CUSTOM,
            THREAD_INDEX.pack(0) + zlib.compress(b'{"instants":[],"spans":[[5,4,"s","span",{}]]}'),
            ["span #0 ends (4) before it starts (5)"],
        ),
        (
            TAG_THREAD_CUSTOM,
            THREAD_INDEX.pack(0) + zlib.compress(b'{"instants":[[true,"a","b",{}]],"spans":[]}'),
            ["instant #0: field 0 should be int, not bool"],
        ),
        (TAG_THREAD_CUSTOM, THREAD_INDEX.pack(0) + b"\x78\x9c garbage", ["corrupt custom events of thread"]),
        (TAG_PROCESS_CUSTOM, zlib.compress(b'{"instants":[],"counters":[],"objects":[[1,"X","o",1,1,{}]]}'),
         ["corrupt process custom events of process 77", "phase 'X' is not one of N, O, D"]),
        (TAG_PROCESS_CUSTOM, zlib.compress(b'{"instants":[],"counters":[[1,"c",1,{"v":"3"}]],"objects":[]}'),
         ["counter sample #0: the value of 'v' is not a finite number"]),
        (TAG_PROCESS_CUSTOM, zlib.compress(b'{"instants":[[1,"i","instant","thread",1,{}]],"counters":[],'
                                           b'"objects":[]}'),
         ["instant #0: scope 'thread' is not 'process' or 'global'"]),
        (TAG_PROCESS_CUSTOM, zlib.compress(b'{"instants":[],"counters":[],"objects":[[1,"O","o",1,1,{"a":1}]]}'),  # noqa: E501
         ["object event #0: snapshot values must be strings"]),
    ],
)  # fmt: skip
def test_corrupt_new_sections(tag: bytes, payload: bytes, fragments: List[str]) -> None:
    expect_error(replace_first(tag, lambda _: payload), *fragments)


def test_new_sections_out_of_place() -> None:
    data = native_bytes(make_trace())

    def args_before_events(tag: bytes, payload: bytes, position: int) -> Optional[List[Tuple[bytes, bytes]]]:
        if tag == TAG_EVENTS and position == 2:
            return [(TAG_ARGS, values_payload(0, {1: "x"})), (tag, payload)]
        if tag == TAG_ARGS:
            return []
        return None

    expect_error(rebuild(data, args_before_events), "come before the events section of thread 'MainThread'")

    def twice(wanted: bytes) -> Callable[[bytes, bytes, int], Optional[List[Tuple[bytes, bytes]]]]:
        def change(tag: bytes, payload: bytes, position: int) -> Optional[List[Tuple[bytes, bytes]]]:
            return [(tag, payload), (tag, payload)] if tag == wanted else None

        return change

    expect_error(rebuild(data, twice(TAG_ARGS)), "has a second arguments section")
    expect_error(rebuild(data, twice(TAG_RETVALS)), "has a second return values section")
    expect_error(rebuild(data, twice(TAG_PROCESS_CUSTOM)), "process 77 has a second process events section")
    expect_error(rebuild(data, twice(TAG_THREAD_CUSTOM)), "has a second custom events section")


def test_damaged_file_on_disk_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.pulse"
    path.write_bytes(replace_first(TAG_ARGS, lambda _: values_payload(0, {3: "x"})))
    with pytest.raises(TraceFileError) as caught:
        read_trace(path)
    assert caught.value.path == str(path)
    assert "record 3 is a 'return' record, not 'call'" in caught.value.problem


def test_unknown_future_version_is_refused() -> None:
    data = native_bytes(make_trace())
    expect_error(
        data[:8] + struct.pack("<I", 4) + data[12:],
        "unsupported format version 4",
        "reads versions 1, 2 and 3",
    )


# -- Chrome JSON -----------------------------------------------------------------------------------


def chrome(trace: Trace, tmp_path: Path) -> Dict[str, Any]:
    path = tmp_path / "t.json"
    save(trace, path)
    with open(path, encoding="utf-8") as file:
        document: Dict[str, Any] = json.load(file)
    return document


def test_chrome_custom_events(tmp_path: Path) -> None:
    trace = make_trace()
    trace.processes[0].threads[0].args = trace.processes[0].threads[0].retvals = {}  # (tested below)
    events = chrome(trace, tmp_path)["traceEvents"]

    def find(**fields: Any) -> List[Dict[str, Any]]:
        return [e for e in events if all(e.get(k) == v for k, v in fields.items())]

    assert find(ph="i", name="start") == [
        {"ph": "i", "pid": 77, "tid": 1011, "ts": 0.015, "s": "t", "name": "start", "cat": "instant",
         "args": {"n": 1, "nested": {"l": [1.5, None, True]}}}
    ]  # fmt: skip
    assert find(ph="i", cat="print")[0]["args"] == {"text": 'ünï "quoted"\n'}
    assert (
        find(ph="i", name="checkpoint")[0]["s"] == "g" and find(ph="i", name="checkpoint")[0]["tid"] == 1012
    )
    assert find(ph="X", name="load") == [
        {
            "ph": "X",
            "pid": 77,
            "tid": 1011,
            "ts": 0.012,
            "dur": 0.033,
            "name": "load",
            "cat": "span",
            "args": {},
        }
    ]
    assert find(ph="X", cat="gc")[0]["args"] == {"generation": 2, "collected": 7, "uncollectable": 0}
    assert find(ph="X", cat="trace_only")[0]["tid"] == 1012
    assert [(e["ts"], e["args"]) for e in find(ph="C", name="queue")] == [
        (0.014, {"len": 3, "load": 0.25}),
        (0.044, {"len": 0}),
    ]
    assert [e["ph"] for e in find(id="0x222e0")] == ["N", "O", "D"]
    assert find(ph="O")[0]["args"] == {"snapshot": {"x": "1", "y": "'ü'"}}
    thread_tracks = {e["tid"] for e in find(ph="M", name="thread_name")}
    assert {1011, 1012, 1013} <= thread_tracks
    metadata = chrome(trace, tmp_path)["metadata"]["processes"][0]
    assert metadata["custom_events"] == 11


def _values_supported() -> bool:
    try:
        from pulsetrace.codec import fast_chrome_json

        slices_with_values(fast_chrome_json())
    except Exception:  # noqa: BLE001
        return False
    return True


@pytest.mark.skipif(
    not _values_supported(), reason="chrome_json_events without args/retvals (H1 in progress)"
)
def test_chrome_function_slices_carry_args_and_return_values(tmp_path: Path) -> None:
    events = chrome(make_trace(), tmp_path)["traceEvents"]
    slices = {(e["name"], e["ts"]): e for e in events if e["ph"] == "X" and e["cat"] in ("python", "c")}
    add_first = slices[("add (/srv/app.py:5)", 0.020)]
    assert add_first["args"] == {"args": "a=2, b=3", "return_value": "5"}
    add_open = slices[("add (/srv/app.py:5)", 0.060)]
    assert add_open["args"] == {"args": "a='é', b='\udcff'", "unfinished": True}  # the exit flag stays
    assert "args" not in slices[("builtins.len", 0.030)]
    assert slices[("main (/srv/app.py:1)", 0.010)]["args"]["args"] == ""


def test_chrome_threads_without_args_use_the_plain_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulsetrace.writers import chrome_custom

    def refuse(fast: Any) -> Any:
        raise AssertionError("slices_with_values called for a thread without args")

    monkeypatch.setattr(chrome_custom, "slices_with_values", refuse)
    trace = make_trace()
    for thread in trace.processes[0].threads:
        thread.args, thread.retvals = {}, {}
    events = chrome(trace, tmp_path)["traceEvents"]
    assert len([e for e in events if e["ph"] == "X" and e["cat"] in ("python", "c")]) == 4
