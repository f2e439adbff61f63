"""The tracing-controls benchmark (issue 3): what each filter or extra costs, beside the peers.

    python benchmarks/controls.py --python PY [--reps 9] [--quick] [--experiments include,no_c]

Each experiment runs one workload under the untraced baseline, the plain pulsetrace trace, pulsetrace
with the option, and VizTracer with its equivalent option, in fresh processes with the repetitions
interleaved (matrix.py), and reports medians as ratios: to the baseline and to the plain trace.
The targets of issue 3 are checked against the same run. Nothing here asserts anything; results go
to stdout and to benchmarks/results/controls-py<version>-<time>.json.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import matrix
import summary
import target as targets
from resultfile import write_results
from run import build_floor, compile_pulsetrace, say


@dataclass(frozen=True)
class Experiment:
    name: str
    workload: str
    plain: str  # the unfiltered trace the option is compared with
    option: str  # pulsetrace with the option
    others: Tuple[str, ...]  # peers and other cores
    target: str  # the goal, in words
    limit: float
    against: str  # "baseline" or "plain": what the limit is a ratio to
    monitoring_only: bool = False
    measured_mode: str = ""  # the mode the goal is about, when it is not ``option``


EXPERIMENTS: Tuple[Experiment, ...] = (
    Experiment("include", "library_calls", "pulsetrace-c", "pt-c-include",
               ("pt-py-include", "pulsetrace-python", "viztracer", "viz-include", "floor-profile-noop"),
               "include_files: overhead well below the unfiltered trace's", 0.5, "plain-overhead"),
    Experiment("no_c", "mixed", "pulsetrace-c", "pt-c-no-c",
               ("pt-py-no-c", "viztracer", "viz-no-c", "cprofile", "floor-noop-py", "floor-record-py"),
               "ignore_c_function on mixed: at most 1.1x baseline (3.12+)", 1.1, "baseline",
               monitoring_only=True),
    Experiment("args", "quicksort", "pulsetrace-c", "pt-c-args", ("pt-py-args", "pulsetrace-python"),
               "log_args on quicksort: at most 3x the plain trace", 3.0, "plain"),
    Experiment("sparse", "fib_sparse", "pulsetrace-c", "pt-c-sparse", ("viz-sparse",),
               "trace_only (sparse) on fib: at most 1.05x baseline", 1.05, "baseline"),
    Experiment("lines", "fib", "pulsetrace-c", "pt-c-lines", ("pt-lines-only", "line-profiler", "heartrate"),
               "line statistics alone on fib: at most 3x line_profiler's time", 3.0, "line-profiler",
               measured_mode="pt-lines-only"),
    Experiment("lines_mixed", "mixed", "pulsetrace-c", "pt-c-lines",
               ("pt-lines-only", "line-profiler", "heartrate"),
               "line statistics alone on mixed: at most 3x line_profiler's time", 3.0, "line-profiler",
               measured_mode="pt-lines-only"),
)
BY_NAME = {e.name: e for e in EXPERIMENTS}


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter to benchmark (default: this)")
    parser.add_argument("--reps", type=int, help="fresh processes per cell (default 5; --quick: 2)")
    parser.add_argument("--quick", action="store_true", help="small sizes and 2 reps: a smoke test")
    parser.add_argument("--experiments", help=f"comma-separated subset of: {','.join(BY_NAME)}")
    parser.add_argument("--timeout", type=float, default=900, help="seconds before a child is killed")
    parser.add_argument("--seed", type=int, default=0, help="seed of the interleaving order")
    parser.add_argument("--output", help="results JSON (default: under benchmarks/results/)")
    return parser.parse_args(argv)


def evaluate(experiment: Experiment, row: Dict[str, Any]) -> Dict[str, Any]:
    """The goal's threshold, the measured figure and whether it is met."""

    def ratio(mode: str) -> Optional[float]:
        value = row.get(mode, {}).get("ratio")
        return float(value) if value is not None else None

    option, plain = ratio(experiment.measured_mode or experiment.option), ratio(experiment.plain)
    measured: Optional[float] = None
    if experiment.against in row:  # a peer: the time of the measured mode over the peer's
        peer = ratio(experiment.against)
        measured = option / peer if option is not None and peer else None
    elif experiment.against == "baseline":
        measured = option
    elif experiment.against == "plain" and option is not None and plain:
        measured = option / plain
    elif experiment.against == "plain-overhead" and option is not None and plain is not None and plain > 1:
        measured = (option - 1) / (plain - 1)  # share of the unfiltered overhead that remains
    met = None if measured is None else measured <= experiment.limit
    return {"goal": experiment.target, "limit": experiment.limit, "against": experiment.against,
            "measured": measured, "met": met}


