"""The native trace file: its layout constants and the reader (the writer is pulsetrace.writers.native).

Layout (docs/format.md is the full specification)::

    header   MAGIC (8 bytes), u32 format version
    section  tag (4 bytes), u64 payload length, u32 CRC-32 of tag + length + payload, payload
    ...      per process: PROC (JSON), FUNC (function table), one EVTS per thread, each followed by
             that thread's optional ARGS / RETS (argument and return value text) and TCEV (custom
             events); an optional PCEV (the process's custom events); an optional LINE (line
             statistics, version 3); SRCS per file
    END!     u32 number of processes; nothing may follow

All integers are little-endian. Readers skip sections whose tag they do not know (after checking
their CRC), so a version can gain optional sections without breaking older readers.

The reader turns every malformed file into a ``TraceFileError`` that names the file and the problem.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import zlib
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Tuple, Union

from ..codec import fast_codec
from ..events import ENTER_CALL, EXIT_RETURN
from ..recording import FunctionInfo
from .lines import LineStats
from .native_custom import (
    ProcessCustom,
    ThreadCustom,
    decode_process_custom,
    decode_thread_custom,
    decode_values,
)
from .native_lines import decode_lines
from .trace import ProcessTrace, ThreadTrace, Trace

MAGIC = b"\x89PLS\r\n\x1a\n"  # high bit, "PLS", CRLF, ^Z, LF: catches text-mode mangling like PNG's
# 1: PROC/FUNC/EVTS/SRCS/END!, varint delta event streams; 2: + ARGS/RETS/TCEV/PCEV; 3: + LINE
FORMAT_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)  # each version is the one before plus sections; files use the lowest that fits
VERSION_WITHOUT_LINES = 2  # a trace without line statistics is written as version 2, for older readers

HEADER = struct.Struct("<8sI")  # magic, format version
SECTION = struct.Struct("<4sQI")  # tag, payload length, CRC-32 of tag + length + payload
LENGTH = struct.Struct("<Q")
U32 = struct.Struct("<I")
EVENTS_HEADER = struct.Struct("<IQ")  # thread index within the process, event count
FUNCTIONS_HEADER = struct.Struct("<II")  # string count, row count
FUNCTION_ROW = struct.Struct("<BIII")  # kind, name string index, filename string index, first line

TAG_PROCESS = b"PROC"
TAG_FUNCTIONS = b"FUNC"
TAG_EVENTS = b"EVTS"
TAG_SOURCE = b"SRCS"
TAG_ARGS = b"ARGS"
TAG_RETVALS = b"RETS"
TAG_THREAD_CUSTOM = b"TCEV"
TAG_PROCESS_CUSTOM = b"PCEV"
TAG_LINES = b"LINE"
TAG_END = b"END!"
VALUES_HEADER = struct.Struct("<IQ")  # ARGS / RETS: thread index, number of texts
THREAD_INDEX = struct.Struct("<I")  # TCEV: thread index

TEXT_ENCODING = "utf-8"
TEXT_ERRORS = "surrogatepass"  # filenames and argv may hold lone surrogates (undecodable bytes)

PathArg = Union[str, "os.PathLike[str]"]


class TraceFileError(Exception):
    """A trace file cannot be read: not a trace, a newer format, truncated or corrupt."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def section_crc(tag: bytes, length: int, *parts: Union[bytes, memoryview]) -> int:
    """The CRC-32 stored in a section header: over the tag, the u64 length and the payload."""
    crc = zlib.crc32(tag + LENGTH.pack(length))
    for part in parts:
        crc = zlib.crc32(part, crc)
    return crc


class Section(NamedTuple):
    """One section of a trace file; ``offset`` is where its header starts."""

    tag: bytes
    offset: int
    payload: memoryview


