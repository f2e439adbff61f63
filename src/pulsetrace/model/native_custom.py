"""The payloads that native format version 2 added: argument/return value text and custom events.

Both directions live here, so the layout is in one place (docs/format.md, "ARGS", "TCEV", "PCEV"):

- ARGS / RETS, after the u32 thread index and u64 count: a zlib stream of ``count`` u64 record
  indices (strictly increasing), ``count`` u32 UTF-8 byte lengths, then the texts back to back.
- TCEV, after the u32 thread index, and PCEV: a zlib stream of one JSON object whose lists hold one
  array per event (field order below).

Decoders raise ValueError (or zlib.error) naming what is wrong; model/native.py adds the file and
the section.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from typing import Any, Dict, List, NamedTuple, Sequence, Tuple

from ..events import KIND_NAMES, RECORD_SIZE
from .custom import OBJECT_PHASES, SCOPES, CounterSample, Instant, ObjectEvent, Span

TEXT_ENCODING = "utf-8"
TEXT_ERRORS = "surrogatepass"
COMPRESSION = 1  # zlib level: these sections can be large (one text per call); level 1 is fast


class ThreadCustom(NamedTuple):
    instants: List[Instant]
    spans: List[Span]


class ProcessCustom(NamedTuple):
    instants: List[Instant]
    counters: List[CounterSample]
    objects: List[ObjectEvent]


# -- ARGS / RETS -------------------------------------------------------------------------------------


def encode_values(values: Dict[int, str]) -> bytes:
    """The zlib part of an ARGS / RETS payload for ``values`` (record index -> text)."""
    indices = sorted(values)
    texts = [values[index].encode(TEXT_ENCODING, TEXT_ERRORS) for index in indices]
    count = len(indices)
    body = b"".join(
        [struct.pack(f"<{count}Q", *indices), struct.pack(f"<{count}I", *map(len, texts)), *texts]
    )
    return zlib.compress(body, COMPRESSION)


def decode_values(data: memoryview, count: int, records: bytes, kind: int) -> Dict[int, str]:
    """Decode ``count`` texts; each index must name a record of kind ``kind`` in ``records``."""
    body = zlib.decompress(data)
    fixed = count * 12
    if fixed > len(body):
        raise ValueError(f"{count} texts need at least {fixed} bytes, the section holds {len(body)}")
    indices = struct.unpack_from(f"<{count}Q", body)
    lengths = struct.unpack_from(f"<{count}I", body, count * 8)
    if sum(lengths) != len(body) - fixed:
        raise ValueError(f"the text lengths add up to {sum(lengths)} bytes, but {len(body) - fixed} follow")
    nrecords = len(records) // RECORD_SIZE
    values: Dict[int, str] = {}
    previous = -1
    pos = fixed
    for index, length in zip(indices, lengths):
        if index <= previous:
            raise ValueError(f"record index {index} does not follow {previous} (indices must increase)")
        if index >= nrecords:
            raise ValueError(f"record index {index} is past the thread's {nrecords} records")
        found = records[index * RECORD_SIZE] & 7
        if found != kind:
            raise ValueError(
                f"record {index} is a {KIND_NAMES.get(found, found)!r} record, not {KIND_NAMES[kind]!r}"
            )
        values[index] = body[pos : pos + length].decode(TEXT_ENCODING, TEXT_ERRORS)
        pos += length
        previous = index
    return values


# -- TCEV / PCEV -------------------------------------------------------------------------------------


def encode_thread_custom(instants: Sequence[Instant], spans: Sequence[Span]) -> bytes:
    """The zlib part of a TCEV payload: {"instants": [[ns, name, category, args]],
    "spans": [[start_ns, end_ns, name, category, args]]} (thread instants have scope "thread")."""
    obj = {
        "instants": [[e.ns, e.name, e.category, e.args] for e in instants],
        "spans": [[e.start_ns, e.end_ns, e.name, e.category, e.args] for e in spans],
    }
    return _compress_json(obj)


def encode_process_custom(
    instants: Sequence[Instant], counters: Sequence[CounterSample], objects: Sequence[ObjectEvent]
) -> bytes:
    """A PCEV payload: {"instants": [[ns, name, category, scope, tid, args]],
    "counters": [[ns, name, tid, values]], "objects": [[ns, phase, name, id, tid, snapshot]]}."""
    obj = {
        "instants": [[e.ns, e.name, e.category, e.scope, e.tid, e.args] for e in instants],
        "counters": [[e.ns, e.name, e.tid, e.values] for e in counters],
        "objects": [[e.ns, e.phase, e.name, e.id, e.tid, e.snapshot] for e in objects],
    }
    return _compress_json(obj)


def decode_thread_custom(data: memoryview, tid: int) -> ThreadCustom:
    obj = _decompress_json(data, ("instants", "spans"))
    instants = []
    for number, row in enumerate(obj["instants"]):
        ns, name, category, args = _row(row, (int, str, str, dict), f"instant #{number}")
        instants.append(Instant(ns, name, category, "thread", tid, args))
    spans = []
    for number, row in enumerate(obj["spans"]):
        start_ns, end_ns, name, category, args = _row(row, (int, int, str, str, dict), f"span #{number}")
        if end_ns < start_ns:
            raise ValueError(f"span #{number} ends ({end_ns}) before it starts ({start_ns})")
        spans.append(Span(start_ns, end_ns, name, category, args))
    return ThreadCustom(instants, spans)


def decode_process_custom(data: memoryview) -> ProcessCustom:
    obj = _decompress_json(data, ("instants", "counters", "objects"))
    instants = []
    for number, row in enumerate(obj["instants"]):
        where = f"instant #{number}"
        ns, name, category, scope, tid, args = _row(row, (int, str, str, str, int, dict), where)
        if scope not in SCOPES[1:]:
            raise ValueError(f"{where}: scope {scope!r} is not 'process' or 'global'")
        instants.append(Instant(ns, name, category, scope, tid, args))
    counters = []
    for number, row in enumerate(obj["counters"]):
        where = f"counter sample #{number}"
        ns, name, tid, values = _row(row, (int, str, int, dict), where)
        for key, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{where}: the value of {key!r} is not a finite number")
        counters.append(CounterSample(ns, name, tid, values))
    objects = []
    for number, row in enumerate(obj["objects"]):
        where = f"object event #{number}"
        ns, phase, name, key, tid, snapshot = _row(row, (int, str, str, int, int, dict), where)
        if phase not in OBJECT_PHASES:
            raise ValueError(f"{where}: phase {phase!r} is not one of {', '.join(OBJECT_PHASES)}")
        if not all(isinstance(value, str) for value in snapshot.values()):
            raise ValueError(f"{where}: snapshot values must be strings")
        objects.append(ObjectEvent(ns, phase, name, key, tid, snapshot))
    return ProcessCustom(instants, counters, objects)


def _compress_json(obj: Dict[str, Any]) -> bytes:
    text = json.dumps(obj, allow_nan=False, separators=(",", ":"))  # ASCII: lone surrogates escaped
    return zlib.compress(text.encode("ascii"), COMPRESSION)


def _decompress_json(data: memoryview, keys: Tuple[str, ...]) -> Dict[str, Any]:
    try:
        obj = json.loads(zlib.decompress(data).decode("utf-8"))
    except (UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"not valid JSON: {exc}") from None
    # json.JSONDecodeError is a ValueError and passes through with its position.
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    for key in keys:
        if not isinstance(obj.get(key), list):
            raise ValueError(f"{key!r} is missing or not a list")
    return obj


def _row(row: Any, kinds: Tuple[type, ...], where: str) -> List[Any]:
    """One event's array, checked field by field (ints are not bools)."""
    if not isinstance(row, list) or len(row) != len(kinds):
        raise ValueError(f"{where} is not an array of {len(kinds)} fields")
    for position, (value, kind) in enumerate(zip(row, kinds)):
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            found = type(value).__name__
            raise ValueError(f"{where}: field {position} should be {kind.__name__}, not {found}")
    return row
