"""Line-level time accounting, shared by both line backends: each thread's stack of frames, the time of
each line, and the conversion of what the threads counted into one ``LineStats``; ``PythonLineBackend``
is what the two Python backends (``monitoring``, ``settrace``) have in common besides their hooks.

The rules, which both backends follow (they only differ in how they learn of the events):

- A line's *hit* is counted when its line event arrives. Its *interval* runs from that event to the
  next line event of the same frame, or until the frame returns, yields or unwinds. The interval's
  length goes to the line's ``total_ns``; minus the time spent in the Python functions it called, to
  its ``self_ns``. C functions are not separate callees: their time is the calling line's own time,
  as line_profiler counts it.
- A generator or coroutine that resumes goes on at the line it stopped at: a new interval, no hit.
- Recursion never counts a moment twice in a total: a line's interval adds to ``total_ns`` only when
  the same line is not already open in an outer frame of the same code on the same thread; a call
  edge (calling line -> function) adds its time only when no outer call along the same edge is open;
  a function summary adds to ``total_ns`` only for its outermost frame. Self times never overlap.
- A call edge counts calls (not resumptions) and the time of every entry into the callee, resumptions
  included. Edges are kept for calling lines of detailed code only.
- Code that is not kept in detail (``lines is None``) is summarised per function: calls, self time
  and total time. Its lines are not listed, so it costs no line events.
- Frames that began before recording (the block that called ``start()``) join the stack at their
  first event; an exit with no matching frame is ignored. At stop every open frame is closed then.
"""

from __future__ import annotations

import threading
from types import CodeType
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Optional, Tuple

from ..events import FUNC_PYTHON
from ..model.lines import CodeKey, LineStats
from ..model.qualnames import qualify
from ..recording import FunctionInfo

_NOTHING_OPEN: FrozenSet[int] = frozenset()

# An edge's numbers: [calls, total_ns, entries open on the thread now]
EdgeCounts = Dict[Tuple[int, CodeType], List[int]]  # (calling line, callee) -> numbers


class CodeLines:
    """What one thread counted for one code object."""

    __slots__ = ("code", "lines", "calls", "self_ns", "total_ns", "edges", "innermost")

    def __init__(self, code: CodeType, detailed: bool) -> None:
        self.code = code
        # line number -> [hits, self_ns, total_ns]; None for code summarised per function
        self.lines: Optional[Dict[int, List[int]]] = {} if detailed else None
        self.calls = 0
        self.self_ns = 0
        self.total_ns = 0
        self.edges: EdgeCounts = {}
        self.innermost: Optional[Frame] = None  # the innermost frame of this code on the thread's stack


# A running frame is a list (made and read for every call: a list is the cheapest object to build).
CODE = 0  # its code object
DATA = 1  # its CodeLines
LINES = 2  # DATA.lines: line number -> [hits, self_ns, total_ns], or None when summarised
STAT = 3  # the open line's [hits, self_ns, total_ns], or None
WHOLE = 4  # whether the open line's interval adds to its total (not open further out: see OPEN_OUTSIDE)
LINENO = 5  # the open line; 0 before the frame's first line event
LINE_START = 6  # when the open line started
LINE_CALLEE_NS = 7  # time in Python callees during the open line
ENTER_NS = 8  # when this entry into the frame began
CALLEE_NS = 9  # time in Python callees during this entry
OUTER = 10  # the next frame of the same code further out on the stack, or None
OPEN_OUTSIDE = 11  # lines of this code open in outer frames (recursion): they already count this time
EDGE = 12  # the numbers of the call edge this entry came by, or None
Frame = List[Any]