def iter_sections(data: bytes, path: str = "<bytes>") -> Iterator[Section]:
    """Check the header and yield every section up to and including the end marker."""
    size = len(data)
    if size == 0:
        raise TraceFileError(path, "empty file (0 bytes): not a pulsetrace trace")
    if data[: len(MAGIC)] != MAGIC[:size]:
        raise TraceFileError(path, f"not a pulsetrace trace file (bad magic bytes{_guess_kind(data)})")
    if size < HEADER.size:
        raise TraceFileError(path, f"truncated: the file ends inside its {HEADER.size}-byte header")
    _, version = HEADER.unpack_from(data)
    if version not in READABLE_VERSIONS:
        newer = " (written by a newer pulsetrace: upgrade to read it)" if version > FORMAT_VERSION else ""
        known = ", ".join(str(v) for v in READABLE_VERSIONS[:-1]) + f" and {READABLE_VERSIONS[-1]}"
        raise TraceFileError(
            path, f"unsupported format version {version}; this pulsetrace reads versions {known}{newer}"
        )
    view = memoryview(data)
    pos = HEADER.size
    while True:
        if pos == size:
            raise TraceFileError(path, f"truncated: no end marker after byte {pos} (the file was cut short)")
        if size - pos < SECTION.size:
            raise TraceFileError(path, f"truncated: the file ends inside a section header at byte {pos}")
        tag, length, crc = SECTION.unpack_from(data, pos)
        start = pos + SECTION.size
        name = _tag_name(tag)
        if length > size - start:
            raise TraceFileError(
                path,
                f"truncated: section {name} at byte {pos} needs {length} bytes but {size - start} remain",
            )
        payload = view[start : start + length]
        if section_crc(tag, length, payload) != crc:
            raise TraceFileError(path, f"corrupt section {name} at byte {pos} (checksum mismatch)")
        yield Section(tag, pos, payload)
        pos = start + length
        if tag == TAG_END:
            if pos != size:
                raise TraceFileError(
                    path, f"{size - pos} unexpected bytes after the end marker at byte {pos}"
                )
            return


