"""The report a live session writes at exit (``-o report.html``): the heatmap of the run."""

from __future__ import annotations

import html
import os
from typing import List

from ..model.lines import LineStats
from ..writers.output import open_output
from .files import FileSet, read_text
from .source import highlighted_lines


def _duration(ns: int) -> str:
    if ns >= 1_000_000_000:
        return f"{ns / 1e9:.2f} s"
    if ns >= 1_000_000:
        return f"{ns / 1e6:.1f} ms"
    if ns >= 1_000:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns} ns"


def render_report(stats: LineStats, files: FileSet) -> str:
    """A standalone HTML page: every traced file with its lines' hits and time, coloured by time."""
    sections: List[str] = []
    chosen = sorted(
        (name for name in stats.files if name in files),
        key=lambda name: -sum(stat.self_ns for stat in stats.files[name].values()),
    )
    for filename in chosen:
        text = read_text(filename)
        if text is None:
            continue
        lines = stats.files[filename]
        hottest = max((stat.self_ns for stat in lines.values()), default=0) or 1
        rows = []
        for number, code in enumerate(highlighted_lines(text), start=1):
            stat = lines.get(number)
            if stat is None:
                rows.append(f'<tr><td class="n">{number}</td><td></td><td></td><td class="src">{code}</td>')
                continue
            heat = stat.self_ns / hottest
            rows.append(
                f'<tr style="--heat:{heat:.3f}"><td class="n">{number}</td><td class="h">{stat.hits:,}</td>'
                f'<td class="t">{_duration(stat.self_ns)}</td><td class="src">{code}</td>'
            )
        total = sum(stat.hits for stat in lines.values())
        sections.append(
            f"<section><h2>{html.escape(filename)} <small>{total:,} line hits</small></h2>"
            f"<table><thead><tr><th>line</th><th>hits</th><th>time</th><th></th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></section>"
        )
    body = "".join(sections) or "<p>No line of the traced files ran.</p>"
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>pulsetrace line report</title>"
        f"<style>{_CSS}</style></head><body><h1>pulsetrace line report</h1>{body}</body></html>"
    )


def write_report(path: str, stats: LineStats, files: FileSet) -> None:
    """Write render_report() to ``path`` (a half-written file is removed on failure)."""
    page = render_report(stats, files)
    with open_output(os.fspath(path)) as handle:
        handle.write(page.encode("utf-8"))


_CSS = (
    "body{font:14px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse;font:13px monospace}"
    "td{padding:0 .6em;white-space:pre}td.n,td.h,td.t{text-align:right;color:#555}"
    "tr{background:rgba(230,80,20,calc(var(--heat,0)*.6))}h2 small{color:#777;font-weight:normal}"
    ".k,.kn,.kd,.kc{color:#8a2be2}.s,.s1,.s2,.sd{color:#2a7d2a}.c1,.c{color:#888}.nf,.nc{color:#1f5fbf}"
    ".mi,.mf{color:#b5520a}"
)
