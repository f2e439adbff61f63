"""Custom events and argument/return value text as Chrome Trace Events (used by chrome_json).

- instants: ``"ph":"i"`` with ``"s"`` = ``"t"`` / ``"p"`` / ``"g"`` (thread, process, global scope);
- spans, sparse-mode calls and garbage collections: complete events, ``"ph":"X"``;
- counter samples: ``"ph":"C"``, the series in ``args``;
- object events: ``"ph":"N"`` / ``"O"`` / ``"D"`` with ``"id"`` (hex), ``"O"`` with
  ``"args":{"snapshot":{attribute: repr}}``.

Every event carries the ``"cat"`` of its model category, and ``args`` as recorded.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

from ..codec import chrome_json_events, format_us
from ..model import CounterSample, Instant, ObjectEvent, ProcessTrace, Span, ThreadTrace
from .output import OutputError

_SCOPE_LETTERS = {"thread": "t", "process": "p", "global": "g"}


def json_text(value: Any) -> bytes:
    """A JSON value as UTF-8 (escaped ASCII when it holds lone surrogates)."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, allow_nan=False, separators=(",", ":")).encode("ascii")


def _head(phase: str, pid: int, tid: int, ns: int, base_ns: int) -> bytes:
    ts = format_us(ns - base_ns)
    return b'{"ph":"%s","pid":%d,"tid":%d,"ts":%s' % (phase.encode("ascii"), pid, tid, ts)


def _named(name: str, category: str) -> bytes:
    return b',"name":' + json_text(name) + b',"cat":' + json_text(category)


def instant_event(event: Instant, pid: int, base_ns: int) -> bytes:
    scope = _SCOPE_LETTERS.get(event.scope, "t")
    return (
        _head("i", pid, event.tid, event.ns, base_ns)
        + b',"s":"%s"' % scope.encode("ascii")
        + _named(event.name, event.category)
        + b',"args":'
        + json_text(event.args)
        + b"}"
    )


def span_event(event: Span, pid: int, tid: int, base_ns: int) -> bytes:
    return (
        _head("X", pid, tid, event.start_ns, base_ns)
        + b',"dur":'
        + format_us(event.end_ns - event.start_ns)
        + _named(event.name, event.category)
        + b',"args":'
        + json_text(event.args)
        + b"}"
    )


def counter_event(event: CounterSample, pid: int, base_ns: int) -> bytes:
    return (
        _head("C", pid, event.tid, event.ns, base_ns)
        + _named(event.name, "counter")
        + b',"args":'
        + json_text(event.values)
        + b"}"
    )


def object_event(event: ObjectEvent, pid: int, base_ns: int) -> bytes:
    text = _head(event.phase, pid, event.tid, event.ns, base_ns) + b',"id":"0x%x"' % event.id
    text += _named(event.name, "object")
    if event.phase == "O":
        text += b',"args":{"snapshot":' + json_text(event.snapshot) + b"}"
    return text + b"}"


def thread_custom_events(thread: ThreadTrace, pid: int, base_ns: int) -> Iterator[bytes]:
    """The thread's instants and spans as Chrome events."""
    for instant in thread.instants:
        yield instant_event(instant, pid, base_ns)
    for span in thread.spans:
        yield span_event(span, pid, thread.native_id, base_ns)


def process_custom_events(process: ProcessTrace, base_ns: int) -> Iterator[bytes]:
    """The process's own instants, counter samples and object events as Chrome events."""
    pid = process.pid
    for instant in process.instants:
        yield instant_event(instant, pid, base_ns)
    for sample in process.counters:
        yield counter_event(sample, pid, base_ns)
    for event in process.objects:
        yield object_event(event, pid, base_ns)


# -- arguments and return values inside the function slices -----------------------------------------

SlicesWithValues = Callable[..., int]


def value_fragments(thread: ThreadTrace) -> Tuple[Dict[int, bytes], Dict[int, bytes]]:
    """The ``"args":"..."`` and ``"return_value":"..."`` fragments chrome_json_events splices in."""
    args = {index: b'"args":' + json_text(text) for index, text in thread.args.items()}
    retvals = {index: b'"return_value":' + json_text(text) for index, text in thread.retvals.items()}
    return args, retvals


def slices_with_values(fast: Callable[..., int]) -> SlicesWithValues:
    """A chrome_json_events that takes ``args`` and ``retvals`` (the fast one if it does, else the twin),
    called as ``f(chunks, names, pid, tid, base_ns, write, first, args, retvals)``.

    Raises OutputError when neither does (a pulsetrace build older than its writer).
    """
    for candidate in (fast, chrome_json_events):
        convention = _convention(candidate)
        if convention == "positional":
            return candidate
        if convention == "keyword":
            return functools.partial(_by_keyword, candidate)
    raise OutputError("cannot export arguments and return values: chrome_json_events lacks args/retvals")


def _by_keyword(function: Callable[..., int], *positional: Any) -> int:
    *head, args, retvals = positional
    return function(*head, args=args, retvals=retvals)


_CONVENTIONS: Dict[int, Optional[str]] = {}


def _convention(function: Callable[..., int]) -> Optional[str]:
    """How ``function`` takes args/retvals: "positional", "keyword", or None when it does not."""
    key = id(function)
    if key not in _CONVENTIONS:
        empty: Mapping[int, bytes] = {}
        found: Optional[str] = None
        for convention in ("positional", "keyword"):
            try:
                if convention == "positional":
                    function([], [], 0, 0, 0, _discard, True, empty, empty)
                else:
                    function([], [], 0, 0, 0, _discard, True, args=empty, retvals=empty)
            except TypeError:
                continue
            found = convention
            break
        _CONVENTIONS[key] = found
    return _CONVENTIONS[key]


def _discard(data: bytes) -> None:
    del data


def write_slices(
    fast: Callable[..., int],
    thread: ThreadTrace,
    names: List[bytes],
    pid: int,
    base_ns: int,
    write: Callable[[bytes], Any],
    first: bool,
) -> int:
    """One thread's function slices; with the args/retvals fragments when the thread has any
    (a thread without them takes the unchanged fast path)."""
    try:
        if not (thread.args or thread.retvals):
            return fast(thread.chunks, names, pid, thread.native_id, base_ns, write, first)
        function = slices_with_values(fast)
        args, retvals = value_fragments(thread)
        return function(thread.chunks, names, pid, thread.native_id, base_ns, write, first, args, retvals)
    except ValueError as exc:
        raise OutputError(f"cannot export thread {thread.name!r} of process {pid}: {exc}") from None
