"""The native trace file writer (``.pulse``); the layout is in docs/format.md and model/native.py.

Python work here is per process and per thread, never per event: each thread's records go through
the stream encoder (C when built) in one call and straight to the stream.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any, Callable, Dict, List

from ..codec import fast_codec
from ..model import ProcessTrace, Trace
from ..model.native import (
    EVENTS_HEADER,
    FORMAT_VERSION,
    FUNCTION_ROW,
    FUNCTIONS_HEADER,
    HEADER,
    MAGIC,
    SECTION,
    TAG_ARGS,
    TAG_END,
    TAG_EVENTS,
    TAG_FUNCTIONS,
    TAG_LINES,
    TAG_PROCESS,
    TAG_PROCESS_CUSTOM,
    TAG_RETVALS,
    TAG_SOURCE,
    TAG_THREAD_CUSTOM,
    TEXT_ENCODING,
    TEXT_ERRORS,
    THREAD_INDEX,
    U32,
    VALUES_HEADER,
    VERSION_WITHOUT_LINES,
    section_crc,
)
from ..model.native_custom import encode_process_custom, encode_thread_custom, encode_values
from ..model.native_lines import encode_lines
from ..recording import FunctionInfo
from .output import OutputError
from .registry import Sink, Writer, register

SOURCE_COMPRESSION = 6  # zlib level: sources are small; 6 is zlib's own balance of size and speed


@register
class NativeWriter(Writer):
    """pulsetrace's own trace file: compact, binary, versioned; every other output can be made from it."""

    name = "native"
    extensions = (".pulse",)
    description = "pulsetrace native trace (binary, compact; docs/format.md)"
    keeps_lines = True

    def write(self, trace: Trace, stream: Sink) -> None:
        encode = fast_codec()[0]
        with_lines = any(process.lines is not None for process in trace.processes)
        stream.write(HEADER.pack(MAGIC, FORMAT_VERSION if with_lines else VERSION_WITHOUT_LINES))
        for process in trace.processes:
            write_section(stream, TAG_PROCESS, process_metadata(process))
            write_section(stream, TAG_FUNCTIONS, function_table(process.functions))
            for index, thread in enumerate(process.threads):
                try:
                    body = encode(thread.chunks)
                except ValueError as exc:
                    raise OutputError(
                        f"cannot save the events of thread {thread.name!r} of process {process.pid}: {exc}"
                    ) from None
                write_section(stream, TAG_EVENTS, EVENTS_HEADER.pack(index, thread.event_count), body)
                for tag, values in ((TAG_ARGS, thread.args), (TAG_RETVALS, thread.retvals)):
                    if values:
                        header = VALUES_HEADER.pack(index, len(values))
                        write_section(stream, tag, header, encode_values(values))
                if thread.instants or thread.spans:
                    body = _custom_json(encode_thread_custom, process, thread.instants, thread.spans)
                    write_section(stream, TAG_THREAD_CUSTOM, THREAD_INDEX.pack(index), body)
            if process.instants or process.counters or process.objects:
                body = _custom_json(
                    encode_process_custom, process, process.instants, process.counters, process.objects
                )
                write_section(stream, TAG_PROCESS_CUSTOM, body)
            if process.lines is not None:
                write_section(stream, TAG_LINES, encode_lines(process.lines))
            for filename, text in sorted(process.sources.items()):
                name = filename.encode(TEXT_ENCODING, TEXT_ERRORS)
                compressed = zlib.compress(text.encode(TEXT_ENCODING, TEXT_ERRORS), SOURCE_COMPRESSION)
                write_section(stream, TAG_SOURCE, U32.pack(len(name)), name, compressed)
        write_section(stream, TAG_END, U32.pack(len(trace.processes)))


def _custom_json(encode: Callable[..., bytes], process: ProcessTrace, *events: Any) -> bytes:
    try:
        return encode(*events)
    except (TypeError, ValueError) as exc:  # args that are not JSON values (a hand-built model)
        raise OutputError(f"the custom events of process {process.pid} cannot be saved: {exc}") from None


def write_section(stream: Sink, tag: bytes, *parts: bytes) -> None:
    """One section: header (tag, length, CRC) then the payload parts, written without joining them."""
    length = sum(len(part) for part in parts)
    stream.write(SECTION.pack(tag, length, section_crc(tag, length, *parts)))
    for part in parts:
        stream.write(part)


def process_metadata(process: ProcessTrace) -> bytes:
    """The PROC section: the process's metadata and thread list as JSON (ASCII, lone surrogates escaped)."""
    meta: Dict[str, Any] = {
        "pid": process.pid,
        "name": process.name,
        "argv": list(process.argv),
        "python_version": process.python_version,
        "start_ns": process.start_ns,
        "stop_ns": process.stop_ns,
        "wall_anchor_ns": process.wall_anchor_ns,
        "mono_anchor_ns": process.mono_anchor_ns,
        "metadata": process.metadata,
        "threads": [
            {"ident": t.ident, "native_id": t.native_id, "name": t.name, "events": t.event_count}
            for t in process.threads
        ],
    }
    try:
        text = json.dumps(meta, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise OutputError(f"the metadata of process {process.pid} cannot be saved as JSON: {exc}") from None
    return text.encode("ascii")


def function_table(functions: List[FunctionInfo]) -> bytes:
    """The FUNC section: distinct strings once (u32 length + UTF-8), then one fixed-size row per function."""
    index: Dict[str, int] = {}
    strings: List[bytes] = []
    rows: List[bytes] = []
    for number, function in enumerate(functions):
        ids = []
        for text in (function.name, function.filename):
            position = index.get(text)
            if position is None:
                position = index[text] = len(strings)
                raw = text.encode(TEXT_ENCODING, TEXT_ERRORS)
                strings.append(U32.pack(len(raw)) + raw)
            ids.append(position)
        try:
            rows.append(FUNCTION_ROW.pack(function.kind, ids[0], ids[1], function.lineno))
        except struct.error:
            raise OutputError(
                f"function #{number} {function!r} has a kind or line number out of range"
            ) from None
    return b"".join([FUNCTIONS_HEADER.pack(len(strings), len(rows)), *strings, *rows])
