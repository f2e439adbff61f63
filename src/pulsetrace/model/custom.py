"""Custom events in the model: what the program put on the timeline itself (pulsetrace.custom).

Function slices are records in ``ThreadTrace.chunks``; everything else a trace shows is one of the
four types below. They are plain immutable tuples so that writers, the viewer and tests read them
the same way, whether they came from a live recording or from a native file.

Timestamps are CLOCK_MONOTONIC nanoseconds, the clock of the cores' records. ``args`` and
``snapshot`` hold JSON values only (str, int, float, bool, None, lists and str-keyed dicts): the
collecting side converts anything else to a bounded repr when the event is recorded.

Where each lives: a thread's own instants (``scope == "thread"``) and its spans are in its
``ThreadTrace``; instants of process or global scope, counter samples and object events belong to
no single thread and are in the ``ProcessTrace`` (with ``tid``, the OS id of the thread that
recorded them).
"""

from __future__ import annotations

from typing import Any, Dict, NamedTuple, Union

Number = Union[int, float]

# Categories the collecting side uses (``category`` is also the Chrome "cat" of the event).
INSTANT = "instant"  # pulsetrace.instant()
PRINT = "print"  # log_print: one print() call; args {"text": ...}
LOG = "log"  # pulsetrace.LogHandler; args {"level", "logger", "message"}
EXCEPTION = "exception"  # log_exceptions; args {"type", "message", "where", "function"}
SPAN = "span"  # pulsetrace.span()
TRACE_ONLY = "trace_only"  # a call of a @trace_only function in sparse mode; args {"args", "return_value"}
GC = "gc"  # log_gc: one collection; args {"generation", "collected", "uncollectable"}

SCOPES = ("thread", "process", "global")
OBJECT_PHASES = ("N", "O", "D")  # created, snapshot, destroyed (Chrome's object event phases)


class Instant(NamedTuple):
    """Something that happened at one moment."""

    ns: int
    name: str
    category: str
    scope: str  # "thread", "process" or "global": how far the viewer draws it
    tid: int  # native id of the thread that recorded it
    args: Dict[str, Any]


class Span(NamedTuple):
    """A user-defined duration on one thread (a span, a sparse-mode call, a garbage collection)."""

    start_ns: int
    end_ns: int
    name: str
    category: str
    args: Dict[str, Any]

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns


class CounterSample(NamedTuple):
    """New values of some series of one counter track (the series not named keep their value)."""

    ns: int
    name: str  # the counter track
    tid: int
    values: Dict[str, Number]  # series name -> value


class ObjectEvent(NamedTuple):
    """One step in the life of a snapshotted object: created, snapshot of its attributes, destroyed."""

    ns: int
    phase: str  # "N", "O" or "D"
    name: str  # the object's kind (the snapshot's name, by default the class's qualified name)
    id: int  # identifies the object among the live objects of the process (its id())
    tid: int
    snapshot: Dict[str, str]  # "O" only: attribute name -> bounded repr; empty for "N" and "D"