def read_file(path: PathArg) -> Tuple[str, bytes]:
    """(the path as text, the file's bytes); a file that cannot be read is a TraceFileError naming it.
    Every trace reader opens its file through here."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as file:
            return name, file.read()
    except OSError as exc:
        raise TraceFileError(name, f"cannot read: {exc.strerror or exc}") from None


def read_trace(path: PathArg) -> Trace:
    """Read a native trace file (``.pulse``) into the model."""
    name, data = read_file(path)
    return parse_trace(data, name)


load_trace = read_trace


def parse_trace(data: bytes, path: str = "<bytes>") -> Trace:
    """Parse the bytes of a native trace file; ``path`` only names it in errors."""
    processes: List[ProcessTrace] = []
    current: Optional[_ProcessParts] = None
    for section in iter_sections(data, path):
        tag, payload = section.tag, section.payload
        if tag == TAG_PROCESS:
            if current is not None:
                processes.append(current.finish(path))
            current = _ProcessParts(_parse_process(payload, path, section.offset))
        elif tag in _PROCESS_SECTIONS:
            if current is None:
                raise TraceFileError(
                    path, f"section {_tag_name(tag)} at byte {section.offset} before any process"
                )
            if tag == TAG_FUNCTIONS:
                current.add_functions(payload, path, section.offset)
            elif tag == TAG_EVENTS:
                current.add_events(payload, path, section.offset)
            elif tag == TAG_SOURCE:
                current.add_source(payload, path, section.offset)
            elif tag in (TAG_ARGS, TAG_RETVALS):
                current.add_values(tag, payload, path, section.offset)
            elif tag == TAG_THREAD_CUSTOM:
                current.add_thread_custom(payload, path, section.offset)
            elif tag == TAG_LINES:
                current.add_lines(payload, path, section.offset)
            else:
                current.add_process_custom(payload, path, section.offset)
        elif tag == TAG_END:
            if current is not None:
                processes.append(current.finish(path))
            if len(payload) != U32.size:
                raise TraceFileError(path, f"bad end marker at byte {section.offset}")
            (expected,) = U32.unpack(payload)
            if expected != len(processes):
                raise TraceFileError(
                    path, f"the end marker counts {expected} processes but the file holds {len(processes)}"
                )
    return Trace(processes)


_PROCESS_SECTIONS = (
    TAG_FUNCTIONS,
    TAG_EVENTS,
    TAG_SOURCE,
    TAG_ARGS,
    TAG_RETVALS,
    TAG_THREAD_CUSTOM,
    TAG_PROCESS_CUSTOM,
    TAG_LINES,
)


@dataclass
class _ThreadInfo:
    ident: int
    native_id: int
    name: str
    events: int
    chunks: Optional[List[bytes]] = None
    args: Optional[Dict[int, str]] = None
    retvals: Optional[Dict[int, str]] = None
    custom: Optional[ThreadCustom] = None


@dataclass
class _ProcessParts:
    """A process being assembled from its sections."""

    meta: Dict[str, Any]
    functions: Optional[List[FunctionInfo]] = None
    sources: Dict[str, str] = field(default_factory=dict)
    custom: Optional[ProcessCustom] = None
    lines: Optional[LineStats] = None

    @property
    def label(self) -> str:
        return f"process {self.meta['pid']}"

    def threads(self) -> List[_ThreadInfo]:
        threads: List[_ThreadInfo] = self.meta["threads"]
        return threads

    def add_functions(self, payload: memoryview, path: str, offset: int) -> None:
        if self.functions is not None:
            raise TraceFileError(path, f"{self.label} has a second function table at byte {offset}")
        self.functions = _parse_functions(payload, path, offset)

    def add_events(self, payload: memoryview, path: str, offset: int) -> None:
        if self.functions is None:
            raise TraceFileError(
                path, f"events at byte {offset} come before the function table of {self.label}"
            )
        if len(payload) < EVENTS_HEADER.size:
            raise TraceFileError(path, f"events section at byte {offset} is too short")
        index, count = EVENTS_HEADER.unpack_from(payload)
        threads = self.threads()
        if index >= len(threads):
            raise TraceFileError(
                path,
                f"events at byte {offset} are for thread #{index}, but {self.label} "
                f"has {len(threads)} threads",
            )
        thread = threads[index]
        where = f"thread {thread.name!r} of {self.label}"
        if thread.chunks is not None:
            raise TraceFileError(path, f"{where} has a second events section at byte {offset}")
        if count != thread.events:
            raise TraceFileError(
                path,
                f"{where}: the events section at byte {offset} holds {count} events, "
                f"the process metadata says {thread.events}",
            )
        try:
            records = fast_codec()[1](bytes(payload[EVENTS_HEADER.size :]), count)
        except (ValueError, OverflowError) as exc:  # the C decoder cannot take a count past 2**63
            raise TraceFileError(path, f"corrupt event stream of {where} (byte {offset}): {exc}") from None
        top = _max_func(records)
        if top is not None and top >= len(self.functions):
            raise TraceFileError(
                path,
                f"corrupt event stream of {where} (byte {offset}): func {top} is not "
                f"in the function table ({len(self.functions)} rows)",
            )
        thread.chunks = [records] if records else []

    def add_values(self, tag: bytes, payload: memoryview, path: str, offset: int) -> None:
        """ARGS or RETS: the argument or return value text of one thread's calls."""
        what = "arguments" if tag == TAG_ARGS else "return values"
        if len(payload) < VALUES_HEADER.size:
            raise TraceFileError(path, f"{what} section at byte {offset} is too short")
        index, count = VALUES_HEADER.unpack_from(payload)
        thread, where = self._thread_after_events(index, f"the {what} at byte {offset}", path)
        if (thread.args if tag == TAG_ARGS else thread.retvals) is not None:
            raise TraceFileError(path, f"{where} has a second {what} section at byte {offset}")
        assert thread.chunks is not None
        records = thread.chunks[0] if thread.chunks else b""
        kind = ENTER_CALL if tag == TAG_ARGS else EXIT_RETURN
        try:
            values = decode_values(payload[VALUES_HEADER.size :], count, records, kind)
        except (ValueError, zlib.error) as exc:
            raise TraceFileError(path, f"corrupt {what} of {where} (byte {offset}): {exc}") from None
        if tag == TAG_ARGS:
            thread.args = values
        else:
            thread.retvals = values

    def add_thread_custom(self, payload: memoryview, path: str, offset: int) -> None:
        """TCEV: one thread's instants and spans."""
        if len(payload) < THREAD_INDEX.size:
            raise TraceFileError(path, f"custom events section at byte {offset} is too short")
        (index,) = THREAD_INDEX.unpack_from(payload)
        thread, where = self._thread_after_events(index, f"the custom events at byte {offset}", path)
        if thread.custom is not None:
            raise TraceFileError(path, f"{where} has a second custom events section at byte {offset}")
        try:
            thread.custom = decode_thread_custom(payload[THREAD_INDEX.size :], thread.native_id)
        except (ValueError, zlib.error) as exc:
            raise TraceFileError(path, f"corrupt custom events of {where} (byte {offset}): {exc}") from None

    def add_process_custom(self, payload: memoryview, path: str, offset: int) -> None:
        """PCEV: the process's instants of process/global scope, counters and object events."""
        if self.custom is not None:
            raise TraceFileError(path, f"{self.label} has a second process events section at byte {offset}")
        try:
            self.custom = decode_process_custom(payload)
        except (ValueError, zlib.error) as exc:
            raise TraceFileError(
                path, f"corrupt process custom events of {self.label} (byte {offset}): {exc}"
            ) from None

    def add_lines(self, payload: memoryview, path: str, offset: int) -> None:
        """LINE: the process's line statistics."""
        if self.lines is not None:
            raise TraceFileError(path, f"{self.label} has a second line statistics section at byte {offset}")
        try:
            self.lines = decode_lines(payload)
        except (ValueError, zlib.error) as exc:
            raise TraceFileError(
                path, f"corrupt line statistics of {self.label} (byte {offset}): {exc}"
            ) from None

    def _thread_after_events(self, index: int, what: str, path: str) -> Tuple[_ThreadInfo, str]:
        """The thread #index, whose events section must have come already."""
        threads = self.threads()
        if index >= len(threads):
            raise TraceFileError(
                path, f"{what} are for thread #{index}, but {self.label} has {len(threads)} threads"
            )
        thread = threads[index]
        where = f"thread {thread.name!r} of {self.label}"
        if thread.chunks is None:
            raise TraceFileError(path, f"{what} come before the events section of {where}")
        return thread, where

    def add_source(self, payload: memoryview, path: str, offset: int) -> None:
        try:
            name, rest = _split_string(payload, 0)
            filename = name.decode(TEXT_ENCODING, TEXT_ERRORS)
            text = zlib.decompress(payload[rest:]).decode(TEXT_ENCODING, TEXT_ERRORS)
        except (ValueError, zlib.error) as exc:
            raise TraceFileError(path, f"corrupt source section at byte {offset}: {exc}") from None
        self.sources[filename] = text

    def finish(self, path: str) -> ProcessTrace:
        if self.functions is None:
            raise TraceFileError(path, f"{self.label} has no function table (truncated or corrupt file)")
        threads: List[ThreadTrace] = []
        for thread in self.threads():
            if thread.chunks is None:
                raise TraceFileError(path, f"thread {thread.name!r} of {self.label} has no events section")
            custom = thread.custom or ThreadCustom([], [])
            threads.append(
                ThreadTrace(
                    thread.ident,
                    thread.native_id,
                    thread.name,
                    thread.chunks,
                    args=thread.args or {},
                    retvals=thread.retvals or {},
                    instants=custom.instants,
                    spans=custom.spans,
                )
            )
        meta = self.meta
        process = self.custom or ProcessCustom([], [], [])
        return ProcessTrace(
            pid=meta["pid"],
            name=meta["name"],
            functions=self.functions,
            threads=threads,
            start_ns=meta["start_ns"],
            stop_ns=meta["stop_ns"],
            wall_anchor_ns=meta["wall_anchor_ns"],
            mono_anchor_ns=meta["mono_anchor_ns"],
            argv=meta["argv"],
            python_version=meta["python_version"],
            sources=self.sources,
            metadata=meta["metadata"],
            instants=process.instants,
            counters=process.counters,
            objects=process.objects,
            lines=self.lines,
        )


