"""The hot loops of saving a trace, in pure Python: the event stream codec and the Chrome JSON slices.

The C extension (``pulsetrace._core``) implements the same three functions byte for byte;
``fast_codec()`` and ``fast_chrome_json()`` hand out the C versions when the extension is built and
these otherwise. Tests check the twins against each other, so change both or neither.

Event stream (one thread, events in order; docs/format.md, section "EVTS")::

    varint(((ns - prev_ns) << 3) | kind)   prev_ns is 0 before the first event (an absolute stamp)
    varint(func)                           entries only: ENTER_CALL, ENTER_RESUME, ENTER_C

Varints are unsigned LEB128. An exit carries no func: the decoder takes it from its own stack of
open entries, which is why the encoder refuses an exit that does not close the innermost open entry.
"""

from __future__ import annotations

import struct
from typing import Any, Callable, List, Mapping, Optional, Protocol, Sequence, Tuple

from .events import ENTER_C, ENTER_RESUME, EXIT_STOP, EXIT_UNWIND, EXIT_YIELD, KIND_MASK, RECORD_SIZE
from .extension import c_extension

Encoder = Callable[[Sequence[bytes]], bytes]
Decoder = Callable[[bytes, int], bytes]
Fragments = Optional[Mapping[int, bytes]]


class ChromeJsonEvents(Protocol):
    """The signature of chrome_json_events (the Python one below and the C one)."""

    def __call__(
        self,
        chunks: Sequence[bytes],
        names: Sequence[bytes],
        pid: int,
        tid: int,
        base_ns: int,
        write: Callable[[bytes], Any],
        first: bool,
        args: Fragments = None,
        retvals: Fragments = None,
    ) -> int: ...

_RECORD = struct.Struct("<QI")
_U64_LIMIT = 1 << 64
_FUNC_LIMIT = 1 << 32
_RESERVED_KIND = 7  # reserved for custom events; never valid in a version-1 stream
CHROME_BLOCK_SIZE = 1 << 20  # chrome_json_events hands ``write`` blocks of about this size


def encode_events(chunks: Sequence[bytes]) -> bytes:
    """Encode 12-byte records (``pulsetrace.events``) into the native file's varint stream.

    Raises ValueError when the records cannot be represented: a chunk that is not a whole number
    of records, a timestamp earlier than the one before it, a reserved kind, or an exit that does
    not close the innermost open entry (same func).
    """
    out = bytearray()
    append = out.append
    stack: List[int] = []
    push = stack.append
    pop = stack.pop
    prev = 0  # previous ns << 3, so that ``stamp - prev`` is ((ns - prev_ns) << 3) | kind
    index = 0
    for chunk in chunks:
        if len(chunk) % RECORD_SIZE:
            raise ValueError(_bad_chunk(chunk))
        for stamp, func in _RECORD.iter_unpack(chunk):
            kind = stamp & KIND_MASK
            value = stamp - prev
            if value < 0:
                raise ValueError(f"event {index}: timestamp {stamp >> 3} is earlier than {prev >> 3}")
            prev = stamp - kind
            while value >= 0x80:
                append((value & 0x7F) | 0x80)
                value >>= 7
            append(value)
            if kind <= ENTER_C:
                push(func)
                while func >= 0x80:
                    append((func & 0x7F) | 0x80)
                    func >>= 7
                append(func)
            elif kind == _RESERVED_KIND:
                raise ValueError(f"event {index}: kind 7 is reserved")
            elif not stack:
                raise ValueError(f"event {index}: exit without an open entry")
            elif pop() != func:
                raise ValueError(f"event {index}: exit of func {func} does not close the innermost entry")
            index += 1
    return bytes(out)


