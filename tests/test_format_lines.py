"""Native format version 3: the LINE section (a process's line statistics) round-trips exactly, is
written only when there is something in it, and every kind of damage is refused with a clear error."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from pulsetrace.events import ENTER_CALL, EXIT_RETURN, FUNC_PYTHON, pack
from pulsetrace.model import CodeKey, LineStats, ProcessTrace, ThreadTrace, Trace
from pulsetrace.model.combine import combine
from pulsetrace.model.native import (
    FORMAT_VERSION,
    TAG_LINES,
    VERSION_WITHOUT_LINES,
    TraceFileError,
    iter_sections,
    parse_trace,
    read_trace,
)
from pulsetrace.model.native_lines import encode_lines
from pulsetrace.recording import FunctionInfo
from pulsetrace.writers import save
from pulsetrace.writers.native import NativeWriter, write_section

FILE = "/project/app.py"
SURROGATE_FILE = "/project/b\udcffd.py"


def sample_lines() -> LineStats:
    stats = LineStats()
    for lineno, (hits, self_ns, total_ns) in {3: (1, 50, 900), 4: (10, 200, 200), 9: (2, -3, 40)}.items():
        stat = stats.line(FILE, lineno)
        stat.hits, stat.self_ns, stat.total_ns = hits, self_ns, total_ns
    stats.line(SURROGATE_FILE, 1).hits = 1
    helper = CodeKey(FILE, 8, "helper")
    dumps = CodeKey("/usr/lib/python3/json/__init__.py", 183, "dumps")
    edge = stats.edge(FILE, 3, helper)
    edge.count, edge.total_ns = 2, 40
    edge = stats.edge(FILE, 3, dumps)
    edge.count, edge.total_ns = 1, 800
    summary = stats.function(dumps)
    summary.calls, summary.self_ns, summary.total_ns = 1, 300, 800
    return stats


def make_trace(lines: Optional[LineStats]) -> Trace:
    thread = ThreadTrace(1, 101, "MainThread", [pack(10, ENTER_CALL, 0) + pack(20, EXIT_RETURN, 0)])
    process = ProcessTrace(
        pid=42,
        name="python app.py",
        functions=[FunctionInfo(FUNC_PYTHON, "<module>", FILE, 1)],
        threads=[thread],
        start_ns=5,
        stop_ns=30,
        wall_anchor_ns=1_700_000_000_000_000_000,
        mono_anchor_ns=5,
        argv=["app.py"],
        python_version="3.12.1",
        sources={FILE: "print(1)\n"},
        metadata={"core": "c"},
        lines=lines,
    )
    return Trace([process])


def native_bytes(trace: Trace) -> bytes:
    from io import BytesIO

    out = BytesIO()
    NativeWriter().write(trace, out)  # type: ignore[arg-type]
    return out.getvalue()


def test_line_statistics_round_trip_exactly(tmp_path: Path) -> None:
    path = tmp_path / "lines.pulse"
    save(make_trace(sample_lines()), path)
    loaded = read_trace(path).processes[0].lines
    assert loaded == sample_lines()


def test_version_3_only_when_a_process_has_line_statistics() -> None:
    with_lines = native_bytes(make_trace(sample_lines()))
    assert struct.unpack_from("<I", with_lines, 8)[0] == FORMAT_VERSION == 3
    tags = [section.tag for section in iter_sections(with_lines)]
    assert tags == [b"PROC", b"FUNC", b"EVTS", b"LINE", b"SRCS", b"END!"]
    without = native_bytes(make_trace(None))
    assert struct.unpack_from("<I", without, 8)[0] == VERSION_WITHOUT_LINES == 2
    assert TAG_LINES not in [section.tag for section in iter_sections(without)]
    assert parse_trace(without).processes[0].lines is None
    empty = parse_trace(native_bytes(make_trace(LineStats()))).processes[0].lines
    assert empty == LineStats()  # recorded, nothing ran: not the same as not recorded


def test_the_payload_is_the_documented_json() -> None:
    document = json.loads(zlib.decompress(encode_lines(sample_lines())))
    assert set(document) == {"codes", "files", "edges", "functions"}
    assert document["files"][FILE] == [[3, 1, 50, 900], [4, 10, 200, 200], [9, 2, -3, 40]]
    codes = [CodeKey(*code) for code in document["codes"]]
    assert [(row[0], row[1], codes[row[2]].name, row[3], row[4]) for row in document["edges"]] == [
        (FILE, 3, "helper", 2, 40),
        (FILE, 3, "dumps", 1, 800),
    ]
    assert [(codes[row[0]].name, *row[1:]) for row in document["functions"]] == [("dumps", 1, 0, 300, 800)]


def test_combine_keeps_each_process_lines(tmp_path: Path) -> None:
    first, second = tmp_path / "a.pulse", tmp_path / "b.pulse"
    save(make_trace(sample_lines()), first)
    save(make_trace(None), second)
    combined = combine([read_trace(first), read_trace(second)])
    saved = tmp_path / "both.pulse"
    save(combined, saved)
    processes = read_trace(saved).processes
    assert [p.lines is not None for p in processes] == [True, False]
    assert processes[0].lines == sample_lines()


def with_lines_payload(payload: bytes, twice: bool = False) -> bytes:
    """The sample trace with its LINE section's payload replaced (or the section written twice)."""
    data = native_bytes(make_trace(sample_lines()))
    out = bytearray(data[:12])
    for section in iter_sections(data):
        body = bytes(section.payload)
        if section.tag == TAG_LINES:
            body = payload
        from io import BytesIO

        chunk = BytesIO()
        write_section(chunk, section.tag, body)  # type: ignore[arg-type]
        out += chunk.getvalue() * (2 if twice and section.tag == TAG_LINES else 1)
    return bytes(out)