_PROCESS_FIELDS = {
    "pid": int,
    "name": str,
    "argv": list,
    "python_version": str,
    "start_ns": int,
    "stop_ns": int,
    "wall_anchor_ns": int,
    "mono_anchor_ns": int,
    "metadata": dict,
    "threads": list,
}
_THREAD_FIELDS = {"ident": int, "native_id": int, "name": str, "events": int}


def _parse_process(payload: memoryview, path: str, offset: int) -> Dict[str, Any]:
    """The PROC section's JSON, checked field by field; threads become _ThreadInfo."""
    where = f"process metadata at byte {offset}"
    try:
        meta = json.loads(bytes(payload).decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
        raise TraceFileError(path, f"{where} is not valid JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise TraceFileError(path, f"{where} is not a JSON object")
    _check_fields(meta, _PROCESS_FIELDS, path, where)
    if not all(isinstance(arg, str) for arg in meta["argv"]):
        raise TraceFileError(path, f"{where}: argv holds a non-string")
    threads: List[_ThreadInfo] = []
    for number, thread in enumerate(meta["threads"]):
        if not isinstance(thread, dict):
            raise TraceFileError(path, f"{where}: thread #{number} is not a JSON object")
        _check_fields(thread, _THREAD_FIELDS, path, f"{where}, thread #{number}")
        if thread["events"] < 0:
            raise TraceFileError(path, f"{where}, thread #{number}: negative event count")
        threads.append(_ThreadInfo(thread["ident"], thread["native_id"], thread["name"], thread["events"]))
    meta["threads"] = threads
    return meta


def _check_fields(obj: Dict[str, Any], fields: Dict[str, type], path: str, where: str) -> None:
    for key, kind in fields.items():
        value = obj.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            problem = (
                "is missing" if key not in obj else f"should be {kind.__name__}, not {type(value).__name__}"
            )
            raise TraceFileError(path, f"{where}: field {key!r} {problem}")


def _parse_functions(payload: memoryview, path: str, offset: int) -> List[FunctionInfo]:
    """The FUNC section: a string table, then fixed-size rows that index it."""
    try:
        nstrings, nrows = FUNCTIONS_HEADER.unpack_from(payload)
        pos = FUNCTIONS_HEADER.size
        strings: List[str] = []
        for _ in range(nstrings):
            raw, pos = _split_string(payload, pos)
            strings.append(raw.decode(TEXT_ENCODING, TEXT_ERRORS))
        if len(payload) - pos != nrows * FUNCTION_ROW.size:
            raise ValueError(
                f"{nrows} rows need {nrows * FUNCTION_ROW.size} bytes, {len(payload) - pos} remain"
            )
        functions = [
            FunctionInfo(kind, strings[name], strings[filename], lineno)
            for kind, name, filename, lineno in FUNCTION_ROW.iter_unpack(payload[pos:])
        ]
    except (struct.error, ValueError, IndexError) as exc:
        raise TraceFileError(path, f"corrupt function table at byte {offset}: {exc}") from None
    return functions


def _split_string(payload: memoryview, pos: int) -> Tuple[bytes, int]:
    """A u32-length-prefixed byte string at ``pos``; returns it and the position after it."""
    if len(payload) - pos < U32.size:
        raise ValueError("a string length runs past the end of the section")
    (length,) = U32.unpack_from(payload, pos)
    pos += U32.size
    if length > len(payload) - pos:
        raise ValueError("a string runs past the end of the section")
    return bytes(payload[pos : pos + length]), pos + length


def _max_func(records: bytes) -> Optional[int]:
    """The largest func field among 12-byte records (None when there are none)."""
    if not records:
        return None
    if sys.byteorder == "little":
        return int(max(memoryview(records).cast("I")[2::3]))  # the u32 after each u64 stamp
    return int(max(func for _, func in struct.iter_unpack("<QI", records)))


def _tag_name(tag: bytes) -> str:
    return repr(tag.decode("latin-1"))


def _guess_kind(data: bytes) -> str:
    head = data[:64].lstrip()
    if head.startswith((b"{", b"[")):
        return "; it looks like JSON: read it with read_chrome_trace or pulsetrace.model.read_any_trace"
    if head.startswith(b"\x1f\x8b"):
        return "; it looks like a gzip file"
    return ""
