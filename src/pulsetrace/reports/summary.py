"""The terminal summary: the functions that took the most self time, as a compact text table.

``pulsetrace run`` prints it on stderr when the program ends (unless ``--quiet``), and
``pulsetrace report TRACE --top N`` prints it for any trace. The data comes from
``CallStats.of(process, callers=False)``; this module only lays it out.
"""

from __future__ import annotations

import os
from typing import List, Mapping, Optional, Tuple

from ..events import FUNC_C
from .callstats import CallStats, FunctionStats

DEFAULT_TOP = 10
NAME_WIDTH = 60  # a function column wider than this is cut in the middle


def format_duration(ns: float) -> str:
    """A duration in the unit that keeps about three significant figures: 812 ns, 4.31 µs, 1.20 s."""
    if ns < 999.5:
        return f"{ns:.0f} ns"
    for unit, size in (("µs", 1e3), ("ms", 1e6)):
        if ns < size * 999.5:
            return _three_figures(ns / size) + " " + unit
    return _three_figures(ns / 1e9) + " s"


def _three_figures(value: float) -> str:
    if value >= 99.95:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 9.995 else f"{value:.2f}"


def function_label(stats: FunctionStats, file_names: Optional[Mapping[str, str]] = None) -> str:
    """``qualname (file.py:12)`` for Python functions, the bare name for C functions.

    ``file_names`` gives some files a name of their own (a notebook cell's code is ``In[3]``).
    """
    info = stats.info
    if info.kind == FUNC_C or not info.filename:
        return info.name
    return f"{info.name} ({file_label(info.filename, file_names)}:{info.lineno})"


def file_label(filename: str, file_names: Optional[Mapping[str, str]] = None) -> str:
    """How a file is named in the table: its name in ``file_names``, else its base name."""
    if file_names and filename in file_names:
        return file_names[filename]
    return os.path.basename(filename)


def _cut(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    keep = width - 1
    return text[: keep // 2] + "…" + text[len(text) - (keep - keep // 2) :]


SUMMARY_HEADER = ("calls", "self", "%", "total", "function")


def summary_row(
    stats: FunctionStats, wall_ns: int, file_names: Optional[Mapping[str, str]] = None
) -> Tuple[str, str, str, str, str]:
    """One function's cells, as SUMMARY_HEADER names them; self % is of the recording's wall time.

    The terminal table and the HTML one (reports.summary_html) both build their rows here, so
    they always show the same numbers.
    """
    return (
        f"{stats.calls:,}",
        format_duration(stats.self_ns),
        _percent(stats.self_ns, wall_ns),
        format_duration(stats.total_ns),
        function_label(stats, file_names),
    )


def summary_headline(stats: CallStats, shown: int) -> str:
    """``12,345 calls in 1.20 s; top 10 of 57 functions by self time`` (or ``all functions``), with
    ``(3 processes)`` after the time when the statistics are those of several processes."""
    calls = sum(f.calls for f in stats.functions.values())
    which = f"top {shown} of {len(stats.functions):,}" if shown < len(stats.functions) else "all"
    processes = f" ({stats.processes} processes)" if stats.processes > 1 else ""
    return f"{calls:,} calls in {format_duration(stats.wall_ns)}{processes}; {which} functions by self time"


def summary_lines(
    stats: CallStats,
    top: int = DEFAULT_TOP,
    *,
    title: str = "",
    file_names: Optional[Mapping[str, str]] = None,
) -> List[str]:
    """The table: a title line, a header and one row per function, most self time first.

    Every row starts with two spaces; the title is the caller's (``pulsetrace run`` prefixes it
    with ``pulsetrace: `` like its other lines). No functions: no lines. ``file_names``: see
    ``function_label``.
    """
    ranked = stats.by_self_time()[: max(top, 0)]
    if not ranked:
        return []
    line = summary_headline(stats, len(ranked))
    lines = [f"{title}: {line}" if title else line]
    rows = [summary_row(f, stats.wall_ns, file_names) for f in ranked]
    rows = [(*row[:4], _cut(row[4], NAME_WIDTH)) for row in rows]
    header = SUMMARY_HEADER
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(4)]
    for row in [header, *rows]:
        cells = [row[i].rjust(widths[i]) for i in range(4)]
        lines.append("  " + "  ".join(cells) + "  " + row[4])
    return lines


def _percent(part: int, whole: int) -> str:
    if whole <= 0:
        return "-"
    return f"{100 * part / whole:.1f}"
