"""What the live pages show, refreshed a few times a second from the line numbers and the stacks.

A ``LiveState`` turns successive line snapshots into what the pages need: per-line hits and times
and the call edges since the last reset, recency (hits in the last seconds, time since the last hit:
the line collector keeps no time of last hit, so recency comes from the change of hit counts between
snapshots) and per-file totals, plus every thread's stack. A file page gets its file as the heatmap's
own document (``reports.heatmap.build_document``), which the heatmap page renders: live and report
show the same numbers the same way. Reset subtracts the numbers at the time of the reset from the
display only: the program and the collected numbers are not touched.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional, Set, Tuple

from ..filegroups import FileGrouper, default_grouper
from ..model.lines import CallEdge, EdgeKey, LineStat, LineStats
from ..reports.heatmap import build_document
from .files import FileSet
from .stacks import ThreadStack, capture_stacks

RECENT_SECONDS = 2.0  # "recent hits": the hits of the last two seconds
RUNNING = "running"
FINISHED = "finished"

LineNumbers = Dict[int, LineStat]


@dataclass
class Tick:
    """One refresh: what every page is sent."""

    seq: int
    status: str
    wall_ns: int  # time.time_ns() when the numbers were read: the page measures its latency with it
    files: List[Dict[str, Any]]
    lines: Dict[str, Dict[int, List[int]]]  # file id -> line -> [hits, self, total, recent hits, age ms]
    stacks: List[ThreadStack]
    shown: LineStats = field(default_factory=LineStats)  # the numbers on display (since the last reset)
    paths: Dict[str, str] = field(default_factory=dict)  # file id -> path, for the files in ``lines``
    grouper: Optional[FileGrouper] = None

    def for_page(self, file_id: Optional[str], path: Optional[str] = None) -> Dict[str, Any]:
        """The JSON document one page gets: the index, the stacks, and the lines of its own file,
        also as the heatmap document of that file (``path``: the file of ``file_id``)."""
        document: Dict[str, Any] = {
            "seq": self.seq,
            "status": self.status,
            "wall_ms": self.wall_ns / 1e6,
            "files": self.files,
            "stacks": [stack.to_json() for stack in self.stacks],
        }
        if file_id is not None:
            document["lines"] = self.lines.get(file_id, {})
            path = path or self.paths.get(file_id)
            if path is not None:
                document["heatmap"] = heatmap_of_file(self.shown, path, self.grouper or default_grouper())
        return document


def heatmap_of_file(stats: LineStats, path: str, grouper: FileGrouper) -> Dict[str, Any]:
    """The heatmap document of one file: its lines, the calls made from them and the calls into its
    functions (other files' lines appear as callers without a link). Without the file's text (the
    page reads it once, from /api/source): its entry says ``"source": ""`` and has no code."""
    one = LineStats()
    one.files[path] = stats.files.get(path, {})  # listed even before its first line runs
    for key, edge in stats.edges.items():
        if edge.caller_file == path or edge.callee.filename == path:
            one.edges[key] = edge
    return build_document(one, {}, grouper, title="live", read_missing_sources=False)


class LiveState:
    """Reads the numbers (``snapshot``), keeps the display's baseline and recency, and hands out ticks."""

    def __init__(self, snapshot: Callable[[], LineStats], files: FileSet) -> None:
        self._snapshot = snapshot
        self.files = files
        self.skip_threads: Set[int] = set()  # the live view's own threads: not shown in the stack panel
        self.status = RUNNING
        self._baseline: Dict[Tuple[str, int], LineStat] = {}
        self._edge_baseline: Dict[EdgeKey, Tuple[int, int]] = {}  # count, total ns at the last reset
        self._grouper: Optional[FileGrouper] = None
        self._previous: Dict[Tuple[str, int], int] = {}  # hits at the last tick (display numbers)
        self._recent: Deque[Tuple[float, Dict[Tuple[str, int], int]]] = deque()  # (when, hits added)
        self._last_hit: Dict[Tuple[str, int], float] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._tick = Tick(0, RUNNING, time.time_ns(), [], {}, [])
        self._reset_pending = False
        self._listeners = 0  # pages connected: stacks are only read while someone looks

    @property
    def listeners(self) -> int:
        return self._listeners

    def listening(self, change: int) -> None:
        """A page connected (+1) or went away (-1)."""
        with self._lock:
            self._listeners += change

    @property
    def current(self) -> Tick:
        return self._tick

    def reset(self) -> None:
        """Start the display's counters from zero at the next tick (the program is not affected)."""
        with self._lock:
            self._reset_pending = True

    def wait_for(self, seq: int, timeout: float) -> Tick:
        """The first tick after ``seq`` (or the current one after ``timeout`` seconds)."""
        with self._changed:
            self._changed.wait_for(lambda: self._tick.seq != seq, timeout)
            return self._tick

    def finish(self) -> None:
        """The program ended: one last tick with the final numbers, marked finished."""
        self.status = FINISHED
        self.refresh()

    def refresh(self) -> Tick:
        """Read the numbers and the stacks once and publish them as the next tick."""
        stats = self._snapshot()
        now = time.monotonic()
        wall_ns = time.time_ns()
        with self._lock:
            reset, self._reset_pending = self._reset_pending, False
        shown = self._display_numbers(stats, reset)
        lines, files = self._summarise(shown.files, now)
        stacks: List[ThreadStack] = []
        if self.listeners > 0 and self.status == RUNNING:
            stacks = capture_stacks(self.files, self.skip_threads)
        if self._grouper is None:
            self._grouper = default_grouper()
        paths = {entry["id"]: entry["path"] for entry in files}
        with self._changed:
            seq = self._tick.seq + 1
            tick = Tick(seq, self.status, wall_ns, files, lines, stacks, shown, paths, self._grouper)
            self._tick = tick
            self._changed.notify_all()
        return tick

    def _display_numbers(self, stats: LineStats, reset: bool) -> LineStats:
        """The selected files' numbers and call edges since the last reset."""
        if reset:
            self._baseline = {}
            self._edge_baseline = {}
            self._previous = {}
            self._recent.clear()
            self._last_hit = {}
        shown = LineStats()
        for filename, lines in stats.files.items():
            if filename not in self.files:
                continue
            if reset:
                for lineno, stat in lines.items():
                    self._baseline[(filename, lineno)] = LineStat(stat.hits, stat.self_ns, stat.total_ns)
                continue
            display: LineNumbers = {}
            for lineno, stat in lines.items():
                base = self._baseline.get((filename, lineno))
                if base is None:
                    display[lineno] = stat
                elif stat.hits > base.hits:
                    display[lineno] = LineStat(
                        stat.hits - base.hits, stat.self_ns - base.self_ns, stat.total_ns - base.total_ns
                    )
            shown.files[filename] = display
        for key, edge in stats.edges.items():
            if reset:
                self._edge_baseline[key] = (edge.count, edge.total_ns)
                continue
            before = self._edge_baseline.get(key)
            if before is None:
                shown.edges[key] = edge
            elif edge.count > before[0]:
                count, spent = edge.count - before[0], edge.total_ns - before[1]
                shown.edges[key] = CallEdge(edge.caller_file, edge.caller_line, edge.callee, count, spent)
        return shown

    def _summarise(
        self, numbers: Dict[str, LineNumbers], now: float
    ) -> Tuple[Dict[str, Dict[int, List[int]]], List[Dict[str, Any]]]:
        added: Dict[Tuple[str, int], int] = {}
        for filename, lines in numbers.items():
            for lineno, stat in lines.items():
                key = (filename, lineno)
                more = stat.hits - self._previous.get(key, 0)
                if more > 0:
                    added[key] = more
                    self._last_hit[key] = now
                self._previous[key] = stat.hits
        self._recent.append((now, added))
        while self._recent and self._recent[0][0] < now - RECENT_SECONDS:
            self._recent.popleft()
        recent: Dict[Tuple[str, int], int] = {}
        for _, batch in self._recent:
            for key, more in batch.items():
                recent[key] = recent.get(key, 0) + more
        lines_out: Dict[str, Dict[int, List[int]]] = {}
        files_out: List[Dict[str, Any]] = []
        for filename, lines in numbers.items():
            file_id = self.files.file_id(filename)
            if file_id is None:
                continue
            rows: Dict[int, List[int]] = {}
            hits = self_ns = recent_hits = 0
            for lineno, stat in lines.items():
                key = (filename, lineno)
                last = self._last_hit.get(key)
                age_ms = int((now - last) * 1000) if last is not None else -1
                line_recent = recent.get(key, 0)
                rows[lineno] = [stat.hits, stat.self_ns, stat.total_ns, line_recent, age_ms]
                hits += stat.hits
                self_ns += stat.self_ns
                recent_hits += line_recent
            lines_out[file_id] = rows
            files_out.append(
                {
                    "id": file_id,
                    "path": filename,
                    "name": os.path.basename(filename),
                    "hits": hits,
                    "self_ns": self_ns,
                    "lines_hit": len(rows),
                    "recent": recent_hits,
                }
            )
        files_out.sort(key=lambda entry: (-entry["self_ns"], entry["path"]))
        return lines_out, files_out
