"""The raw event record that both cores write and every later stage reads.

A recording is, per thread, a sequence of fixed-size 12-byte records (little-endian):

    u64  stamp   = (monotonic_ns << KIND_BITS) | kind
    u32  func    = index into the recording's function table

Entries carry the function being entered; exits carry the function being left (the core keeps a
per-thread stack, so an exit always closes the innermost open entry and never arrives unmatched).
Timestamps are absolute CLOCK_MONOTONIC nanoseconds (the clock of ``time.monotonic_ns``), so the C
core and the Python core share one time base; the trace metadata pairs it with a wall-clock anchor.

Records are kept in chunks (``bytes`` objects whose length is a multiple of RECORD_SIZE); the C core
allocates its chunks as bytes objects from the start so handing them over costs no copy.
"""

from __future__ import annotations

import struct
from typing import Iterable, Iterator, NamedTuple, Tuple

RECORD = struct.Struct("<QI")
RECORD_SIZE = RECORD.size  # 12
KIND_BITS = 3
KIND_MASK = (1 << KIND_BITS) - 1

# Entry kinds.
ENTER_CALL = 0  # a Python function starts (a new frame)
ENTER_RESUME = 1  # a generator or coroutine resumes (next/send/throw/await)
ENTER_C = 2  # a C function (builtin, method of a C type) is called
# Exit kinds.
EXIT_RETURN = 3  # normal return (Python or C)
EXIT_YIELD = 4  # a generator or coroutine suspends
EXIT_UNWIND = 5  # an exception leaves the function (Python unwind or C raise)
EXIT_STOP = 6  # the slice was still open when tracing stopped; closed at stop time
# Kind 7 is reserved for custom events (instants, counters, ...) in a later format version.

ENTER_KINDS = frozenset({ENTER_CALL, ENTER_RESUME, ENTER_C})
EXIT_KINDS = frozenset({EXIT_RETURN, EXIT_YIELD, EXIT_UNWIND, EXIT_STOP})

KIND_NAMES = {
    ENTER_CALL: "call",
    ENTER_RESUME: "resume",
    ENTER_C: "c_call",
    EXIT_RETURN: "return",
    EXIT_YIELD: "yield",
    EXIT_UNWIND: "unwind",
    EXIT_STOP: "stop",
}

# Function kinds in the function table.
FUNC_PYTHON = 0
FUNC_C = 1


class Event(NamedTuple):
    """One decoded record."""

    ns: int
    kind: int
    func: int

    @property
    def is_enter(self) -> bool:
        return self.kind in ENTER_KINDS


def pack(ns: int, kind: int, func: int) -> bytes:
    """Pack one record; used by the Python core and by tests."""
    return RECORD.pack((ns << KIND_BITS) | kind, func)


def iter_records(chunks: Iterable[bytes]) -> Iterator[Tuple[int, int]]:
    """The raw (stamp, func) pairs of a sequence of chunks, in order: for loops that decode the stamp
    themselves, where building an Event per record would cost more than the loop's own work."""
    for chunk in chunks:
        yield from RECORD.iter_unpack(chunk)


def iter_events(chunks: Iterable[bytes]) -> Iterator[Event]:
    """Decode records from a sequence of chunks, in order."""
    for stamp, func in iter_records(chunks):
        yield Event(stamp >> KIND_BITS, stamp & KIND_MASK, func)


def count_events(chunks: Iterable[bytes]) -> int:
    """The number of records in a sequence of chunks."""
    return sum(len(chunk) for chunk in chunks) // RECORD_SIZE
