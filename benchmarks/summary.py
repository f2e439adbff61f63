"""Turn raw samples into the reported figures (pure functions; no I/O).

Overhead ratio: median traced-section time over the baseline's median (wall time; the same with
process CPU time as a check on a busy machine). Save rate: events (and
calls) over the median save time. Recording memory per call: the median growth of peak RSS across
the traced section, minus the untraced baseline's growth over the same section of the same
workload, divided by the calls recorded. CLI: median wall time and peak RSS per tool.
"""

from __future__ import annotations

from statistics import median
from typing import Any, Dict, List, Optional, Sequence

from matrix import MatrixResult


def _median(values: Sequence[float]) -> Optional[float]:
    return median(values) if values else None


def _ratio(top: Optional[float], bottom: Optional[float]) -> Optional[float]:
    return top / bottom if top is not None and bottom else None


def _first(samples: List[Dict[str, Any]], key: str) -> Optional[int]:
    values = [sample[key] for sample in samples if key in sample]
    return int(median(values)) if values else None


def _growth(samples: List[Dict[str, Any]]) -> Optional[float]:
    return _median([s["rss_after_stop"] - s["rss_before"] for s in samples])


def overhead(matrix: MatrixResult, modes: Sequence[str], workloads: Sequence[str]) -> Dict[str, Any]:
    table: Dict[str, Any] = {}
    for workload in workloads:
        row: Dict[str, Any] = {}
        base_samples = matrix.samples.get(("baseline", workload), [])
        baseline = _median([s["seconds"] for s in base_samples])
        base_cpu = _median([s["cpu_seconds"] for s in base_samples])
        for mode in modes:
            cell = (mode, workload)
            samples = matrix.samples.get(cell, [])
            failures = matrix.failures.get(cell, [])
            if not samples:
                row[mode] = {"unavailable": failures[0] if failures else "not run"}
                continue
            times = [s["seconds"] for s in samples]
            cpu = _median([s["cpu_seconds"] for s in samples])
            row[mode] = {
                "median_s": _median(times),
                "min_s": min(times, default=None),
                "max_s": max(times, default=None),
                "n": len(times),
                "ratio": _ratio(_median(times), baseline),
                "cpu_median_s": cpu,
                "cpu_ratio": _ratio(cpu, base_cpu),
                "preempted_median": _median([s["preempted"] for s in samples]),
                "failed_runs": len(failures),
                "failures": sorted(set(failures)),
                "samples_s": times,
            }
        table[workload] = row
    return table


def recorded(matrix: MatrixResult, modes: Sequence[str], workloads: Sequence[str]) -> Dict[str, Any]:
    """Events and calls each tool recorded, and recording memory per call."""
    table: Dict[str, Any] = {}
    for workload in workloads:
        base_growth = _growth(matrix.samples.get(("baseline", workload), []))
        row: Dict[str, Any] = {}
        for mode in modes:
            samples = matrix.samples.get((mode, workload), [])
            calls = _first(samples, "calls")
            if calls is None:
                continue
            growth = _growth(samples)
            extra = growth - base_growth if growth is not None and base_growth is not None else None
            row[mode] = {
                "events": _first(samples, "events"),
                "calls": calls,
                "rss_growth_bytes": growth,
                "baseline_rss_growth_bytes": base_growth,
                "rss_bytes_per_call": _ratio(extra, calls),
                "viztracer_overflow": any(s.get("overflow") for s in samples) or None,
            }
        table[workload] = row
    return table


def saves(matrix: MatrixResult, modes: Sequence[str], workloads: Sequence[str]) -> List[Dict[str, Any]]:
    rows: List[Dict[str, Any]] = []
    for workload in workloads:
        for mode in modes:
            samples = matrix.samples.get((mode, workload), [])
            saved = {ext for s in samples for ext in s.get("saves", {})}
            formats = [ext for ext in (".pulse", ".json") if ext in saved]
            for ext in formats:
                done = [s["saves"][ext] for s in samples if ext in s.get("saves", {})]
                row: Dict[str, Any] = {"workload": workload, "mode": mode, "format": ext}
                errors = [d["error"] for d in done if "error" in d]
                good = [d for d in done if "error" not in d]
                if not good:
                    row["unavailable"] = errors[0] if errors else "not saved"
                    rows.append(row)
                    continue
                events = _first(samples, "events") or 0
                calls = _first(samples, "calls") or 0
                seconds = median(d["seconds"] for d in good)
                size = median(d["bytes"] for d in good)
                row.update(
                    n=len(good), seconds=seconds, bytes=size, events=events, calls=calls,
                    events_per_s=_ratio(events, seconds), calls_per_s=_ratio(calls, seconds),
                    bytes_per_event=_ratio(size, events), bytes_per_call=_ratio(size, calls),
                )
                rows.append(row)
    return rows


def cli(found: Dict[str, Any]) -> Dict[str, Any]:
    plain = found.get("python", {})
    plain_s = _median(plain.get("seconds", []))
    plain_rss = _median(plain.get("max_rss", []))
    viz_s = _median(found.get("viztracer", {}).get("seconds", []))
    pulse_calls = found.get("pulsetrace-json", {}).get("calls")
    table: Dict[str, Any] = {}
    for tool, entry in found.items():
        if "error" in entry:
            table[tool] = {"unavailable": entry["error"]}
            continue
        seconds = _median(entry["seconds"])
        rss = _median(entry["max_rss"])
        calls = entry.get("calls", pulse_calls if tool.startswith("pulsetrace") else None)
        extra = rss - plain_rss if rss is not None and plain_rss is not None and tool != "python" else None
        table[tool] = {
            "median_s": seconds,
            "cpu_median_s": _median(entry["cpu_seconds"]),
            "n": len(entry["seconds"]),
            "ratio_to_python": _ratio(seconds, plain_s),
            "ratio_to_viztracer": _ratio(seconds, viz_s),
            "max_rss": rss,
            "calls": calls,
            "rss_bytes_per_call": _ratio(extra, calls),
            "bytes": entry.get("bytes"),
            "overflow": entry.get("overflow"),
            "samples_s": entry["seconds"],
        }
    return table