class ThreadLines:
    """One thread's stack and counts. Only its own thread touches it while recording."""

    __slots__ = ("stack", "codes", "detail")

    def __init__(self, detail: Callable[[CodeType], Optional[bool]]) -> None:
        self.stack: List[Frame] = []
        self.codes: Dict[CodeType, CodeLines] = {}
        # code -> True (lines in detail), False (summarised), None (not recorded: pulsetrace's own)
        self.detail = detail

    def data_for(self, code: CodeType) -> Optional[CodeLines]:
        """The counts of ``code`` on this thread, created on first use; None for code never recorded."""
        data = self.codes.get(code)
        if data is None:
            detailed = self.detail(code)
            if detailed is None:
                return None
            data = self.codes[code] = CodeLines(code, detailed)
        return data

    def enter(self, ns: int, data: CodeLines, resumed_at: int, is_call: bool) -> Frame:
        """A frame of ``data``'s code starts (``is_call``), resumes, or shows up for the first time (a
        frame that began before recording); ``resumed_at`` is the line it goes on at (0: unknown)."""
        outer = data.innermost
        if outer is None:
            open_outside = _NOTHING_OPEN
        else:
            open_outside = outer[OPEN_OUTSIDE] | {outer[LINENO]}
        edge = None
        stack = self.stack
        if stack:
            caller = stack[-1]
            if caller[STAT] is not None:
                edges = caller[DATA].edges
                key = (caller[LINENO], data.code)
                edge = edges.get(key)
                if edge is None:
                    edge = edges[key] = [0, 0, 0]
                edge[2] += 1
                if is_call:
                    edge[0] += 1
        frame = [data.code, data, data.lines, None, True, 0, ns, 0, ns, 0, outer, open_outside, edge]
        data.innermost = frame
        if is_call:
            data.calls += 1
        if resumed_at:
            frame[LINENO] = resumed_at
            lines = data.lines
            if lines is not None:
                stat = lines.get(resumed_at)
                if stat is None:  # a generator that began before recording
                    stat = lines[resumed_at] = [0, 0, 0]
                frame[STAT] = stat
                frame[WHOLE] = resumed_at not in open_outside
        stack.append(frame)
        return frame

    def line(self, ns: int, frame: Frame, lineno: int) -> None:
        """``frame`` (detailed, the innermost) starts line ``lineno``: close its open line, open this one.

        This runs for every line event, so it does as little as it can: no lookups but the new line's.
        """
        stat = frame[STAT]
        if stat is not None:
            elapsed = ns - frame[LINE_START]
            stat[1] += elapsed - frame[LINE_CALLEE_NS]
            if frame[WHOLE]:
                stat[2] += elapsed
            frame[LINE_CALLEE_NS] = 0
        lines = frame[LINES]
        stat = lines.get(lineno)
        if stat is None:
            stat = lines[lineno] = [1, 0, 0]
        else:
            stat[0] += 1
        frame[STAT] = stat
        frame[LINENO] = lineno
        frame[LINE_START] = ns
        frame[WHOLE] = lineno not in frame[OPEN_OUTSIDE]

    def exit(self, ns: int, code: CodeType) -> None:
        """The innermost frame of ``code`` returns, yields or unwinds (frames above it close too)."""
        stack = self.stack
        if not stack:
            return
        if stack[-1][CODE] is not code:
            data = self.codes.get(code)
            if data is None or data.innermost is None:
                return  # it began before recording and never showed a line: nothing to close
            while stack[-1][CODE] is not code:  # exits that were never reported: close them here
                self.close_top(ns)
        self.close_top(ns)

    def close_top(self, ns: int) -> None:
        """The innermost frame ends (callers that know it is the one exiting skip exit()'s checks)."""
        stack = self.stack
        frame = stack.pop()
        stat = frame[STAT]
        if stat is not None:
            elapsed = ns - frame[LINE_START]
            stat[1] += elapsed - frame[LINE_CALLEE_NS]
            if frame[WHOLE]:
                stat[2] += elapsed
        duration = ns - frame[ENTER_NS]
        data = frame[DATA]
        data.self_ns += duration - frame[CALLEE_NS]
        outer = frame[OUTER]
        if outer is None:
            data.total_ns += duration
        data.innermost = outer
        edge = frame[EDGE]
        if edge is not None:
            edge[2] -= 1
            if not edge[2]:  # the outermost entry along this edge: its time holds the inner ones'
                edge[1] += duration
        if stack:
            caller = stack[-1]
            caller[LINE_CALLEE_NS] += duration
            caller[CALLEE_NS] += duration

    def close_all(self, ns: int) -> None:
        """Recording stops: every frame still open ends now."""
        while self.stack:
            self.close_top(ns)


