"""The one data model between collecting and presenting.

A ``Trace`` holds one or more processes; each process holds its function table, its threads'
event chunks (``pulsetrace.events`` records) and the metadata a viewer needs (names, clock
anchors, command line, source text). Writers and views read this, never a core.

Beside the function slices, a thread holds the text of its calls' arguments and return values
(``args`` / ``retvals``, keyed by record index) and its custom events; a process holds the custom
events that belong to no single thread (model/custom.py says which is which).
``event_count`` and ``call_count`` count function records and slices only; ``custom_event_count``
counts the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional

from ..events import Event, count_events, iter_events
from ..recording import FunctionInfo
from .custom import CounterSample, Instant, ObjectEvent, Span
from .lines import LineStats


@dataclass
class ThreadTrace:
    """One thread's events, in the order they happened."""

    ident: int
    native_id: int
    name: str
    chunks: List[bytes] = field(default_factory=list)
    # log_args / log_retval text keyed by record index (position in the thread's record sequence):
    # args by the ENTER_CALL record of a Python call, return values by its EXIT_RETURN record.
    args: Dict[int, str] = field(default_factory=dict)
    retvals: Dict[int, str] = field(default_factory=dict)
    instants: List[Instant] = field(default_factory=list)  # scope "thread", in time order
    spans: List[Span] = field(default_factory=list)  # in the order they ended

    def events(self) -> Iterator[Event]:
        return iter_events(self.chunks)

    @property
    def event_count(self) -> int:
        """Records: entries plus exits."""
        return count_events(self.chunks)

    @property
    def call_count(self) -> int:
        """Calls (slices). Every stream is balanced: each entry has its exit, EXIT_STOP included."""
        return self.event_count // 2

    @property
    def custom_event_count(self) -> int:
        """Instants and spans of this thread."""
        return len(self.instants) + len(self.spans)


@dataclass
class ProcessTrace:
    """Everything recorded in one process."""

    pid: int
    name: str  # process name shown in viewers (e.g. "python script.py" or a multiprocessing name)
    functions: List[FunctionInfo]
    threads: List[ThreadTrace]
    start_ns: int  # monotonic ns when tracing started
    stop_ns: int  # monotonic ns when tracing stopped
    wall_anchor_ns: int  # time.time_ns() taken at monotonic ``mono_anchor_ns``
    mono_anchor_ns: int
    argv: List[str] = field(default_factory=list)
    python_version: str = ""
    sources: Mapping[str, str] = field(default_factory=dict)  # filename -> source text
    metadata: Dict[str, Any] = field(default_factory=dict)  # core, backend, options, ...
    # Custom events that belong to no single thread, each in time order.
    instants: List[Instant] = field(default_factory=list)  # scope "process" or "global"
    counters: List[CounterSample] = field(default_factory=list)
    objects: List[ObjectEvent] = field(default_factory=list)
    # lines=True: per-line hits and times of every thread together (None when lines were not recorded)
    lines: Optional[LineStats] = None

    @property
    def event_count(self) -> int:
        return sum(thread.event_count for thread in self.threads)

    @property
    def custom_event_count(self) -> int:
        """Custom events of the threads and of the process."""
        own = len(self.instants) + len(self.counters) + len(self.objects)
        return own + sum(thread.custom_event_count for thread in self.threads)

    @property
    def call_count(self) -> int:
        return sum(thread.call_count for thread in self.threads)

    def to_wall_ns(self, mono_ns: int) -> int:
        """Convert one of this process's monotonic timestamps to wall-clock ns."""
        return mono_ns - self.mono_anchor_ns + self.wall_anchor_ns


@dataclass
class Trace:
    """A whole trace: one process now; several once children are traced or traces are combined."""

    processes: List[ProcessTrace]

    @property
    def event_count(self) -> int:
        return sum(process.event_count for process in self.processes)

    @property
    def call_count(self) -> int:
        return sum(process.call_count for process in self.processes)

    @property
    def custom_event_count(self) -> int:
        return sum(process.custom_event_count for process in self.processes)

    def process(self, pid: Optional[int] = None) -> ProcessTrace:
        """The process with this pid, or the only/first one when pid is None."""
        if pid is None:
            return self.processes[0]
        for process in self.processes:
            if process.pid == pid:
                return process
        raise KeyError(pid)
