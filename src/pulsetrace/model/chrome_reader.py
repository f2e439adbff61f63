"""Reading Chrome Trace Event JSON back into the model: our own exports and other tools' files.

Accepted: the object form (``{"traceEvents": [...], ...}``) and the array form, plain or gzipped
(chrome_document turns the bytes into events).

Read: "X" and "B"/"E" slices, "i"/"I" instants, "C" counters, "N"/"O"/"D" object events and the
"M" events that name processes and threads (other "M" kinds are ignored). Every other phase (flow,
async, samples, ...) is skipped and counted in the process's ``metadata["skipped_events"]`` by
phase; slices that had to be repaired (chrome_slices) are counted in ``metadata["repaired_events"]``.

Slices whose ``cat`` is one of pulsetrace's custom categories become the thread's spans; all others
become function records (chrome_values.function_of says which are Python and which C functions).
Threads are keyed by ``tid`` (our writer's OS thread id; ``ident`` is set to it too); names the file
does not give stay empty.

Clock: in a file with pulsetrace's ``metadata``, each listed process gets its own monotonic clock
back (``ns = ts + base_ns``) with its start, stop and anchors, so a file we wrote reads back to the
exact ns. Any other process keeps the file's own time axis in ns (moved up as a whole if some
timestamp is negative, since records hold no negative time); its start is its earliest event (0 if
it has none), its stop its latest end, and its anchors say nothing is known of the wall clock:
``mono_anchor_ns`` is that shift and ``wall_anchor_ns`` 0 (``base_wall_ns`` in a pulsetrace file),
so ``to_wall_ns`` gives back the file's own ``ts`` and processes stay aligned when written again.

Every malformed input raises ``TraceFileError`` naming the file and the problem.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from .chrome_document import json_kind, load_trace_json
from .chrome_slices import Edge, FunctionTable, Slice, nest, pair_edges
from .chrome_values import (
    CUSTOM_CATEGORIES,
    MAX_NS,
    SCOPE_NAMES,
    integer_id,
    json_object,
    json_value,
    ns_of,
    number_of,
    text_of,
)
from .custom import INSTANT, CounterSample, Instant, Number, ObjectEvent, Span
from .native import TraceFileError, read_file
from .trace import ProcessTrace, ThreadTrace, Trace

NEGATIVE_DURATION = "negative_duration"  # repaired: an "X" with dur < 0 is kept with length 0
NON_NUMERIC_COUNTER_VALUE = "non_numeric_counter_value"  # repaired: a counter series dropped
# pulsetrace's per-process clock fields in the "metadata" object (writers/chrome_json.py).
_CLOCK_FIELDS = ("pid", "start_ns", "stop_ns", "wall_anchor_ns", "mono_anchor_ns", "base_ns")

PathArg = Union[str, "os.PathLike[str]"]


def read_chrome_trace(path: PathArg) -> Trace:
    """Read a Chrome Trace Event JSON file (``.json`` or gzipped) into the model."""
    name, data = read_file(path)
    return parse_chrome_trace(data, name)


def parse_chrome_trace(data: bytes, source: str = "<bytes>") -> Trace:
    """Parse the bytes of a Chrome trace (plain or gzipped JSON); ``source`` only names it in errors."""
    events, metadata = load_trace_json(data, source)
    builder = _TraceBuilder(source)
    for index, event in enumerate(events):
        builder.add(index, event)
    return builder.finish(metadata)


# -- events to the model ---------------------------------------------------------------------------


class _ThreadParts:
    """One thread's events as read, on the file's time axis."""

    def __init__(self, tid: int, name: str, seen: int) -> None:
        self.tid = tid
        self.name = name
        self.seen = seen  # order of first appearance
        self.sort_index: Optional[int] = None
        self.slices: List[Slice] = []
        self.edges: List[Edge] = []
        self.instants: List[Instant] = []


class _ProcessParts:
    """One process's events as read, on the file's time axis, and what was skipped or repaired."""

    def __init__(self, pid: int, name: str) -> None:
        self.pid = pid
        self.name = name
        self.threads: Dict[int, _ThreadParts] = {}
        self.instants: List[Instant] = []
        self.counters: List[CounterSample] = []
        self.objects: List[ObjectEvent] = []
        self.skipped: Counter[str] = Counter()
        self.problems: Counter[str] = Counter()
        self.first_ns: Optional[int] = None  # earliest and latest time of any event, on the file's axis
        self.last_ns: Optional[int] = None

    def thread(self, tid: int, name: str) -> _ThreadParts:
        found = self.threads.get(tid)
        if found is None:
            found = self.threads[tid] = _ThreadParts(tid, name, len(self.threads))
        return found

    def saw(self, start_ns: int, end_ns: int) -> None:
        if self.first_ns is None or start_ns < self.first_ns:
            self.first_ns = start_ns
        if self.last_ns is None or end_ns > self.last_ns:
            self.last_ns = end_ns


class _Ids:
    """pid / tid / object id values as integers. Numbers (and decimal or hex strings) from 0 to 2**63
    are kept; missing ones are 0; anything else (names such as "renderer", negative numbers) gets an id
    of its own from 2**32 up, past the OS's process and thread ids, and its text becomes the default
    name. The writers need ids in that range (the C JSON writer takes tids as unsigned)."""

    FIRST_OWN_ID = 1 << 32
    LIMIT = 1 << 63

    def __init__(self) -> None:
        self._named: Dict[str, int] = {}

    def resolve(self, value: Any) -> Tuple[int, str]:
        if type(value) is int and 0 <= value < self.LIMIT:  # the usual case, first
            return value, ""
        if value is None:
            return 0, ""
        number = integer_id(value)
        if number is not None and 0 <= number < self.LIMIT:
            return number, ""
        text = text_of(value)
        return self._named.setdefault(text, self.FIRST_OWN_ID + len(self._named)), text


class _TraceBuilder:
    """Takes the events one by one (``add``), then makes the model (``finish``)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.processes: Dict[int, _ProcessParts] = {}
        self.ids = _Ids()
        self.object_ids = _Ids()
        self.handlers: Dict[str, Callable[[_ProcessParts, Dict[str, Any], int], None]] = {
            "M": self._metadata,
            "X": self._complete,
            "B": self._edge,
            "E": self._edge,
            "i": self._instant,
            "I": self._instant,
            "C": self._counter,
            "N": self._object,
            "O": self._object,
            "D": self._object,
        }

    def add(self, index: int, event: Any) -> None:
        if not isinstance(event, dict):
            raise TraceFileError(self.source, f"event #{index} is {json_kind(event)}, not a JSON object")
        phase = event.get("ph")
        if not isinstance(phase, str) or not phase:
            raise TraceFileError(self.source, f'event #{index} has no "ph" (phase)')
        pid, name = self.ids.resolve(event.get("pid"))
        process = self.processes.get(pid)
        if process is None:
            process = self.processes[pid] = _ProcessParts(pid, name)
        handler = self.handlers.get(phase)
        if handler is None:
            process.skipped[phase] += 1
            return
        try:
            handler(process, event, index)
        except (ValueError, RecursionError) as exc:  # RecursionError: absurdly nested args
            raise TraceFileError(self.source, f'event #{index} ("ph":"{phase}"): {exc}') from None

    def _thread(self, process: _ProcessParts, event: Dict[str, Any]) -> _ThreadParts:
        tid, name = self.ids.resolve(event.get("tid"))
        return process.thread(tid, name)

    def _metadata(self, process: _ProcessParts, event: Dict[str, Any], index: int) -> None:
        kind = event.get("name")
        args = event.get("args")
        if not isinstance(args, dict):
            return
        if kind == "process_name":
            process.name = text_of(args.get("name"), process.name)
        elif kind == "thread_name":
            thread = self._thread(process, event)
            thread.name = text_of(args.get("name"), thread.name)
        elif kind == "thread_sort_index":
            self._thread(process, event).sort_index = integer_id(args.get("sort_index"))

    def _complete(self, process: _ProcessParts, event: Dict[str, Any], index: int) -> None:
        start = ns_of(event.get("ts"), "ts")
        duration = 0 if event.get("dur") is None else ns_of(event.get("dur"), "dur")
        if duration < 0:
            process.problems[NEGATIVE_DURATION] += 1
            duration = 0
        process.saw(start, start + duration)
        name, category = text_of(event.get("name")), text_of(event.get("cat"))
        piece = Slice(start, start + duration, name, category, json_object(event.get("args")), index)
        self._thread(process, event).slices.append(piece)

    def _edge(self, process: _ProcessParts, event: Dict[str, Any], index: int) -> None:
        ns = ns_of(event.get("ts"), "ts")
        process.saw(ns, ns)
        name, category = text_of(event.get("name")), text_of(event.get("cat"))
        edge = Edge(ns, index, event["ph"] == "B", name, category, json_object(event.get("args")))
        self._thread(process, event).edges.append(edge)

    def _instant(self, process: _ProcessParts, event: Dict[str, Any], index: int) -> None:
        ns = ns_of(event.get("ts"), "ts")
        process.saw(ns, ns)
        letter = event.get("s")
        scope = SCOPE_NAMES.get(letter, "thread") if isinstance(letter, str) else "thread"
        tid, _ = self.ids.resolve(event.get("tid"))
        name, category = text_of(event.get("name")), text_of(event.get("cat"), INSTANT)
        instant = Instant(ns, name, category, scope, tid, json_object(event.get("args")))
        if scope == "thread":
            self._thread(process, event).instants.append(instant)
        else:
            process.instants.append(instant)

    def _counter(self, process: _ProcessParts, event: Dict[str, Any], index: int) -> None:
        ns = ns_of(event.get("ts"), "ts")
        process.saw(ns, ns)
        name = text_of(event.get("name"))
        if event.get("id") is not None:  # Chrome shows a counter with an id as "name id"
            name = f"{name} {text_of(event.get('id'))}"
        values: Dict[str, Number] = {}
        for series, value in json_object(event.get("args")).items():
            number = number_of(value)
            if number is None:
                process.problems[NON_NUMERIC_COUNTER_VALUE] += 1
            else:
                values[series] = number
        tid, _ = self.ids.resolve(event.get("tid"))
        process.counters.append(CounterSample(ns, name, tid, values))

    def _object(self, process: _ProcessParts, event: Dict[str, Any], index: int) -> None:
        ns = ns_of(event.get("ts"), "ts")
        process.saw(ns, ns)
        raw = event.get("id")
        scoped = event.get("id2")
        if raw is None and isinstance(scoped, dict):  # {"local": ...} or {"global": ...}
            raw = scoped.get("local", scoped.get("global"))
        ident, _ = self.object_ids.resolve(raw)
        tid, _ = self.ids.resolve(event.get("tid"))
        phase = event["ph"]
        snapshot: Dict[str, str] = {}
        if phase == "O":
            args = event.get("args")
            found = args.get("snapshot") if isinstance(args, dict) else None
            if isinstance(found, dict):
                snapshot = {key: text_of(value) for key, value in found.items()}
            elif found is not None:
                snapshot = {"snapshot": text_of(found)}
        process.objects.append(ObjectEvent(ns, phase, text_of(event.get("name")), ident, tid, snapshot))

    # -- finishing -------------------------------------------------------------------------------

    def finish(self, metadata: Any) -> Trace:
        own, base_wall_ns = _pulsetrace_clocks(metadata)
        # One shift for all other processes, so they stay aligned with each other.
        firsts = [p.first_ns for p in self.processes.values() if p.pid not in own and p.first_ns is not None]
        shift = max(0, -min(firsts, default=0))
        processes = []
        for parts in self.processes.values():
            clock = own.get(parts.pid)
            offset = clock["base_ns"] if clock is not None else shift
            self._check_range(parts, offset)
            processes.append(_process(parts, offset, clock, base_wall_ns, shift))
        return Trace(processes)

    def _check_range(self, parts: _ProcessParts, offset: int) -> None:
        if parts.first_ns is None or parts.last_ns is None:
            return
        if parts.first_ns + offset < 0 or parts.last_ns + offset >= MAX_NS:
            raise TraceFileError(
                self.source,
                f"the timestamps of process {parts.pid} fall outside the 0 to 2**61 ns a trace can hold",
            )


