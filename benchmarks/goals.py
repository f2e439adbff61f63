"""Check one run's figures against the targets of issue 2 ("Targets"), for the report.

Each goal states its threshold as computed from this same run (peers and floors move with the
machine), the measured figure, and whether it is met. Missing data reads "n/a", not "missed".
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

Goal = Dict[str, Any]
SPEEDUP_WORKLOADS = ("fib", "hanoi", "quicksort")


def _ratio(report: Dict[str, Any], workload: str, mode: str) -> Optional[float]:
    cell = report["overhead"].get(workload, {}).get(mode, {})
    value = cell.get("ratio")
    return float(value) if value is not None else None


def _goal(name: str, threshold: Optional[float], measured: Optional[float], below: bool, unit: str) -> Goal:
    met = None
    if threshold is not None and measured is not None:
        met = measured <= threshold if below else measured >= threshold
    return {"goal": name, "threshold": threshold, "measured": measured, "met": met,
            "unit": unit, "direction": "<=" if below else ">="}


def overhead_goals(report: Dict[str, Any], monitoring: bool) -> List[Goal]:
    goals: List[Goal] = []
    workloads = list(report["overhead"])
    if monitoring:
        for workload in SPEEDUP_WORKLOADS:
            viz = _ratio(report, workload, "viztracer")
            limit = 1 + 0.5 * (viz - 1) if viz is not None else None
            goals.append(_goal(f"{workload}: C core ratio <= 1 + (VizTracer's - 1) / 2", limit,
                               _ratio(report, workload, "pulsetrace-c"), True, "x"))
        goals.append(_goal("mixed: C core <= 1.4x untraced", 1.4, _ratio(report, "mixed", "pulsetrace-c"),
                           True, "x"))
    else:
        for workload in workloads:
            floor = _ratio(report, workload, "floor-profile-record")
            goals.append(_goal(f"{workload}: C core <= 1.1x the record-writing SetProfile floor",
                               1.1 * floor if floor is not None else None,
                               _ratio(report, workload, "pulsetrace-c"), True, "x"))
    return goals


def _worst(rows: List[Dict[str, Any]], fmt: str, key: str, lowest: bool) -> Optional[float]:
    values = [r[key] for r in rows if r["mode"] == "pulsetrace-c" and r["format"] == fmt and r.get(key)]
    if not values:
        return None
    return float(min(values) if lowest else max(values))


def output_goals(report: Dict[str, Any]) -> List[Goal]:
    saves = report["saves"]
    cells = [row.get("pulsetrace-c") or {} for row in report["recorded"].values()]
    memory = [cell["rss_bytes_per_call"] for cell in cells if cell.get("rss_bytes_per_call") is not None]
    cli = report.get("cli", {})
    pulse, viz = cli.get("pulsetrace-json", {}), cli.get("viztracer", {})
    ratio = pulse["median_s"] / viz["median_s"] if pulse.get("median_s") and viz.get("median_s") else None
    mega = 1e6
    native_rate = _worst(saves, ".pulse", "events_per_s", True)
    json_rate = _worst(saves, ".json", "events_per_s", True)
    return [
        _goal("native save (slowest workload)", 20, native_rate and native_rate / mega, False, "M events/s"),
        _goal("native file size (largest per event)", 12, _worst(saves, ".pulse", "bytes_per_event", False),
              True, "B/event"),
        _goal("JSON export (slowest workload)", 4, json_rate and json_rate / mega, False, "M events/s"),
        _goal("recording memory (worst workload)", 32, max(memory, default=None), True, "B/call"),
        _goal("CLI run -o x.json wall time vs viztracer -o x.json", 0.15, ratio, True, "x"),
        _goal("CLI run -o x.json peak RSS per recorded call", 64, pulse.get("rss_bytes_per_call"), True,
              "B/call"),
    ]


def check(report: Dict[str, Any]) -> List[Goal]:
    """Every target of issue 2 that this run can speak to."""
    monitoring = tuple(int(p) for p in report["python"].split(".")[:2]) >= (3, 12)
    return overhead_goals(report, monitoring) + output_goals(report)
