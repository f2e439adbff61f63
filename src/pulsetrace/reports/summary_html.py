"""The summary table as a self-contained HTML fragment, for rich displays such as Jupyter's.

The same rows as the terminal summary (``reports.summary``: same ranking, same numbers), laid out
as an HTML table with a one-line header. The fragment needs no network and no JavaScript, and its
CSS is scoped under one class so it cannot restyle the page around it (a notebook, for one).
Every piece of text from the trace is escaped: function names such as ``<lambda>`` and
``<listcomp>``, and file names, are data, never markup.
"""

from __future__ import annotations

from html import escape
from typing import List, Mapping, Optional, Sequence

from ..events import FUNC_C
from .callstats import CallStats, FunctionStats
from .summary import DEFAULT_TOP, SUMMARY_HEADER, file_label, summary_headline, summary_row

CSS_CLASS = "pulsetrace-summary"

# Colours come from the page (currentColor) so light and dark notebook themes both read well.
_STYLE = f"""
.{CSS_CLASS} {{ font-family: system-ui, sans-serif; font-size: 13px; line-height: 1.4; margin: 4px 0; }}
.{CSS_CLASS} .pt-head {{ margin-bottom: 4px; }}
.{CSS_CLASS} table {{ border-collapse: collapse; }}
.{CSS_CLASS} th, .{CSS_CLASS} td {{ padding: 1px 8px; text-align: right; white-space: nowrap; }}
.{CSS_CLASS} th {{ border-bottom: 1px solid currentColor; font-weight: 600; }}
.{CSS_CLASS} th.pt-func, .{CSS_CLASS} td.pt-func {{ text-align: left; }}
.{CSS_CLASS} td {{ font-variant-numeric: tabular-nums; }}
.{CSS_CLASS} td.pt-func {{ font-family: ui-monospace, monospace; }}
.{CSS_CLASS} .pt-where, .{CSS_CLASS} .pt-note {{ opacity: 0.65; }}
.{CSS_CLASS} .pt-bar {{ display: inline-block; height: 0.6em; margin-right: 4px; vertical-align: middle;
  background: currentColor; opacity: 0.35; }}
"""


def summary_html(
    stats: CallStats,
    top: int = DEFAULT_TOP,
    *,
    threads: Optional[int] = None,
    saved: Optional[str] = None,
    notes: Sequence[str] = (),
    file_names: Optional[Mapping[str, str]] = None,
) -> str:
    """The functions with the most self time as an HTML fragment (a ``<div>`` with its own style).

    ``threads``: how many threads the statistics cover, shown in the header; ``saved``: where the
    trace was written, shown under the table; ``notes``: further lines of plain text shown there;
    ``file_names``: names of some files in the table (as for ``summary.function_label``).
    """
    ranked = stats.by_self_time()[: max(top, 0)]
    head = summary_headline(stats, len(ranked)) if ranked else "no calls were recorded"
    if threads is not None:
        head += f"; {threads:,} thread{'' if threads == 1 else 's'}"
    parts: List[str] = [f'<div class="{CSS_CLASS}">', f"<style>{_STYLE}</style>"]
    parts.append(f'<div class="pt-head"><b>pulsetrace</b>: {escape(head)}</div>')
    if ranked:
        parts.append(_table(stats, ranked, file_names))
    footer = [f"trace saved to <code>{escape(saved)}</code>"] if saved else []
    footer += [escape(note) for note in notes]
    parts.extend(f'<div class="pt-note">{line}</div>' for line in footer)
    parts.append("</div>")
    return "\n".join(parts)


def _table(stats: CallStats, ranked: Sequence[FunctionStats], file_names: Optional[Mapping[str, str]]) -> str:
    header = "".join(
        f'<th class="pt-func">{name}</th>' if name == "function" else f"<th>{escape(name)}</th>"
        for name in SUMMARY_HEADER
    )
    rows = [f"<table><thead><tr>{header}</tr></thead><tbody>"]
    for function in ranked:
        calls, own, percent, total, _label = summary_row(function, stats.wall_ns, file_names)
        cells = [
            f"<td>{escape(calls)}</td>",
            f"<td>{escape(own)}</td>",
            f"<td>{_bar(function.self_ns, stats.wall_ns)}{escape(percent)}</td>",
            f"<td>{escape(total)}</td>",
            f'<td class="pt-func">{_function_cell(function, file_names)}</td>',
        ]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _bar(part: int, whole: int) -> str:
    """A small bar for the self-time share; plain CSS, at most 40 pixels wide."""
    if whole <= 0 or part <= 0:
        return ""
    width = max(1, round(40 * min(part / whole, 1.0)))
    return f'<span class="pt-bar" style="width:{width}px"></span>'


def _function_cell(function: FunctionStats, file_names: Optional[Mapping[str, str]]) -> str:
    """The name, then where it is defined (file:line, with the full path as a tooltip)."""
    info = function.info
    name = f"<span>{escape(info.name)}</span>"
    if info.kind == FUNC_C or not info.filename:
        return name
    where = f"{file_label(info.filename, file_names)}:{info.lineno}"
    title = escape(info.filename, quote=True)
    return f'{name} <span class="pt-where" title="{title}">({escape(where)})</span>'


__all__ = ["CSS_CLASS", "summary_html"]