def code_keys(codes: Iterable[CodeType]) -> Dict[CodeType, CodeKey]:
    """How LineStats names each code object: the same qualified name as the trace's function table."""
    ordered = list(codes)
    rows = [FunctionInfo(FUNC_PYTHON, _bare_qualname(c), c.co_filename, c.co_firstlineno) for c in ordered]
    return {code: CodeKey(row.filename, row.lineno, row.name) for code, row in zip(ordered, qualify(rows))}


def _bare_qualname(code: CodeType) -> str:
    return str(getattr(code, "co_qualname", code.co_name))


# What one thread counted for one code object, as both collectors hand it over (the C collector's
# LineRecorder.rows() gives the same tuples): (code, detailed, calls, self_ns, total_ns,
# [(line, hits, self_ns, total_ns)], [(calling line, callee code, count, total_ns)]).
LineRow = Tuple[int, int, int, int]
EdgeRow = Tuple[int, CodeType, int, int]
CodeRow = Tuple[CodeType, bool, int, int, int, List[LineRow], List[EdgeRow]]


def thread_rows(threads: Iterable[ThreadLines]) -> List[CodeRow]:
    """The rows of every thread's counts. Safe while the threads still count (a snapshot from another
    thread): each dict is copied in one step, and the lines still open lack their current interval."""
    rows: List[CodeRow] = []
    for thread in list(threads):
        for code, data in list(thread.codes.items()):
            lines = data.lines
            line_rows = [] if lines is None else [(n, s[0], s[1], s[2]) for n, s in list(lines.items())]
            edge_rows = [(line, callee, e[0], e[1]) for (line, callee), e in list(data.edges.items())]
            detailed = lines is not None
            rows.append((code, detailed, data.calls, data.self_ns, data.total_ns, line_rows, edge_rows))
    return rows


def stats_from_rows(rows: Iterable[CodeRow]) -> LineStats:
    """One LineStats adding up the rows of every thread."""
    rows = list(rows)
    keys = code_keys({row[0] for row in rows} | {edge[1] for row in rows for edge in row[6]})
    stats = LineStats()
    for code, detailed, calls, self_ns, total_ns, lines, edges in rows:
        key = keys[code]
        if not detailed:
            summary = stats.function(key)
            summary.calls += calls
            summary.self_ns += self_ns
            summary.total_ns += total_ns
        else:
            for lineno, hits, line_self_ns, line_total_ns in lines:
                stat = stats.line(key.filename, lineno)
                stat.hits += hits
                stat.self_ns += line_self_ns
                stat.total_ns += line_total_ns
        for caller_line, callee, count, edge_total_ns in edges:
            edge = stats.edge(key.filename, caller_line, keys[callee])
            edge.count += count
            edge.total_ns += edge_total_ns
    return stats


class PythonLineBackend:
    """What both Python line backends share: one ThreadLines per thread, made at the thread's first
    event, and the reading of all of them. The backends differ only in their hooks."""

    def __init__(self, detail: Callable[[CodeType], Any], clock: Callable[[], int]) -> None:
        self._detail = detail
        self._clock = clock
        self._local = threading.local()
        self.threads: List[ThreadLines] = []

    def _new_thread(self) -> ThreadLines:
        state = ThreadLines(self._detail)
        self._local.state = state
        self.threads.append(state)  # list.append is atomic: threads may register at the same time
        return state

    def close_all(self) -> None:
        """Recording stopped: every frame still open on any thread ends now."""
        stop_ns = self._clock()
        for thread in list(self.threads):
            thread.close_all(stop_ns)

    def rows(self) -> List[CodeRow]:
        """The counts so far (see thread_rows; safe while counting)."""
        return thread_rows(self.threads)

    def ignore_thread(self) -> None:
        """The calling thread is not counted from now on (its state None: every callback returns)."""
        self._local.state = None


def line_stats(threads: Iterable[ThreadLines]) -> LineStats:
    """One LineStats adding up what every thread counted."""
    return stats_from_rows(thread_rows(threads))
