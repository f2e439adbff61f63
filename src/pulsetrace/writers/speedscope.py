"""speedscope's own file format (https://www.speedscope.app/file-format-schema.json), evented profiles.

One evented profile per thread that recorded anything, named after its process and thread
("python prog.py (pid 123) MainThread (tid 4567)"), in the trace's order. Every entry record becomes
an open ("O") event and every exit record a close ("C") event of the same frame; the model's streams
are balanced and properly nested, which is what speedscope requires. ``at`` counts nanoseconds from
the process's start, so the threads of a process line up; ``startValue`` is 0 and ``endValue`` the
stop time, widened if a record lies outside them.

Frames are shared by the whole file: Python functions as ``{"name": qualified name, "file", "line"}``,
C functions as ``{"name"}`` alone. The file's "name" is the first process's name.
Events are written as they are read, never held as Python objects, so large traces stay cheap.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Tuple

from ..events import ENTER_C, FUNC_C, KIND_BITS, KIND_MASK, RECORD, RECORD_SIZE
from ..model import ProcessTrace, ThreadTrace, Trace
from ..recording import FunctionInfo
from .registry import Sink, Writer, register

SCHEMA = "https://www.speedscope.app/file-format-schema.json"


@register
class SpeedscopeWriter(Writer):
    """speedscope's JSON file format, one evented profile per thread."""

    name = "speedscope"
    extensions = (".speedscope.json",)
    description = "speedscope's own JSON format, one evented profile per thread"

    def write(self, trace: Trace, stream: Sink) -> None:
        from .. import __version__

        frames, frame_maps = shared_frames(trace)
        write = stream.write
        write(b'{"$schema":' + _json(SCHEMA) + b',"shared":{"frames":' + _json(frames) + b'},"profiles":[')
        count = 0
        for process, frame_of in zip(trace.processes, frame_maps):
            for thread in process.threads:
                if not any(thread.chunks):
                    continue
                write(b",\n" if count else b"\n")
                _write_profile(process, thread, frame_of, write)
                count += 1
        write(b"\n]")
        name = trace.processes[0].name if trace.processes else "pulsetrace"
        write(b',"name":' + _json(name) + b',"exporter":' + _json(f"pulsetrace {__version__}"))
        if count:  # an index into no profiles would be out of range
            write(b',"activeProfileIndex":0')
        write(b"}\n")


def shared_frames(trace: Trace) -> Tuple[List[Dict[str, Any]], List[List[int]]]:
    """The frames of the file, and for each process its function index -> frame index."""
    frames: List[Dict[str, Any]] = []
    index_of: Dict[Tuple[str, str, int], int] = {}
    frame_maps = []
    for process in trace.processes:
        frame_of = []
        for function in process.functions:
            frame = frame_object(function)
            key = (frame["name"], frame.get("file", ""), frame.get("line", 0))
            index = index_of.get(key)
            if index is None:
                index = index_of[key] = len(frames)
                frames.append(frame)
            frame_of.append(index)
        frame_maps.append(frame_of)
    return frames, frame_maps


def frame_object(function: FunctionInfo) -> Dict[str, Any]:
    """One entry of ``shared.frames``."""
    if function.kind == FUNC_C:
        return {"name": function.name}
    return {"name": function.name, "file": function.filename, "line": function.lineno}


def _write_profile(
    process: ProcessTrace, thread: ThreadTrace, frame_of: List[int], write: Callable[[bytes], object]
) -> None:
    start = process.start_ns
    chunks = [chunk for chunk in thread.chunks if chunk]
    first_ns = RECORD.unpack_from(chunks[0])[0] >> KIND_BITS
    last_ns = RECORD.unpack_from(chunks[-1], len(chunks[-1]) - RECORD_SIZE)[0] >> KIND_BITS
    name = f"{process.name} (pid {process.pid}) {thread.name} (tid {thread.native_id})"
    write(
        b'{"type":"evented","name":%s,"unit":"nanoseconds","startValue":%d,"endValue":%d,"events":['
        % (_json(name), min(0, first_ns - start), max(process.stop_ns - start, last_ns - start))
    )
    separator = b""
    for chunk in chunks:
        events = [
            b'{"type":"%s","frame":%d,"at":%d}'
            % (b"O" if stamp & KIND_MASK <= ENTER_C else b"C", frame_of[func], (stamp >> KIND_BITS) - start)
            for stamp, func in RECORD.iter_unpack(chunk)
        ]
        write(separator + b",".join(events))
        separator = b","
    write(b"]}")


def _json(value: Any) -> bytes:
    # ASCII escapes keep lone surrogates (undecodable file names) valid JSON.
    return json.dumps(value, separators=(",", ":")).encode("ascii")


__all__ = ["SCHEMA", "SpeedscopeWriter", "frame_object", "shared_frames"]
