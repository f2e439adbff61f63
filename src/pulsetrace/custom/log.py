"""The custom-event log: where the API (instant, counter, span, ...) puts events while a Tracer records.

Custom events do not go through the cores. Each thread appends to its own ``ThreadLog`` (found
through a ``threading.local``, so no lock on the hot path); events of process or global scope go
to the log's process-wide lists (``list.append`` is atomic). Timestamps come from
``time.monotonic_ns()``, the clock of the cores' records, so both line up on one timeline.

``active()`` is the log of the recording in progress, or None: every API call starts by reading it,
which is all an API call costs when nothing records.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set, Tuple

from ..cores import thread_name
from ..model.custom import CounterSample, Instant, ObjectEvent, Span

_active_threads: Dict[int, Any] = threading._active  # type: ignore[attr-defined]
_active: Optional[EventLog] = None  # the log of the recording in progress
_sparse: Optional[EventLog] = None  # the same log, but only when the tracer runs in sparse mode


def active() -> Optional[EventLog]:
    """The log of the recording in progress, or None when no Tracer records."""
    return _active


def sparse() -> Optional[EventLog]:
    """The log of the recording in progress when it is in sparse mode (trace_only), else None."""
    return _sparse


def recording() -> Optional[Tuple[EventLog, ThreadLog]]:
    """The log of the recording in progress and the calling thread's log; None when no Tracer
    records or this thread is paused (the one test every event source makes before recording)."""
    log = _active
    if log is None:
        return None
    thread = log.recording_thread()
    return None if thread is None else (log, thread)


class ThreadLog:
    """One thread's custom events (appended only by that thread)."""

    __slots__ = ("ident", "native_id", "thread", "paused", "instants", "spans", "gc_start_ns")

    def __init__(self) -> None:
        self.ident = threading.get_ident()
        self.native_id = threading.get_native_id()
        # The Thread object, if threading knows it; its name is read when the recording stops. (Not
        # threading.current_thread(): Python code, which would show up in the trace.)
        self.thread: Any = _active_threads.get(self.ident)
        self.paused = False  # Tracer.pause() in this thread: its custom events are not recorded
        self.instants: List[Instant] = []
        self.spans: List[Span] = []
        self.gc_start_ns = 0  # log_gc: when the collection running in this thread started


@dataclass
class ThreadEvents:
    """What one thread recorded, handed to the model when the recording stops."""

    ident: int
    native_id: int
    name: str
    instants: List[Instant]
    spans: List[Span]


@dataclass
class CustomRecording:
    """Every custom event of one recording: per thread, and those of the whole process."""

    threads: List[ThreadEvents] = field(default_factory=list)
    instants: List[Instant] = field(default_factory=list)
    counters: List[CounterSample] = field(default_factory=list)
    objects: List[ObjectEvent] = field(default_factory=list)


class EventLog:
    """The custom events of one recording, from start() to stop()."""

    def __init__(self, repr_limit: int = 100, sparse: bool = False) -> None:
        self.repr_limit = repr_limit
        self.sparse = sparse
        self._local = threading.local()
        self._threads: List[ThreadLog] = []
        self._lock = threading.Lock()
        self.instants: List[Instant] = []  # scope "process" / "global"
        self.counters: List[CounterSample] = []
        self.objects: List[ObjectEvent] = []
        self.live_objects: Set[int] = set()  # ids of snapshotted objects that got their "N" event
        self.watchers: Dict[int, Any] = {}  # id -> weakref.ref whose callback records the "D" event

    def thread(self) -> ThreadLog:
        """The calling thread's log (created on first use)."""
        try:
            log: ThreadLog = self._local.log
        except AttributeError:
            log = self._local.log = ThreadLog()
            with self._lock:
                self._threads.append(log)
        return log

    def recording_thread(self) -> Optional[ThreadLog]:
        """The calling thread's log, or None while the thread is paused."""
        log = self.thread()
        return None if log.paused else log

    def set_paused(self, paused: bool) -> None:
        """Pause or resume the calling thread's custom events."""
        self.thread().paused = paused

    def start(self) -> None:
        """Make this the log the API writes to."""
        global _active, _sparse
        _active = self
        _sparse = self if self.sparse else None

    def stop(self) -> CustomRecording:
        """Stop taking events; return what was recorded."""
        global _active, _sparse
        if _active is self:
            _active = _sparse = None
        with self._lock:
            threads = list(self._threads)
        return CustomRecording(
            threads=[
                ThreadEvents(t.ident, t.native_id, _thread_name(t), t.instants, t.spans)
                for t in threads
                if t.instants or t.spans
            ],
            # Appended by several threads: an event can land just after a later one of another thread.
            instants=sorted(self.instants, key=_ns),
            counters=sorted(self.counters, key=_ns),
            objects=sorted(self.objects, key=_ns),
        )


def _ns(event: Any) -> int:
    ns: int = event.ns
    return ns


def _thread_name(log: ThreadLog) -> str:
    return thread_name(log.ident, log.native_id, log.thread)
