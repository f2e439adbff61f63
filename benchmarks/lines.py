"""The line statistics benchmark (issue 6): pulsetrace ``--lines`` beside line_profiler and heartrate.

    python benchmarks/lines.py --python PY [--reps 5] [--quick] [--workloads line_loop,fib,mixed]

Every workload runs untraced (baseline), under ``Tracer(lines=True)`` (what ``pulsetrace run --lines``
records: the call timeline with the C core plus line statistics, without the CLI's start-up and save),
under the line collector alone (``LineCollector()``: the C collector), under the Python line collector
alone, under line_profiler with every function of the workload added (what ``kernprof -l`` gives with
@profile on each) and under heartrate (``heartrate.trace(browser=False, ...)`` on the workload files).
Fresh processes, repetitions interleaved (matrix.py); medians. Reported per mode: seconds, x baseline,
and the overhead as a share of line_profiler's, (mode - baseline) / (line_profiler - baseline).

The goals of issue 6 are checked against the same run: on 3.12+, the line-heavy loop at most 2.5x
baseline and every workload's overhead at most 0.25x line_profiler's; before 3.12, at most 0.5x.
Nothing here asserts anything; results go to stdout and benchmarks/results/lines-py<version>-<time>.json.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

import matrix
import summary
import target as targets
from resultfile import write_results
from run import compile_pulsetrace, say

WORKLOADS = ("line_loop", "fib", "mixed")
LINE_HEAVY = "line_loop"
MODES = ("baseline", "pt-c-lines", "pt-lines-only", "pt-py-lines-only", "line-profiler", "heartrate")
# The modes the goals are about: pulsetrace --lines as run, and its line collector alone.
MEASURED = ("pt-c-lines", "pt-lines-only")


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter to benchmark (default: this)")
    parser.add_argument("--reps", type=int, help="fresh processes per cell (default 5; --quick: 2)")
    parser.add_argument("--quick", action="store_true", help="small sizes and 2 reps: a smoke test")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated workloads")
    parser.add_argument("--timeout", type=float, default=900, help="seconds before a child is killed")
    parser.add_argument("--seed", type=int, default=0, help="seed of the interleaving order")
    parser.add_argument("--output", help="results JSON (default: under benchmarks/results/)")
    return parser.parse_args(argv)


def share_of_line_profiler(row: Dict[str, Any], mode: str) -> Optional[float]:
    """(mode - baseline) / (line_profiler - baseline), from the ratios to the baseline."""
    ours, theirs = row.get(mode, {}).get("ratio"), row.get("line-profiler", {}).get("ratio")
    if ours is None or theirs is None or theirs <= 1:
        return None
    return float((ours - 1) / (theirs - 1))


def goals(version: Tuple[int, int], table: Dict[str, Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Each goal of issue 6 for each measured mode: the figure and whether it is met."""
    found: List[Dict[str, Any]] = []
    share_limit = 0.25 if version >= (3, 12) else 0.5
    for mode in MEASURED:
        if version >= (3, 12) and LINE_HEAVY in table:
            ratio = table[LINE_HEAVY].get(mode, {}).get("ratio")
            found.append(_goal(f"{mode} on {LINE_HEAVY}: at most 2.5x baseline", 2.5, ratio))
        for workload, row in table.items():
            share = share_of_line_profiler(row, mode)
            found.append(_goal(f"{mode} on {workload}: overhead at most {share_limit}x line_profiler's",
                               share_limit, share))
    return found


def _goal(text: str, limit: float, measured: Optional[float]) -> Dict[str, Any]:
    return {"goal": text, "limit": limit, "measured": measured,
            "met": None if measured is None else measured <= limit}


def render(results: Dict[str, Any]) -> str:
    lines: List[str] = []
    for workload, row in results["overhead"].items():
        lines.append(f"\n## {workload}")
        lines.append(f"{'mode':<18} {'median s':>9} {'x baseline':>11} {'overhead / lp':>14}")
        for mode, cell in row.items():
            if "unavailable" in cell:
                lines.append(f"{mode:<18} unavailable: {cell['unavailable']}")
                continue
            share = share_of_line_profiler(row, mode)
            shown = "-" if share is None or mode in ("baseline", "line-profiler") else f"{share:.3f}"
            lines.append(f"{mode:<18} {cell['median_s']:>9.4f} {cell['ratio']:>11.2f} {shown:>14}")
    lines.append("")
    for goal in results["goals"]:
        measured = "n/a" if goal["measured"] is None else f"{goal['measured']:.3f}"
        verdict = {True: "met", False: "MISSED", None: "n/a"}[goal["met"]]
        lines.append(f"goal: {goal['goal']}: {measured} {verdict}")
    return "\n".join(lines)


def main(argv: List[str]) -> int:
    args = parse_args(argv)
    reps = args.reps or (2 if args.quick else 5)
    size = "quick" if args.quick else "full"
    workloads = [w for w in args.workloads.split(",") if w]
    target = targets.inspect(args.python)
    say(f"line statistics on Python {target.full_version} ({target.python}), {reps} reps, {size} sizes")
    compile_pulsetrace(target.python)
    unavailable = {m: r for m in MODES if (r := matrix.probe(target, m, args.timeout))}
    for mode, reason in unavailable.items():
        say(f"  {mode}: unavailable: {reason}")
    measured = [m for m in MODES if m not in unavailable]
    results: Dict[str, Any] = {
        "python": target.full_version,
        "command": shlex.join([sys.executable, sys.argv[0], *argv]),
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_average": {"start": list(os.getloadavg())},
        "reps": reps,
        "size": size,
    }
    found = matrix.run_matrix(target, measured, workloads, size, reps, args.timeout, {m: 0 for m in measured},
                              args.seed)
    for mode, reason in unavailable.items():
        for workload in workloads:
            found.failures[(mode, workload)] = [reason]
    results["overhead"] = summary.overhead(found, MODES, workloads)
    results["recorded"] = summary.recorded(found, measured, workloads)
    results["goals"] = goals(target.version, results["overhead"])
    results["load_average"]["end"] = list(os.getloadavg())
    print(render(results))
    write_results(results, f"lines-py{target.full_version}", args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