def render(results: Dict[str, Any]) -> str:
    lines: List[str] = []
    for name, found in results["experiments"].items():
        row = found["overhead"]
        plain = row.get(found["plain"], {}).get("ratio")
        lines.append(f"\n## {name}: workload {found['workload']}")
        lines.append(f"{'mode':<24} {'median s':>9} {'x baseline':>11} {'x plain trace':>14}")
        for mode, cell in row.items():
            if "unavailable" in cell:
                lines.append(f"{mode:<24} unavailable: {cell['unavailable']}")
                continue
            vs_plain = f"{cell['ratio'] / plain:.2f}" if plain and cell.get("ratio") else "-"
            lines.append(f"{mode:<24} {cell['median_s']:>9.4f} {cell['ratio']:>11.2f} {vs_plain:>14}")
        goal = found["goal"]
        measured = "n/a" if goal["measured"] is None else f"{goal['measured']:.3f}"
        verdict = {True: "met", False: "MISSED", None: "n/a"}[goal["met"]]
        lines.append(
            f"goal: {goal['goal']} (limit {goal['limit']}, as {goal['against']}): {measured} {verdict}"
        )
    return "\n".join(lines)


def main(argv: List[str]) -> int:
    args = parse_args(argv)
    reps = args.reps or (2 if args.quick else 5)
    size = "quick" if args.quick else "full"
    target = targets.inspect(args.python)
    chosen = [BY_NAME[n] for n in args.experiments.split(",")] if args.experiments else list(EXPERIMENTS)
    say(f"tracing controls on Python {target.full_version} ({target.python}), {reps} reps, {size} sizes")
    compile_pulsetrace(target.python)
    uses_floor = any(m.startswith("floor-") for e in chosen for m in (e.plain, e.option, *e.others))
    floor_error = build_floor(target.python) if uses_floor else ""
    if floor_error:
        say(f"floor build failed: {floor_error}")
    results: Dict[str, Any] = {
        "python": target.full_version,
        "command": shlex.join([sys.executable, sys.argv[0], *argv]),
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_average": {"start": list(os.getloadavg())},
        "reps": reps,
        "size": size,
        "experiments": {},
    }
    for experiment in chosen:
        if experiment.monitoring_only and target.version < (3, 12):
            say(f"{experiment.name}: the target is for 3.12+; measured anyway")
        modes = ["baseline", experiment.plain, experiment.option, *experiment.others]
        unavailable = {m: r for m in modes if (r := matrix.probe(target, m, args.timeout))}
        for mode, reason in unavailable.items():
            say(f"  {mode}: unavailable: {reason}")
        measured = [m for m in modes if m not in unavailable]
        say(f"{experiment.name}: {len(measured)} modes x {reps} reps on {experiment.workload}")
        found = matrix.run_matrix(target, measured, [experiment.workload], size, reps, args.timeout,
                                  {m: 0 for m in measured}, args.seed)
        for mode, reason in unavailable.items():
            found.failures[(mode, experiment.workload)] = [reason]
        row = summary.overhead(found, modes, [experiment.workload])[experiment.workload]
        results["experiments"][experiment.name] = {
            "workload": experiment.workload,
            "plain": experiment.plain,
            "overhead": row,
            "recorded": summary.recorded(found, measured, [experiment.workload])[experiment.workload],
            "goal": evaluate(experiment, row),
        }
    results["load_average"]["end"] = list(os.getloadavg())
    print(render(results))
    write_results(results, f"controls-py{target.full_version}", args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
