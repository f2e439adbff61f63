"""Combining several traces into one, every process on its own track and all on one time axis.

Placing a process never touches its events: they stay on the process's own monotonic clock, and its
anchor pair (``wall_anchor_ns`` read at ``mono_anchor_ns``) says where that clock sits on the wall
clock. The writers line processes up by those anchors (writers/chrome_json.clock_bases), so moving a
process is changing one anchor.

- ``align="wall"``: processes keep their wall-clock places, right for traces taken on one machine or
  on hosts with synchronised clocks.
- ``align="start"``: each input is moved as a whole so that its earliest process starts with the
  earliest process that has a wall-clock time; processes of one input keep their places relative to
  each other.
- A process whose ``wall_anchor_ns`` is 0 has no known wall-clock time (Chrome JSON from another tool,
  model/chrome_reader): nothing says when it ran. Such processes start, keeping their places relative
  to each other, with the earliest process of their own input that has a wall-clock time; when their
  input has none, with the earliest such process of all the inputs; and when no input has one, all
  inputs start together. Once placed beside processes that have one, they are given the anchor of
  that place, so that it holds when the combined trace is combined again; with none they keep
  ``wall_anchor_ns`` 0 (they are moved through ``mono_anchor_ns``).
- pids: a process whose pid an earlier process of the combination already has gets a fresh pid (the
  first free one above it) and its name says what it was, ``"python prog.py (run 2, pid 1234)"``; no
  two processes ever share a track.

Each process's ``metadata["combined"]`` gains one entry per combination it went through: ``source``
(the input it came from), and when they apply ``pid`` (its pid before), ``moved_ns`` (how far its
wall-clock time was moved) and ``unanchored`` (true: it had no wall-clock time, its place is assumed).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, Set

from .trace import ProcessTrace, Trace

ALIGNMENTS = ("wall", "start")
HISTORY = "combined"  # the metadata key of a process's combination history


def has_wall_clock(process: ProcessTrace) -> bool:
    """Whether the process's anchors place it on the wall clock (another tool's JSON does not say)."""
    return process.wall_anchor_ns != 0


def combine(traces: Sequence[Trace], align: str = "wall", sources: Optional[Sequence[str]] = None) -> Trace:
    """One trace holding every process of ``traces``, placed on one time axis as ``align`` says.

    ``sources`` names the inputs (file names) in each process's combination history; the inputs
    themselves are not changed.
    """
    if align not in ALIGNMENTS:
        raise ValueError(f"align must be one of {', '.join(ALIGNMENTS)}, not {align!r}")
    names = list(sources) if sources is not None else [f"input {n}" for n in range(1, len(traces) + 1)]
    if len(names) != len(traces):
        raise ValueError(f"{len(traces)} traces but {len(names)} source names")
    inputs = [[_copy(process, name) for process in trace.processes] for trace, name in zip(traces, names)]
    anchored = [any(has_wall_clock(p) for p in group) for group in inputs]
    # The earliest wall-clock start; 0 (the unanchored processes' own zero) when nothing is known.
    reference = min((_earliest(group) for group, known in zip(inputs, anchored) if known), default=0)
    for group, known in zip(inputs, anchored):
        unknown = [p for p in group if not has_wall_clock(p)]
        if known and unknown:  # e.g. an earlier combination with another tool's file in it
            _move(unknown, _earliest([p for p in group if has_wall_clock(p)]) - _earliest(unknown))
        if group and (align == "start" or not known):
            _move(group, reference - _earliest(group))
    processes = [process for group in inputs for process in group]
    if any(anchored):
        for process in processes:
            if not has_wall_clock(process):
                _assume_anchor(process)
    give_unique_pids(processes)
    return Trace(processes)


def _copy(process: ProcessTrace, source: str) -> ProcessTrace:
    """A copy whose pid, name, anchors and metadata can change without touching the input."""
    metadata: Dict[str, Any] = dict(process.metadata)
    history = metadata.get(HISTORY)
    history = list(history) if isinstance(history, list) else ([] if history is None else [history])
    step: Dict[str, Any] = {"source": source}
    if not has_wall_clock(process):
        step["unanchored"] = True
    metadata[HISTORY] = [*history, step]
    return dataclasses.replace(process, metadata=metadata)


def combination_step(process: ProcessTrace) -> Dict[str, Any]:
    """The latest entry of a combined process's history: ``source`` and, when they apply, ``pid``,
    ``moved_ns`` and ``unanchored``."""
    step: Dict[str, Any] = process.metadata[HISTORY][-1]
    return step


def _earliest(processes: List[ProcessTrace]) -> int:
    """The earliest start among ``processes`` on the wall clock (as their anchors say)."""
    return min(p.to_wall_ns(p.start_ns) for p in processes)


def _move(processes: List[ProcessTrace], delta_ns: int) -> None:
    """Move ``processes`` by ``delta_ns`` on the wall clock, their events untouched."""
    if delta_ns == 0:
        return
    for process in processes:
        if has_wall_clock(process):
            process.wall_anchor_ns += delta_ns
            step = combination_step(process)
            step["moved_ns"] = step.get("moved_ns", 0) + delta_ns
        else:  # wall_anchor_ns stays 0: the process still has no wall-clock time, only a place
            process.mono_anchor_ns -= delta_ns


def _assume_anchor(process: ProcessTrace) -> None:
    """Anchor a process that has no wall-clock time where it was placed, so that the place holds when
    the combined trace is read back and combined again (its history keeps ``unanchored``)."""
    wall_start_ns = process.to_wall_ns(process.start_ns)
    process.mono_anchor_ns = process.start_ns
    process.wall_anchor_ns = wall_start_ns


def give_unique_pids(processes: List[ProcessTrace]) -> None:
    """Give each process whose pid an earlier one has the first pid above it that no process uses."""
    taken: Set[int] = {process.pid for process in processes}  # a later process keeps its own pid
    assigned: Set[int] = set()
    runs: Counter[int] = Counter()
    for process in processes:
        pid = process.pid
        runs[pid] += 1
        if pid not in assigned:
            assigned.add(pid)
            continue
        fresh = pid + 1
        while fresh in taken:
            fresh += 1
        taken.add(fresh)
        assigned.add(fresh)
        label = f"run {runs[pid]}, pid {pid}"
        process.name = f"{process.name} ({label})" if process.name else f"({label})"
        process.pid = fresh
        combination_step(process)["pid"] = pid
