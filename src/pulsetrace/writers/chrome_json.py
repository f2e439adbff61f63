"""Chrome Trace Event JSON (Perfetto, chrome://tracing, speedscope), plain or gzipped.

Every finished slice becomes one complete ("X") event (with its arguments and return value when they
were recorded); "M" events name the processes and threads; custom events follow each thread's slices
and then the process's (chrome_custom).
Timestamps are microseconds with three decimals, so they are exact to the nanosecond. They count
from the earliest wall-clock start among the processes, each process's monotonic clock placed on the
wall clock by its own anchor pair: several processes line up, and one process is exact.
"""

from __future__ import annotations

import gzip
import json
from typing import Any, Dict, List, Tuple

from ..codec import fast_chrome_json
from ..events import FUNC_C
from ..model import ProcessTrace, Trace
from ..recording import FunctionInfo
from .chrome_custom import process_custom_events, thread_custom_events, write_slices
from .registry import Sink, Writer, register

GZIP_LEVEL = 1  # trace JSON is so repetitive that level 1 is within ~15% of level 6 and 3-4x faster


@register
class ChromeJsonWriter(Writer):
    """Chrome Trace Event Format, JSON object form."""

    name = "json"
    extensions = (".json",)
    description = "Chrome Trace Event JSON (Perfetto, chrome://tracing, speedscope)"

    def write(self, trace: Trace, stream: Sink) -> None:
        write = stream.write
        slices = fast_chrome_json()
        base_wall_ns, bases = clock_bases(trace)
        write(b'{"traceEvents":[\n')
        first = True
        for process, base_ns in zip(trace.processes, bases):
            for event in metadata_events(process):
                write(event if first else b",\n" + event)
                first = False
            names = name_fragments(process.functions)
            for thread in process.threads:
                count = write_slices(slices, thread, names, process.pid, base_ns, write, first)
                first = first and count == 0
                for event in thread_custom_events(thread, process.pid, base_ns):
                    write(event if first else b",\n" + event)
                    first = False
            for event in process_custom_events(process, base_ns):
                write(event if first else b",\n" + event)
                first = False
        write(b'\n],"displayTimeUnit":"ns","metadata":')
        write(json.dumps(trace_metadata(trace, base_wall_ns, bases), allow_nan=False).encode("ascii"))
        write(b"}\n")


@register
class GzipChromeJsonWriter(ChromeJsonWriter):
    """Chrome Trace Event JSON, gzip-compressed (Perfetto opens it as is)."""

    name = "json.gz"
    extensions = (".json.gz",)
    description = "Chrome Trace Event JSON, gzip-compressed"

    def write(self, trace: Trace, stream: Sink) -> None:
        # No file name and no mtime in the gzip header: the temporary name must not leak into it,
        # and the same trace should give the same bytes.
        with gzip.GzipFile(filename="", mode="wb", compresslevel=GZIP_LEVEL, fileobj=stream, mtime=0) as gz:
            super().write(trace, gz)


def clock_bases(trace: Trace) -> Tuple[int, List[int]]:
    """The earliest wall-clock start, and for each process that instant on its own monotonic clock."""
    if not trace.processes:
        return 0, []
    base_wall_ns = min(p.to_wall_ns(p.start_ns) for p in trace.processes)
    return base_wall_ns, [base_wall_ns - p.wall_anchor_ns + p.mono_anchor_ns for p in trace.processes]


def json_string(text: str) -> bytes:
    """``text`` as a JSON string literal in UTF-8 (escaped ASCII if it holds lone surrogates)."""
    try:
        return json.dumps(text, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(text).encode("ascii")


def function_label(function: FunctionInfo) -> Tuple[str, str]:
    """(name, category) of a function as the viewers show it."""
    if function.kind == FUNC_C:
        return function.name, "c"
    return f"{function.name} ({function.filename}:{function.lineno})", "python"


def name_fragments(functions: List[FunctionInfo]) -> List[bytes]:
    """For each function the ``"name":...,"cat":...`` fragment that chrome_json_events splices in."""
    fragments = []
    for function in functions:
        label, category = function_label(function)
        fragments.append(b'"name":' + json_string(label) + b',"cat":"' + category.encode("ascii") + b'"')
    return fragments


def metadata_events(process: ProcessTrace) -> List[bytes]:
    """ "M" events naming the process and each thread (by OS thread id) and keeping threads in order."""
    pid = process.pid
    events = [
        b'{"ph":"M","pid":%d,"tid":0,"name":"process_name","args":{"name":%s}}'
        % (pid, json_string(process.name))
    ]
    # OS thread ids can be reused by a later thread: such threads share a track, named after both.
    names: Dict[int, List[str]] = {}
    for thread in process.threads:
        same_id = names.setdefault(thread.native_id, [])
        if thread.name not in same_id:
            same_id.append(thread.name)
    for order, (tid, thread_names) in enumerate(names.items()):
        events.append(
            b'{"ph":"M","pid":%d,"tid":%d,"name":"thread_name","args":{"name":%s}}'
            % (pid, tid, json_string(" / ".join(thread_names)))
        )
        events.append(
            b'{"ph":"M","pid":%d,"tid":%d,"name":"thread_sort_index","args":{"sort_index":%d}}'
            % (pid, tid, order)
        )
    return events


def trace_metadata(trace: Trace, base_wall_ns: int, bases: List[int]) -> Dict[str, Any]:
    """The "metadata" object: where the clock starts and what each process was."""
    from .. import __version__

    return {
        "generator": f"pulsetrace {__version__}",
        "clock": "ts is microseconds since base_wall_ns (ns since the Unix epoch)",
        "base_wall_ns": base_wall_ns,
        "processes": [
            {
                "pid": p.pid,
                "name": p.name,
                "argv": list(p.argv),
                "python_version": p.python_version,
                "start_ns": p.start_ns,
                "stop_ns": p.stop_ns,
                "wall_anchor_ns": p.wall_anchor_ns,
                "mono_anchor_ns": p.mono_anchor_ns,
                "base_ns": base,
                "events": p.event_count,
                "custom_events": p.custom_event_count,
                "metadata": p.metadata,
            }
            for p, base in zip(trace.processes, bases)
        ],
    }
