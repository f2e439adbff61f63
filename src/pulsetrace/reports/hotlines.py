"""The hottest source lines, as a compact text table (``pulsetrace report TRACE --lines``).

The rows are the lines with the most self time among the files kept line by line (``LineStats``), each
with its hits, self time, share of all lines' self time, total time, place and source text; the
functions called from a line, when any, follow it, indented. This module lays the table out; the
numbers are the trace's own.
"""

from __future__ import annotations

from typing import List, Mapping, NamedTuple, Optional

from ..model.lines import CallEdge, LineStats
from .summary import DEFAULT_TOP, _cut, file_label, format_duration

SOURCE_WIDTH = 60  # source text longer than this is cut in the middle
CALLEES_SHOWN = 3  # per line, the callees with the most time


class HotLine(NamedTuple):
    filename: str
    lineno: int
    hits: int
    self_ns: int
    total_ns: int
    callees: List[CallEdge]


def hot_lines(stats: LineStats, top: int = DEFAULT_TOP) -> List[HotLine]:
    """The ``top`` lines with the most self time (then hits, then place), with their busiest callees."""
    every = [
        (filename, lineno, stat)
        for filename, lines in stats.files.items()
        for lineno, stat in lines.items()
        if stat.hits or stat.total_ns
    ]
    every.sort(key=lambda row: (-row[2].self_ns, -row[2].hits, row[0], row[1]))
    return [
        HotLine(
            filename, lineno, stat.hits, stat.self_ns, stat.total_ns, stats.callees_of(filename, lineno)
        )
        for filename, lineno, stat in every[:top]
    ]


def hot_lines_table(
    stats: LineStats,
    sources: Mapping[str, str],
    top: int = DEFAULT_TOP,
    title: str = "",
    file_names: Optional[Mapping[str, str]] = None,
) -> List[str]:
    """The table's lines: a title, a header and one row per hot line (plus its callees).

    ``file_names`` gives some files a name of their own (a notebook cell's code is ``In[3]``)."""
    rows = hot_lines(stats, top)
    if not rows:
        return []
    all_self = sum(max(stat.self_ns, 0) for lines in stats.files.values() for stat in lines.values())
    lines_total = sum(len(lines) for lines in stats.files.values())
    heading = f"top {len(rows)} of {lines_total} lines by self time"
    out = [f"{title}: {heading}" if title else heading]
    out.append(f"{'hits':>9} {'self':>9} {'%':>5} {'total':>9}  line")
    for row in rows:
        share = 100.0 * row.self_ns / all_self if all_self > 0 else 0.0
        place = f"{file_label(row.filename, file_names)}:{row.lineno}"
        text = _source_line(sources.get(row.filename), row.lineno)
        out.append(
            f"{row.hits:>9,} {format_duration(row.self_ns):>9} {share:>5.1f} "
            f"{format_duration(row.total_ns):>9}  {place}  {text}".rstrip()
        )
        for edge in row.callees[:CALLEES_SHOWN]:
            callee = edge.callee
            where = f" ({file_label(callee.filename, file_names)}:{callee.lineno})" if callee.filename else ""
            calls = f"{edge.count:,} call{'' if edge.count == 1 else 's'}"
            out.append(f"{'':>36}  -> {callee.name}{where}: {calls}, {format_duration(edge.total_ns)}")
    return out


def _source_line(source: Optional[str], lineno: int) -> str:
    if source is None:
        return ""
    lines = source.splitlines()
    if not 1 <= lineno <= len(lines):
        return ""
    return _cut(lines[lineno - 1].strip(), SOURCE_WIDTH)
