"""Render the summary as plain-text tables for the terminal (and for pasting into RESULTS.md)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import modes as mode_specs


def grid(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned first column, right-aligned others; a row of one cell spans the table."""
    widths = [len(h) for h in header]
    for row in rows:
        if len(row) == len(header):
            widths = [max(w, len(cell)) for w, cell in zip(widths, row)]

    def line(cells: Sequence[str]) -> str:
        if len(cells) != len(header):
            return cells[0].ljust(widths[0]) + "  " + "  ".join(cells[1:])
        first = cells[0].ljust(widths[0])
        return "  ".join([first, *(cell.rjust(w) for cell, w in zip(cells[1:], widths[1:]))]).rstrip()

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def _num(value: Optional[float], fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _label(mode: str) -> str:
    spec = mode_specs.BY_NAME.get(mode)
    return spec.label if spec else mode


def _ratio_cell(mode: str, cell: Dict[str, Any], cpu: bool, notes: List[str]) -> str:
    """One overhead cell; unavailability and failed runs become numbered notes below the table."""
    if "unavailable" in cell:
        notes.append(f"[{len(notes) + 1}] {mode}: {cell['unavailable']}")
        return f"unavailable[{len(notes)}]"
    if mode == "baseline":
        text = _num(cell["cpu_median_s" if cpu else "median_s"], ".3f") + " s"
    else:
        text = _num(cell["cpu_ratio" if cpu else "ratio"], ".2f") + "x"
    if cell.get("failed_runs"):
        runs = cell["failed_runs"] + cell["n"]
        reasons = "; ".join(cell["failures"])
        notes.append(f"[{len(notes) + 1}] {mode}: {cell['failed_runs']} of {runs} runs failed: {reasons}")
        text += f"[{len(notes)}]"
    return text


def overhead_table(
    table: Dict[str, Any], modes: Sequence[str], workloads: Sequence[str], cpu: bool = False
) -> str:
    """Rows are tools, columns workloads; cells are ratios (``cpu``: of process CPU time)."""
    rows: List[List[str]] = []
    notes: List[str] = []
    for mode in modes:
        cells = [table[w][mode] for w in workloads]
        reasons = {c.get("unavailable") for c in cells}
        if len(reasons) == 1 and None not in reasons:
            rows.append([_label(mode), f"unavailable: {reasons.pop()}"])
            continue
        rows.append([_label(mode), *(_ratio_cell(mode, cell, cpu, notes) for cell in cells)])
    return "\n".join([grid(["tool", *workloads], rows), *notes])


def saves_table(rows: List[Dict[str, Any]]) -> str:
    header = ["workload / tool / format", "events", "calls", "save s"]
    header += ["Mevents/s", "Mcalls/s", "B/event", "B/call"]
    lines: List[List[str]] = []
    for row in rows:
        name = f"{row['workload']} / {_label(row['mode'])} / {row['format']}"
        if "unavailable" in row:
            lines.append([name, f"unavailable: {row['unavailable']}"])
            continue
        lines.append([
            name, str(row["events"]), str(row["calls"]), _num(row["seconds"], ".3f"),
            _num(row["events_per_s"] and row["events_per_s"] / 1e6, ".2f"),
            _num(row["calls_per_s"] and row["calls_per_s"] / 1e6, ".2f"),
            _num(row["bytes_per_event"], ".1f"), _num(row["bytes_per_call"], ".1f"),
        ])
    return grid(header, lines) if lines else "(no tool saved a trace)"


def memory_table(table: Dict[str, Any], modes: Sequence[str], workloads: Sequence[str]) -> str:
    rows: List[List[str]] = []
    for mode in modes:
        cells = [table[w].get(mode) for w in workloads]
        if not any(cells):
            continue
        rows.append([_label(mode), *(_num(c and c["rss_bytes_per_call"], ".1f") for c in cells)])
    return grid(["tool (peak RSS B/call)", *workloads], rows)


def calls_table(table: Dict[str, Any], modes: Sequence[str], workloads: Sequence[str]) -> str:
    """Calls each tool recorded: tools that record every call should agree."""
    rows: List[List[str]] = []
    for mode in modes:
        cells = [table[w].get(mode) for w in workloads]
        if any(cells):
            rows.append([_label(mode), *(str(c["calls"]) if c else "-" for c in cells)])
    return grid(["tool (calls recorded)", *workloads], rows)


def goals_table(goals: List[Dict[str, Any]]) -> str:
    rows: List[List[str]] = []
    for goal in goals:
        verdict = {True: "met", False: "MISSED", None: "n/a"}[goal["met"]]
        threshold = f"{goal['direction']} {_num(goal['threshold'], '.2f')} {goal['unit']}"
        rows.append([goal["goal"], threshold, _num(goal["measured"], ".2f"), verdict])
    return grid(["target (issue 2)", "threshold", "measured", ""], rows)


def cli_table(table: Dict[str, Any]) -> str:
    header = ["command", "wall s", "cpu s", "x python", "x viztracer", "peak RSS MB", "calls", "RSS B/call"]
    header.append("file MB")
    rows: List[List[str]] = []
    for tool, cell in table.items():
        if "unavailable" in cell:
            rows.append([tool, f"unavailable: {cell['unavailable']}"])
            continue
        rows.append([
            tool, _num(cell["median_s"], ".3f"), _num(cell["cpu_median_s"], ".3f"),
            _num(cell["ratio_to_python"], ".2f"),
            _num(cell["ratio_to_viztracer"], ".3f"), _num(cell["max_rss"] and cell["max_rss"] / 2**20, ".1f"),
            str(cell["calls"] or "-"), _num(cell["rss_bytes_per_call"], ".1f"),
            _num(cell["bytes"] and cell["bytes"] / 1e6, ".1f"),
        ])
    return grid(header, rows)
