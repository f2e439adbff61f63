"""Per-function call statistics of a trace: the data behind the function table, the terminal summary
and the pstats export.

For each function of each process: calls, total (inclusive) time, self time, the longest call, and
for each caller the same figures for the calls made from that caller. The rules:

- *calls* count function starts: ENTER_CALL and ENTER_C records. A generator or coroutine resuming
  (ENTER_RESUME) adds time to the function but is not a new call.
- *self time* of a slice is its duration minus the durations of the slices directly inside it.
- *total time* counts each moment once per function: a slice's duration is added only when no other
  slice of the same function is open around it (recursion is not counted twice), as cProfile does.
  *primitive calls* are the calls made while no slice of the same function was open.
- an edge (caller -> callee) is keyed by the function of the enclosing slice; slices with nothing
  around them in their thread have the caller ``None`` (a thread's or the trace's top level).
- slices still open at stop (EXIT_STOP) count like the others, up to the stop time.

Timing is in nanoseconds. ``CallStats.of(process)`` walks every thread's records once, in Python;
``CallStats.of(process, callers=False)`` leaves the edges out and lets the C extension do the walk
(``_core.function_totals``, about 100 times faster), which the terminal summary relies on.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from ..events import ENTER_C, ENTER_RESUME, KIND_BITS, KIND_MASK, iter_records
from ..extension import c_extension
from ..model import ProcessTrace, Trace
from ..recording import FunctionInfo


@dataclass
class EdgeStats:
    """Calls of one function made from one caller."""

    calls: int = 0
    primitive_calls: int = 0
    total_ns: int = 0
    self_ns: int = 0


@dataclass
class FunctionStats:
    """Everything one function did in one process."""

    func: int  # index in the process's function table
    info: FunctionInfo
    calls: int = 0
    primitive_calls: int = 0
    slices: int = 0  # calls plus resumptions
    total_ns: int = 0
    self_ns: int = 0
    max_ns: int = 0  # the longest slice
    callers: Dict[Optional[int], EdgeStats] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def average_ns(self) -> float:
        return self.total_ns / self.calls if self.calls else 0.0


@dataclass
class CallStats:
    """The statistics of one process: one FunctionStats per function that ran."""

    pid: int
    process_name: str
    functions: Dict[int, FunctionStats]
    wall_ns: int  # stop - start of the recording
    processes: int = 1  # how many processes' statistics these are (see ``combined``)

    @classmethod
    def of(cls, process: ProcessTrace, *, callers: bool = True) -> CallStats:
        """The statistics of ``process``; ``callers=False``: without the per-caller edges (faster)."""
        table = process.functions
        core = None if callers else c_extension()
        if core is not None and hasattr(core, "function_totals"):
            functions = _totals_in_c(core, process)
        else:
            functions = {}
            for thread in process.threads:
                _walk(thread.chunks, table, functions)
            if not callers:
                for stats in functions.values():
                    stats.callers.clear()
        return cls(process.pid, process.name, functions, max(process.stop_ns - process.start_ns, 0))

    @classmethod
    def combined(cls, parts: Sequence[CallStats]) -> CallStats:
        """The statistics of several processes as one, for a program and its child processes: a
        function is the same in every process where it has the same kind, name, file and line. The
        first part (the program's own process) gives the pid, name and wall time; the per-caller
        edges are left out (callers are function indices of their own process)."""
        first = parts[0]
        merged: Dict[FunctionInfo, FunctionStats] = {}
        for part in parts:
            for stats in part.functions.values():
                into = merged.get(stats.info)
                if into is None:
                    into = merged[stats.info] = FunctionStats(len(merged), stats.info)
                into.calls += stats.calls
                into.primitive_calls += stats.primitive_calls
                into.slices += stats.slices
                into.total_ns += stats.total_ns
                into.self_ns += stats.self_ns
                into.max_ns = max(into.max_ns, stats.max_ns)
        functions = {stats.func: stats for stats in merged.values()}
        return cls(first.pid, first.process_name, functions, first.wall_ns, sum(p.processes for p in parts))

    def by_self_time(self) -> List[FunctionStats]:
        return sorted(self.functions.values(), key=lambda f: (-f.self_ns, -f.total_ns, f.name))

    def by_total_time(self) -> List[FunctionStats]:
        return sorted(self.functions.values(), key=lambda f: (-f.total_ns, -f.self_ns, f.name))

    @property
    def self_ns(self) -> int:
        """Time inside any recorded slice (the sum of every function's self time)."""
        return sum(f.self_ns for f in self.functions.values())


def call_stats(trace: Trace) -> List[CallStats]:
    """CallStats of every process of a trace, in the trace's order."""
    return [CallStats.of(process) for process in trace.processes]


_TOTALS_ROW = struct.Struct("<6q")  # calls, primitive calls, slices, total, self, max (totals.c)


def _totals_in_c(core: Any, process: ProcessTrace) -> Dict[int, FunctionStats]:
    table = process.functions
    rows = bytearray(_TOTALS_ROW.size * len(table))
    for thread in process.threads:
        core.function_totals(thread.chunks, len(table), rows)
    functions: Dict[int, FunctionStats] = {}
    for func, (calls, primitive, slices, total, own, longest) in enumerate(_TOTALS_ROW.iter_unpack(rows)):
        if slices:
            functions[func] = FunctionStats(func, table[func], calls, primitive, slices, total, own, longest)
    return functions


def _walk(chunks: List[bytes], table: List[FunctionInfo], functions: Dict[int, FunctionStats]) -> None:
    """Add one thread's slices to ``functions``."""
    # Each open slice: [func, start_ns, time of the slices directly inside it].
    stack: List[List[int]] = []
    open_count: Dict[int, int] = {}  # func -> slices of it open on the stack
    for stamp, func in iter_records(chunks):
        kind = stamp & KIND_MASK
        ns = stamp >> KIND_BITS
        if kind <= ENTER_C:
            depth = open_count.get(func, 0)
            open_count[func] = depth + 1
            stats = functions.get(func)
            if stats is None:
                stats = functions[func] = FunctionStats(func, table[func])
            caller = stack[-1][0] if stack else None
            edge = stats.callers.get(caller)
            if edge is None:
                edge = stats.callers[caller] = EdgeStats()
            stats.slices += 1
            if kind != ENTER_RESUME:
                stats.calls += 1
                edge.calls += 1
                if depth == 0:
                    stats.primitive_calls += 1
                    edge.primitive_calls += 1
            stack.append([func, ns, 0])
            continue
        if not stack:  # a malformed stream: the model's readers refuse these; never crash here
            continue
        func, start, inner = stack.pop()
        duration = ns - start
        own = duration - inner
        remaining = open_count[func] - 1
        open_count[func] = remaining
        stats = functions[func]
        caller = stack[-1][0] if stack else None
        edge = stats.callers[caller]
        stats.self_ns += own
        edge.self_ns += own
        if remaining == 0:  # no slice of this function around it: its time is not counted yet
            stats.total_ns += duration
            edge.total_ns += duration
        if duration > stats.max_ns:
            stats.max_ns = duration
        if stack:
            stack[-1][2] += duration


__all__ = ["CallStats", "EdgeStats", "FunctionStats", "call_stats"]
