"""A small, slow, obviously-correct line collector (``sys.settrace``) for the heatmap's tests.

It fills a ``LineStats`` the way the model describes one (hits; self time from a line's event to
the next line event of its frame, minus the time in functions it called; total time including
them; one edge per calling line and callee; files outside ``detail_under`` summarised per function),
so the heatmap can be tested on real programs before and independently of the real collectors.
Python functions only: ``sys.settrace`` does not see C calls.
"""

from __future__ import annotations

import os
import runpy
import sys
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Dict, List, Optional

from pulsetrace.model import ProcessTrace, Trace
from pulsetrace.model.lines import CodeKey, LineStats


@dataclass
class _Frame:
    code: CodeKey
    detailed: bool
    started: int  # when the call began
    line: int = 0  # the line running now, 0 before the first
    line_started: int = 0
    in_callees: int = 0  # time in calls made from the current line
    callees_total: int = 0  # time in all calls made by this frame
    own_hits: int = 0


@dataclass
class LineOracle:
    """Collects line statistics for one thread while ``run`` runs a script."""

    detail_under: str
    stats: LineStats = field(default_factory=LineStats)
    frames: Dict[int, _Frame] = field(default_factory=dict)

    def _detailed(self, filename: str) -> bool:
        return os.path.abspath(filename).startswith(self.detail_under + os.sep)

    def _close_line(self, state: _Frame, now: int) -> None:
        if not state.line:
            return
        total = now - state.line_started
        if state.detailed:
            stat = self.stats.line(state.code.filename, state.line)
            stat.self_ns += total - state.in_callees
            stat.total_ns += total
        state.in_callees = 0

    def tracer(self, frame: FrameType, event: str, arg: Any) -> Optional[Any]:
        now = time.perf_counter_ns()
        if event == "call":
            code = frame.f_code
            key = CodeKey(code.co_filename, code.co_firstlineno, getattr(code, "co_qualname", code.co_name))
            self.frames[id(frame)] = _Frame(key, self._detailed(code.co_filename), now)
            return self.tracer
        state = self.frames.get(id(frame))
        if state is None:
            return self.tracer
        if event == "line":
            self._close_line(state, now)
            state.line, state.line_started = frame.f_lineno, now
            state.own_hits += 1
            if state.detailed:
                self.stats.line(state.code.filename, state.line).hits += 1
        elif event == "return":
            self._close_line(state, now)
            del self.frames[id(frame)]
            elapsed = now - state.started
            if not state.detailed:
                summary = self.stats.function(state.code)
                summary.calls += 1
                summary.hits += state.own_hits
                summary.total_ns += elapsed
                summary.self_ns += elapsed - state.callees_total
            caller = frame.f_back
            parent = self.frames.get(id(caller)) if caller is not None else None
            if parent is not None and parent.line:
                parent.in_callees += elapsed
                parent.callees_total += elapsed
                edge = self.stats.edge(parent.code.filename, parent.line, state.code)
                edge.count += 1
                edge.total_ns += elapsed
        return self.tracer


def collect(script: str, argv: Optional[List[str]] = None) -> Trace:
    """Run ``script`` in this process under the oracle and return a Trace holding its line stats."""
    script = os.path.abspath(script)
    oracle = LineOracle(os.path.dirname(script))
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [script, *(argv or [])]
    sys.path.insert(0, os.path.dirname(script))  # as python does for a script
    start = time.monotonic_ns()
    sys.settrace(oracle.tracer)
    try:
        runpy.run_path(script, run_name="__main__")
    finally:
        sys.settrace(None)
        sys.argv = saved_argv
        sys.path[:] = saved_path
    stop = time.monotonic_ns()
    sources = {}
    for filename in oracle.stats.files:
        with open(filename, encoding="utf-8") as handle:
            sources[filename] = handle.read()
    process = ProcessTrace(
        pid=os.getpid(),
        name=f"python {os.path.basename(script)}",
        functions=[],
        threads=[],
        start_ns=start,
        stop_ns=stop,
        wall_anchor_ns=time.time_ns(),
        mono_anchor_ns=stop,
        argv=[script, *(argv or [])],
        sources=sources,
        lines=oracle.stats,
    )
    return Trace([process])