def _pulsetrace_clocks(metadata: Any) -> Tuple[Dict[int, Dict[str, Any]], int]:
    """The processes whose clock pulsetrace's "metadata" object gives, by pid, and its base_wall_ns.

    A process whose entry lacks a clock field is read like another tool's.
    """
    if not isinstance(metadata, dict) or not text_of(metadata.get("generator")).startswith("pulsetrace"):
        return {}, 0
    wall = metadata.get("base_wall_ns")
    base_wall_ns = wall if isinstance(wall, int) and not isinstance(wall, bool) else 0
    entries = metadata.get("processes")
    own: Dict[int, Dict[str, Any]] = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and all(_is_int(entry.get(key)) for key in _CLOCK_FIELDS):
            # base_ns is negative for a process that started after the earliest one by more than its
            # own monotonic clock had counted (it ran after a reboot, or on another host).
            if -MAX_NS < entry["base_ns"] < MAX_NS:
                own[entry["pid"]] = entry
    return own, base_wall_ns


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _process(
    parts: _ProcessParts, offset: int, clock: Optional[Dict[str, Any]], base_wall_ns: int, shift: int
) -> ProcessTrace:
    """The model of one process, its timestamps moved by ``offset`` onto its own clock (``clock``: its
    entry in pulsetrace's metadata, or None for a process read on the file's own axis)."""
    table = FunctionTable()
    stop_on_file = parts.last_ns if parts.last_ns is not None else 0
    threads = [
        _thread(thread, table, offset, stop_on_file, parts.problems)
        for thread in sorted(
            parts.threads.values(),
            key=lambda t: (t.sort_index is None, t.sort_index or 0, t.seen),
        )
    ]
    first = parts.first_ns + offset if parts.first_ns is not None else None
    last = parts.last_ns + offset if parts.last_ns is not None else None
    metadata: Dict[str, Any] = {}
    if clock is not None:
        start_ns, stop_ns = clock["start_ns"], clock["stop_ns"]
        start_ns = start_ns if first is None else min(start_ns, first)
        stop_ns = stop_ns if last is None else max(stop_ns, last)
        wall_anchor_ns, mono_anchor_ns = clock["wall_anchor_ns"], clock["mono_anchor_ns"]
        argv = clock.get("argv")
        argv = argv if isinstance(argv, list) and all(isinstance(a, str) for a in argv) else []
        python_version = text_of(clock.get("python_version"))
        name = parts.name or text_of(clock.get("name"))
        found = clock.get("metadata")
        metadata = json_value(found) if isinstance(found, dict) else {}
    else:
        start_ns, stop_ns = first or 0, last or 0
        wall_anchor_ns, mono_anchor_ns = base_wall_ns, shift
        argv, python_version, name = [], "", parts.name
    if parts.skipped:
        metadata["skipped_events"] = dict(sorted(parts.skipped.items()))
    if parts.problems:
        metadata["repaired_events"] = dict(sorted(parts.problems.items()))
    return ProcessTrace(
        pid=parts.pid,
        name=name,
        functions=table.rows,
        threads=threads,
        start_ns=start_ns,
        stop_ns=stop_ns,
        wall_anchor_ns=wall_anchor_ns,
        mono_anchor_ns=mono_anchor_ns,
        argv=argv,
        python_version=python_version,
        metadata=metadata,
        instants=_moved(parts.instants, offset),
        counters=sorted((c._replace(ns=c.ns + offset) for c in parts.counters), key=lambda c: c.ns),
        objects=sorted((o._replace(ns=o.ns + offset) for o in parts.objects), key=lambda o: o.ns),
    )


def _thread(
    parts: _ThreadParts, table: FunctionTable, offset: int, stop_ns: int, problems: Counter[str]
) -> ThreadTrace:
    calls: List[Slice] = []
    spans: List[Span] = []
    for piece in parts.slices + pair_edges(parts.edges, stop_ns, problems):
        if piece.category not in CUSTOM_CATEGORIES:
            calls.append(piece)
            continue
        args = {**piece.args, "unfinished": True} if piece.unfinished else piece.args
        spans.append(Span(piece.start_ns + offset, piece.end_ns + offset, piece.name, piece.category, args))
    records = nest(calls, table, offset, problems)
    spans.sort(key=lambda span: span.end_ns)  # the model keeps spans in the order they ended
    return ThreadTrace(
        ident=parts.tid,
        native_id=parts.tid,
        name=parts.name,
        chunks=records.chunks,
        args=records.args,
        retvals=records.retvals,
        instants=_moved(parts.instants, offset),
        spans=spans,
    )


def _moved(instants: List[Instant], offset: int) -> List[Instant]:
    return sorted((i._replace(ns=i.ns + offset) for i in instants), key=lambda i: i.ns)