def decode_events(data: bytes, count: int) -> bytes:
    """Decode a varint stream of exactly ``count`` events back into 12-byte records.

    Raises ValueError for a corrupt stream: truncated or over-long varint, a value past 64 bits (or
    a func past 32 bits), kind 7, an exit with no open entry, or a stream holding more or fewer than
    ``count`` events.
    """
    size = len(data)
    if count < 0 or count > size:  # every event takes at least one byte: refuse before allocating
        raise ValueError(f"{count} events cannot fit in {size} bytes")
    out = bytearray(count * RECORD_SIZE)
    pack_into = _RECORD.pack_into
    stack: List[int] = []
    push = stack.append
    pop = stack.pop
    pos = 0
    prev = 0
    index = 0
    try:  # reading past the end raises IndexError: cheaper than a bounds test per byte
        for index in range(count):
            value = data[pos]
            pos += 1
            if value >= 0x80:
                value, pos = _varint_tail(data, pos, value, index)
            kind = value & KIND_MASK
            stamp = prev + value
            if stamp >= _U64_LIMIT:
                raise ValueError(f"event {index}: timestamp overflows 61 bits")
            prev = stamp - kind
            if kind <= ENTER_C:
                func = data[pos]
                pos += 1
                if func >= 0x80:
                    func, pos = _varint_tail(data, pos, func, index)
                    if func >= _FUNC_LIMIT:
                        raise ValueError(f"event {index}: func {func} does not fit in 32 bits")
                push(func)
            elif kind == _RESERVED_KIND:
                raise ValueError(f"event {index}: kind 7 is reserved")
            elif stack:
                func = pop()
            else:
                raise ValueError(f"event {index}: exit without an open entry")
            pack_into(out, index * RECORD_SIZE, stamp, func)
    except IndexError:
        raise ValueError(f"event {index}: the stream ends early (truncated)") from None
    if pos != size:
        raise ValueError(f"{size - pos} bytes left over after {count} events")
    return bytes(out)


def _bad_chunk(chunk: bytes) -> str:
    return f"a chunk of {len(chunk)} bytes is not a whole number of {RECORD_SIZE}-byte records"


def _varint_tail(data: bytes, pos: int, first: int, index: int) -> Tuple[int, int]:
    """The rest of a varint whose first byte ``first`` had the continuation bit; (value, next position).

    A varint is at most 10 bytes and its value below 2**64. Reading past the end raises IndexError.
    """
    value = first & 0x7F
    shift = 7
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            break
        shift += 7
        if shift > 63:
            raise ValueError(f"event {index}: varint longer than 10 bytes")
    if value >= _U64_LIMIT:
        raise ValueError(f"event {index}: varint exceeds 64 bits")
    return value, pos


# How a slice began and ended, in its args: a generator or coroutine resuming, and every exit but a
# plain return (the C writer, _core/write_json.c, writes the same fragments in the same order).
_RESUMED = b'"resumed":true'
_EXIT_FRAGMENTS = {
    EXIT_UNWIND: b'"exit":"exception"',
    EXIT_STOP: b'"unfinished":true',
    EXIT_YIELD: b'"exit":"yield"',
}


def _markers(resumed: bool, kind: int) -> bytes:
    found = [_RESUMED if resumed else b"", _EXIT_FRAGMENTS.get(kind, b"")]
    return b",".join(part for part in found if part)


# (entered by ENTER_RESUME, exit kind) -> the args of a slice with no values: ',"args":{...}' or b"".
_MARKER_ARGS = {
    (resumed, kind): (b',"args":{%s}' % _markers(resumed, kind)) if _markers(resumed, kind) else b""
    for resumed in (False, True)
    for kind in range(8)
}


def format_us(ns: int) -> bytes:
    """A signed ns count as microseconds with exactly three decimals ("-0.500", "12.000")."""
    if ns < 0:
        return b"-%d.%03d" % divmod(-ns, 1000)
    return b"%d.%03d" % divmod(ns, 1000)


def chrome_json_events(
    chunks: Sequence[bytes],
    names: Sequence[bytes],
    pid: int,
    tid: int,
    base_ns: int,
    write: Callable[[bytes], Any],
    first: bool,
    args: Fragments = None,
    retvals: Fragments = None,
) -> int:
    """Write one thread's slices as Chrome "X" events through ``write``; returns how many.

    Entries and exits are paired with a stack; a slice is written when it ends (children before
    their parents) and takes the func of its entry. ``names[func]`` is a ready JSON fragment
    (``"name":"...","cat":"..."``). Entries still open at the end make no event. Raises ValueError
    for an exit with no open entry, kind 7, a func with no name, or a chunk that is not whole records.

    ``args`` / ``retvals`` map the index of a record in this thread's record sequence (all chunks,
    0-based) to a ready JSON fragment (``"args":"x=1"``, ``"return_value":"2"``); an empty fragment
    counts as none. A slice whose ENTER record has an args fragment, or whose exit record has a
    retvals fragment, gets ``,"args":{...}`` holding its args fragment, its retval fragment, its
    resumption marker (``"resumed":true``: a generator or coroutine resuming) and its exit marker
    (``"exit":"exception"``, ``"exit":"yield"``, ``"unfinished":true``), those it has, in that order,
    joined by ","; a slice with markers and no values gets ``,"args":{markers}``.
    """
    if args is not None and not args:
        args = None
    if retvals is not None and not retvals:
        retvals = None
    if args is not None or retvals is not None:
        return _chrome_json_events_with_values(
            chunks, names, pid, tid, base_ns, write, first, args or {}, retvals or {}
        )
    head = b'{"ph":"X","pid":%d,"tid":%d,"ts":' % (pid, tid)
    nnames = len(names)
    separator = b"" if first else b",\n"
    parts: List[bytes] = []
    size = 0
    count = 0
    stack: List[Tuple[int, int]] = []  # (the ENTER's stamp, func)
    push = stack.append
    pop = stack.pop
    for chunk in chunks:
        if len(chunk) % RECORD_SIZE:
            raise ValueError(_bad_chunk(chunk))
        for stamp, func in _RECORD.iter_unpack(chunk):
            kind = stamp & KIND_MASK
            if kind <= ENTER_C:
                push((stamp, func))
                continue
            if kind == _RESERVED_KIND:
                raise ValueError("kind 7 is reserved")
            if not stack:
                raise ValueError("exit without an open entry")
            enter_stamp, func = pop()
            enter_ns = enter_stamp >> 3
            if func >= nnames:
                raise ValueError(f"func {func} has no name (the function table has {nnames} rows)")
            part = b'%s%s%s,"dur":%s,%s%s}' % (
                separator,
                head,
                format_us(enter_ns - base_ns),
                format_us((stamp >> 3) - enter_ns),
                names[func],
                _MARKER_ARGS[(enter_stamp & KIND_MASK) == ENTER_RESUME, kind],
            )
            separator = b",\n"
            parts.append(part)
            size += len(part)
            count += 1
            if size >= CHROME_BLOCK_SIZE:
                write(b"".join(parts))
                parts.clear()
                size = 0
    if parts:
        write(b"".join(parts))
    return count


