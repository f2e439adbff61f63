"""What the live pages show, refreshed a few times a second from the line numbers and the stacks.

A ``LiveState`` turns successive line snapshots into ticks: per-line hits and times and the call
edges since the last reset, recency (hits in the last seconds, time since the last hit: the line
collector keeps no time of last hit, so recency comes from the change of hit counts between
snapshots), every thread's stack, and when each file, line and file's calls last changed (the tick
number), so that a page is sent only what changed since the tick it already has
(``documents.page_document``). Reset subtracts the numbers at the time of the reset from the display
only: the program and the collected numbers are not touched.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Deque, Dict, List, Optional, Set, Tuple

from ..filegroups import FileGrouper, default_grouper
from ..model.lines import CallEdge, EdgeKey, LineStat, LineStats
from .files import FileSet
from .stacks import ThreadStack, capture_stacks

RECENT_SECONDS = 2.0  # "recent hits": the hits of the last two seconds
FRESH_SECONDS = 10.0  # a line hit longer ago than this has no recency bar on the page
RUNNING = "running"
FINISHED = "finished"

LineNumbers = Dict[int, LineStat]
Recency = Dict[int, Tuple[int, int]]  # line -> (hits in the last RECENT_SECONDS, ms since the last hit)


@dataclass
class Changes:
    """The tick at which each thing on display last changed. Published with a tick and never changed
    afterwards (the next tick gets copies of what changed), so server threads read it unlocked."""

    reset_seq: int = 0  # the tick of the last reset: a page from before it gets everything anew
    files: Dict[str, int] = field(default_factory=dict)  # path -> its entry (numbers, recent hits)
    lines: Dict[str, Dict[int, int]] = field(default_factory=dict)  # path -> line -> its numbers
    calls: Dict[str, int] = field(default_factory=dict)  # path -> a call edge from or into it


@dataclass
class Totals:
    hits: int = 0
    self_ns: int = 0
    files: int = 0
    lines_run: int = 0


@dataclass
class Tick:
    """One refresh: what the pages are made from."""

    seq: int
    status: str
    wall_ns: int  # time.time_ns() when the numbers were read: the page measures its latency with it
    stacks: List[ThreadStack] = field(default_factory=list)
    shown: LineStats = field(default_factory=LineStats)  # the numbers on display (since the last reset)
    changes: Changes = field(default_factory=Changes)
    recency: Dict[str, Recency] = field(default_factory=dict)  # path -> its lines hit in FRESH_SECONDS
    recent_hits: Dict[str, int] = field(default_factory=dict)  # path -> its hits in RECENT_SECONDS
    ids: Dict[str, str] = field(default_factory=dict)  # path -> file id, for the files in ``shown``
    totals: Totals = field(default_factory=Totals)
    grouper: Optional[FileGrouper] = None  # the project's grouping of files, made at the first tick
    title: str = "live"  # the program, as the pages' bar names it ("python app.py")


class LiveState:
    """Reads the numbers (``snapshot``), keeps the display's baseline, recency and changes, and hands
    out ticks."""

    def __init__(self, snapshot: Callable[[], LineStats], files: FileSet, title: str = "live") -> None:
        self._snapshot = snapshot
        self.files = files
        self.title = title
        self.skip_threads: Set[int] = set()  # the live view's own threads: not shown in the stack panel
        self.status = RUNNING
        self._baseline: Dict[Tuple[str, int], LineStat] = {}
        self._edge_baseline: Dict[EdgeKey, Tuple[int, int]] = {}  # count, total ns at the last reset
        self._grouper: Optional[FileGrouper] = None
        self._previous: Dict[Tuple[str, int], int] = {}  # hits at the last tick (display numbers)
        self._recent: Deque[Tuple[float, Dict[Tuple[str, int], int]]] = deque()  # (when, hits added)
        self._last_hit: Dict[Tuple[str, int], float] = {}
        # what the last tick showed, to tell what changed
        self._numbers: Dict[str, Dict[int, Tuple[int, int, int]]] = {}
        self._edge_numbers: Dict[EdgeKey, Tuple[int, int]] = {}
        self._recent_hits: Dict[str, int] = {}
        self._changes = Changes()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._tick = Tick(0, RUNNING, time.time_ns(), title=title)
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
        """Read the numbers and the stacks once and publish them as the next tick (one thread at a time:
        the ticker, then finish() once the ticker has stopped)."""
        stats = self._snapshot()
        now = time.monotonic()
        wall_ns = time.time_ns()
        with self._lock:
            reset, self._reset_pending = self._reset_pending, False
        seq = self._tick.seq + 1
        shown = self._display_numbers(stats, reset)
        if reset:
            self._numbers, self._edge_numbers, self._recent_hits = {}, {}, {}
            self._changes = Changes(reset_seq=seq)
        recency, recent_hits = self._recency(shown.files, now)
        self._changes = self._note_changes(shown, recent_hits, seq)
        stacks: List[ThreadStack] = []
        if self.listeners > 0 and self.status == RUNNING:
            stacks = capture_stacks(self.files, self.skip_threads)
        if self._grouper is None:
            self._grouper = default_grouper()
        ids = {path: self.files.file_id(path) or "" for path in shown.files}
        totals = Totals(files=len(shown.files))
        for lines in shown.files.values():
            totals.lines_run += len(lines)
            for stat in lines.values():
                totals.hits += stat.hits
                totals.self_ns += stat.self_ns
        changes = self._changes
        tick = Tick(seq, self.status, wall_ns, stacks, shown, changes, recency, recent_hits, ids, totals)
        tick.grouper = self._grouper
        tick.title = self.title
        with self._changed:
            self._tick = tick
            self._changed.notify_all()
        return tick

    def _display_numbers(self, stats: LineStats, reset: bool) -> LineStats:
        """The selected files' numbers and call edges since the last reset (a file with no line run
        since then is left out)."""
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
            if display:
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

    def _recency(
        self, numbers: Dict[str, LineNumbers], now: float
    ) -> Tuple[Dict[str, Recency], Dict[str, int]]:
        """Each file's lines hit in the last FRESH_SECONDS with their recency, and each file's recent hits."""
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
        recency: Dict[str, Recency] = {}
        recent_hits: Dict[str, int] = {}
        for filename, lines in numbers.items():
            rows: Recency = {}
            in_file = 0
            for lineno in lines:
                key = (filename, lineno)
                last = self._last_hit.get(key)
                if last is None or now - last > FRESH_SECONDS:
                    continue
                line_recent = recent.get(key, 0)
                rows[lineno] = (line_recent, int((now - last) * 1000))
                in_file += line_recent
            if rows:
                recency[filename] = rows
            recent_hits[filename] = in_file
        return recency, recent_hits

    def _note_changes(self, shown: LineStats, recent_hits: Dict[str, int], seq: int) -> Changes:
        """The changes of the last tick with this tick's added: copies of what changed only."""
        before = self._changes
        changes = Changes(before.reset_seq, dict(before.files), dict(before.lines), dict(before.calls))
        for path, lines in shown.files.items():
            known = self._numbers.get(path, {})
            numbers: Dict[int, Tuple[int, int, int]] = {}
            changed_lines: Optional[Dict[int, int]] = None
            for lineno, stat in lines.items():
                now = numbers[lineno] = (stat.hits, stat.self_ns, stat.total_ns)
                if known.get(lineno) != now:
                    if changed_lines is None:
                        changed_lines = dict(changes.lines.get(path, {}))
                    changed_lines[lineno] = seq
            self._numbers[path] = numbers
            if changed_lines is not None:
                changes.lines[path] = changed_lines
            if changed_lines is not None or recent_hits.get(path, 0) != self._recent_hits.get(path, 0):
                changes.files[path] = seq
        self._recent_hits = recent_hits
        edge_numbers: Dict[EdgeKey, Tuple[int, int]] = {}
        for key, edge in shown.edges.items():
            edge_numbers[key] = (edge.count, edge.total_ns)
            if self._edge_numbers.get(key) != edge_numbers[key]:
                changes.calls[edge.caller_file] = seq
                changes.calls[edge.callee.filename] = seq
        self._edge_numbers = edge_numbers
        return changes