def lines_json(**changes: Any) -> bytes:
    document: Dict[str, Any] = json.loads(zlib.decompress(encode_lines(sample_lines())))
    document.update(changes)
    return zlib.compress(json.dumps(document).encode())


BAD_PAYLOADS: List[Tuple[str, bytes, str]] = [
    ("not zlib", b"not zlib at all", "corrupt line statistics of process 42"),
    ("not an object", zlib.compress(b"[1, 2]"), "not a JSON object"),
    ("missing key", zlib.compress(b'{"codes": [], "files": {}, "edges": []}'), "no 'functions'"),
    ("bad code", lines_json(codes=[["f", -1, "x"]]), "code #0 is not [filename, line, name]"),
    ("files not object", lines_json(files=[]), "'files' is not an object"),
    ("line of 3 numbers", lines_json(files={FILE: [[1, 2, 3]]}), "is not a list of 4 numbers"),
    ("boolean hits", lines_json(files={FILE: [[1, True, 3, 4]]}), "not an integer"),
    ("negative hits", lines_json(files={FILE: [[1, -1, 3, 4]]}), "negative number -1"),
    ("line twice", lines_json(files={FILE: [[1, 1, 3, 4], [1, 1, 3, 4]]}), "line 1 of '/project/app.py' is"),
    ("edge code missing", lines_json(edges=[[FILE, 3, 99, 1, 1]]), "code #99 does not exist"),
    ("edge not a list", lines_json(edges=[{"a": 1}]), "bad call edge"),
    ("edge twice", lines_json(edges=[[FILE, 3, 0, 1, 1], [FILE, 3, 0, 1, 1]]), "is listed twice"),
    ("summary twice", lines_json(functions=[[0, 1, 0, 1, 1], [0, 1, 0, 1, 1]]), "summarised twice"),
    ("negative total", lines_json(functions=[[0, 1, 0, 1, -5]]), "negative number -5"),
]


@pytest.mark.parametrize(("what", "payload", "fragment"), BAD_PAYLOADS, ids=[bad[0] for bad in BAD_PAYLOADS])
def test_damaged_line_statistics_are_refused(what: str, payload: bytes, fragment: str) -> None:
    with pytest.raises(TraceFileError) as caught:
        parse_trace(with_lines_payload(payload), "damaged.pulse")
    message = str(caught.value)
    assert message.startswith("damaged.pulse: ")
    assert fragment in message, message


def test_a_second_line_section_is_refused() -> None:
    payload = encode_lines(sample_lines())
    with pytest.raises(TraceFileError, match="process 42 has a second line statistics section"):
        parse_trace(with_lines_payload(payload, twice=True), "damaged.pulse")
