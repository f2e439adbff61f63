"""The terminal summary: the functions that took the most self time, as a compact text table.

``pulsetrace run`` prints it on stderr when the program ends (unless ``--quiet``), and
``pulsetrace report TRACE --top N`` prints it for any trace. The data comes from
``CallStats.of(process, callers=False)``; this module only lays it out.
"""

from __future__ import annotations

import os
from typing import List

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


def function_label(stats: FunctionStats) -> str:
    """``qualname (file.py:12)`` for Python functions, the bare name for C functions."""
    info = stats.info
    if info.kind == FUNC_C or not info.filename:
        return info.name
    return f"{info.name} ({os.path.basename(info.filename)}:{info.lineno})"


def _cut(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    keep = width - 1
    return text[: keep // 2] + "…" + text[len(text) - (keep - keep // 2) :]


def summary_lines(stats: CallStats, top: int = DEFAULT_TOP, *, title: str = "") -> List[str]:
    """The table: a title line, a header and one row per function, most self time first.

    Every row starts with two spaces; the title is the caller's (``pulsetrace run`` prefixes it
    with ``pulsetrace: `` like its other lines). No functions: no lines.
    """
    ranked = stats.by_self_time()[: max(top, 0)]
    if not ranked:
        return []
    calls = sum(f.calls for f in stats.functions.values())
    shown = f"top {len(ranked)} of {len(stats.functions):,}" if len(ranked) < len(stats.functions) else "all"
    line = f"{calls:,} calls in {format_duration(stats.wall_ns)}; {shown} functions by self time"
    lines = [f"{title}: {line}" if title else line]
    rows = [
        (f"{f.calls:,}", format_duration(f.self_ns), _percent(f.self_ns, stats.wall_ns),
         format_duration(f.total_ns), _cut(function_label(f), NAME_WIDTH))
        for f in ranked
    ]  # fmt: skip
    header = ("calls", "self", "%", "total", "function")
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(4)]
    for row in [header, *rows]:
        cells = [row[i].rjust(widths[i]) for i in range(4)]
        lines.append("  " + "  ".join(cells) + "  " + row[4])
    return lines


def _percent(part: int, whole: int) -> str:
    if whole <= 0:
        return "-"
    return f"{100 * part / whole:.1f}"
