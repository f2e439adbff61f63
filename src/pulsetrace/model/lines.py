"""Line statistics: what ``lines=True`` records, per process, for the heatmap and the live view.

Per source line: how often it ran (``hits``), its self time (from this line's event to the next
line event of the same frame, minus the time spent in functions it called) and its total time
(including those calls). Per calling line: which functions it called, how often, and the time
spent in those calls. Code whose lines are not kept in detail (by default the standard library
and site-packages) is summarised per function instead.

All threads of a process are added together. Times are nanoseconds. A ``LineStats`` is plain data:
collectors build it, the native file stores it, ``merged`` adds several together (threads, processes,
or runs), and reports read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, NamedTuple, Tuple


class CodeKey(NamedTuple):
    """A function, as lines and edges name it: its file, first line and qualified name.

    C functions (called from a line) have ``filename == ""`` and ``lineno == 0``.
    """

    filename: str
    lineno: int
    name: str


@dataclass
class LineStat:
    """One source line's numbers."""

    hits: int = 0
    self_ns: int = 0  # this line's own time: until the next line event of its frame, minus callees
    total_ns: int = 0  # including the functions called from this line

    def add(self, other: LineStat) -> None:
        self.hits += other.hits
        self.self_ns += other.self_ns
        self.total_ns += other.total_ns


@dataclass
class CallEdge:
    """Calls made from one line (``caller_file:caller_line``) to one function."""

    caller_file: str
    caller_line: int
    callee: CodeKey
    count: int = 0
    total_ns: int = 0  # time inside the callee for these calls, its own callees included


@dataclass
class FunctionSummary:
    """A function whose lines are not kept one by one (standard library, site-packages by default)."""

    code: CodeKey
    calls: int = 0
    hits: int = 0  # line events inside it
    self_ns: int = 0  # time in its own lines
    total_ns: int = 0  # including its callees


EdgeKey = Tuple[str, int, CodeKey]


@dataclass
class LineStats:
    """Line-level numbers of one process (all threads together)."""

    # filename -> line number -> numbers, for the files kept in detail; lines never run are absent
    files: Dict[str, Dict[int, LineStat]] = field(default_factory=dict)
    # (caller_file, caller_line, callee) -> edge
    edges: Dict[EdgeKey, CallEdge] = field(default_factory=dict)
    # functions summarised instead of kept line by line
    functions: Dict[CodeKey, FunctionSummary] = field(default_factory=dict)

    def line(self, filename: str, lineno: int) -> LineStat:
        """The numbers of one line, created empty on first use (collectors add into it)."""
        lines = self.files.setdefault(filename, {})
        stat = lines.get(lineno)
        if stat is None:
            stat = lines[lineno] = LineStat()
        return stat

    def edge(self, caller_file: str, caller_line: int, callee: CodeKey) -> CallEdge:
        key = (caller_file, caller_line, callee)
        edge = self.edges.get(key)
        if edge is None:
            edge = self.edges[key] = CallEdge(caller_file, caller_line, callee)
        return edge

    def function(self, code: CodeKey) -> FunctionSummary:
        summary = self.functions.get(code)
        if summary is None:
            summary = self.functions[code] = FunctionSummary(code)
        return summary

    @property
    def hit_count(self) -> int:
        """Line events kept in detail plus those summarised per function."""
        detailed = sum(stat.hits for lines in self.files.values() for stat in lines.values())
        return detailed + sum(summary.hits for summary in self.functions.values())

    def callers_of(self, code: CodeKey) -> List[CallEdge]:
        """The lines that called ``code``, most time first."""
        found = [edge for edge in self.edges.values() if edge.callee == code]
        return sorted(found, key=lambda edge: (-edge.total_ns, -edge.count))

    def callees_of(self, filename: str, lineno: int) -> List[CallEdge]:
        """The functions called from one line, most time first."""
        found = [e for e in self.edges.values() if e.caller_file == filename and e.caller_line == lineno]
        return sorted(found, key=lambda edge: (-edge.total_ns, -edge.count))


def merged(parts: Iterable[LineStats]) -> LineStats:
    """One LineStats adding up several (threads, processes or runs)."""
    total = LineStats()
    for part in parts:
        for filename, lines in part.files.items():
            for lineno, stat in lines.items():
                total.line(filename, lineno).add(stat)
        for (caller_file, caller_line, callee), edge in part.edges.items():
            into = total.edge(caller_file, caller_line, callee)
            into.count += edge.count
            into.total_ns += edge.total_ns
        for code, summary in part.functions.items():
            into_summary = total.function(code)
            into_summary.calls += summary.calls
            into_summary.hits += summary.hits
            into_summary.self_ns += summary.self_ns
            into_summary.total_ns += summary.total_ns
    return total