def _chrome_json_events_with_values(
    chunks: Sequence[bytes],
    names: Sequence[bytes],
    pid: int,
    tid: int,
    base_ns: int,
    write: Callable[[bytes], Any],
    first: bool,
    args: Mapping[int, bytes],
    retvals: Mapping[int, bytes],
) -> int:
    """chrome_json_events with args / retvals fragments (kept apart: the plain loop stays lean)."""
    head = b'{"ph":"X","pid":%d,"tid":%d,"ts":' % (pid, tid)
    nnames = len(names)
    separator = b"" if first else b",\n"
    parts: List[bytes] = []
    size = 0
    count = 0
    stack: List[Tuple[int, int, int]] = []
    index = -1
    for chunk in chunks:
        if len(chunk) % RECORD_SIZE:
            raise ValueError(_bad_chunk(chunk))
        for stamp, func in _RECORD.iter_unpack(chunk):
            index += 1
            kind = stamp & KIND_MASK
            if kind <= ENTER_C:
                stack.append((stamp, func, index))
                continue
            if kind == _RESERVED_KIND:
                raise ValueError("kind 7 is reserved")
            if not stack:
                raise ValueError("exit without an open entry")
            enter_stamp, func, enter_index = stack.pop()
            enter_ns = enter_stamp >> 3
            if func >= nnames:
                raise ValueError(f"func {func} has no name (the function table has {nnames} rows)")
            markers = _markers((enter_stamp & KIND_MASK) == ENTER_RESUME, kind)
            found = [_fragment(args, enter_index), _fragment(retvals, index), markers]
            inside = b",".join(part for part in found if part)
            extra = b',"args":{%s}' % inside if inside else b""
            part = b'%s%s%s,"dur":%s,%s%s}' % (
                separator,
                head,
                format_us(enter_ns - base_ns),
                format_us((stamp >> 3) - enter_ns),
                names[func],
                extra,
            )
            separator = b",\n"
            parts.append(part)
            size += len(part)
            count += 1
            if size >= CHROME_BLOCK_SIZE:
                write(b"".join(parts))
                parts.clear()
                size = 0
    if parts:
        write(b"".join(parts))
    return count


def _fragment(mapping: Mapping[int, bytes], index: int) -> bytes:
    value = mapping.get(index)
    if value is None:
        return b""
    if not isinstance(value, bytes):
        raise ValueError("args / retvals fragments must be bytes")
    return value


def fast_codec() -> Tuple[Encoder, Decoder]:
    """(encode_events, decode_events) from the C extension when it is built, else these Python ones."""
    core = c_extension()
    if core is not None and hasattr(core, "encode_events") and hasattr(core, "decode_events"):
        return core.encode_events, core.decode_events
    return encode_events, decode_events


def fast_chrome_json() -> ChromeJsonEvents:
    """chrome_json_events from the C extension when it is built, else the Python one."""
    core = c_extension()
    if core is not None and hasattr(core, "chrome_json_events"):
        function: ChromeJsonEvents = core.chrome_json_events
        return function
    return chrome_json_events
