"""The benchmark: ``python benchmarks/run.py --python PATH [--reps N] [--quick]``.

One invocation measures, for each workload, the untraced baseline, pulsetrace (C and Python cores),
cProfile, VizTracer and the reference floors, each repetition in a fresh process; then the
end-to-end CLI runs. It prints the tables and writes everything to benchmarks/results/*.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

import e2e
import goals
import matrix
import modes
import proc
import summary
import tables
import target as targets
import workloads
from resultfile import write_results

HERE = Path(__file__).resolve().parent
PEERS_THAT_SAVE = ("viztracer",)  # slow savers: their save is measured in fewer reps
CLI_TOOLS = ("python", "pulsetrace-json", "pulsetrace-pulse", "viztracer")


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter to benchmark (default: this)")
    parser.add_argument("--reps", type=int, help="fresh processes per cell (default 5; --quick: 2)")
    parser.add_argument("--quick", action="store_true", help="small sizes and 2 reps: a smoke test")
    parser.add_argument("--workloads", help=f"comma-separated subset of: {','.join(workloads.NAMES)}")
    parser.add_argument("--tools", help="comma-separated modes (default: all that apply to the interpreter): "
                        + ",".join(spec.name for spec in modes.MODES))
    parser.add_argument("--peer-save-reps", type=int, default=1,
                        help="reps in which VizTracer also saves (its save takes seconds; default 1)")
    parser.add_argument("--cli-reps", type=int, help="reps of the end-to-end CLI runs (default: --reps)")
    parser.add_argument("--no-cli", action="store_true", help="skip the end-to-end CLI runs")
    parser.add_argument("--timeout", type=float, default=900, help="seconds before a child is killed")
    parser.add_argument("--seed", type=int, default=0, help="seed of the interleaving order")
    parser.add_argument("--output", help="results JSON (default: benchmarks/results/<python>-<time>.json)")
    parser.add_argument("--render", metavar="JSON", help="only print the tables of an earlier results file")
    return parser.parse_args(argv)


def chosen_modes(args: argparse.Namespace, version: Tuple[int, int]) -> List[str]:
    if args.tools:
        names = [name.strip() for name in args.tools.split(",") if name.strip()]
        unknown = [name for name in names if name not in modes.BY_NAME]
        if unknown:
            sys.exit(f"unknown tools: {', '.join(unknown)}")
        names = [name for name in names if modes.BY_NAME[name].applies(version)]
    else:
        names = [spec.name for spec in modes.MODES if spec.default_for(version)]
    return ["baseline", *(name for name in names if name != "baseline")]  # every ratio needs it


def build_floor(python: str) -> str:
    """Build the floor extension for the target interpreter; '' on success, else why not."""
    done = subprocess.run([python, str(HERE / "floor" / "build.py")], capture_output=True, text=True)
    return "" if done.returncode == 0 else (done.stderr or done.stdout).strip()


def compile_pulsetrace(python: str) -> None:
    """Byte-compile pulsetrace's sources, as an install does for every peer.

    With PYTHONDONTWRITEBYTECODE set (or a read-only tree) a source-tree pulsetrace would otherwise
    recompile its modules in every fresh process, a start-up cost no installed tool pays.
    """
    source = HERE.parent / "src" / "pulsetrace"
    done = subprocess.run([python, "-m", "compileall", "-q", str(source)], capture_output=True, text=True)
    if done.returncode != 0:
        say(f"could not byte-compile {source}: {(done.stderr or done.stdout).strip()}")


def main(argv: List[str]) -> int:
    args = parse_args(argv)
    if args.render:
        report = json.loads(Path(args.render).read_text())
        names = list(report["overhead"])
        print(render(report, list(report["overhead"][names[0]]), names))
        return 0
    reps = args.reps or (2 if args.quick else 5)
    size = "quick" if args.quick else "full"
    names = args.workloads.split(",") if args.workloads else list(workloads.NAMES)
    for name in names:
        workloads.load(name)  # fail early on a typo
    target = targets.inspect(args.python)
    run_modes = chosen_modes(args, target.version)
    say(f"benchmarking Python {target.full_version} ({target.python})")
    say(f"pulsetrace from {target.pulsetrace_source}: {target.pulsetrace}")

    load_at_start = list(os.getloadavg())
    compile_pulsetrace(target.python)
    say("probing tools ...")
    floor_error = build_floor(target.python) if any(m.startswith("floor-") for m in run_modes) else ""
    unavailable: Dict[str, str] = {}
    for mode in run_modes:
        reason = f"floor build failed: {floor_error}" if floor_error and mode.startswith("floor-") else None
        reason = reason or matrix.probe(target, mode, args.timeout)
        if reason:
            unavailable[mode] = reason
            say(f"  {mode}: unavailable: {reason}")
    measured = [mode for mode in run_modes if mode not in unavailable]
    say(f"running {len(measured)} tools x {len(names)} workloads x {reps} reps ({size} sizes)")
    no_save_after = {mode: args.peer_save_reps for mode in PEERS_THAT_SAVE}
    result = matrix.run_matrix(target, measured, names, size, reps, args.timeout, no_save_after, args.seed)
    for mode, reason in unavailable.items():
        for name in names:
            result.failures[(mode, name)] = [reason]

    cli_found: Dict[str, Any] = {}
    if not args.no_cli:
        say("end-to-end CLI runs ...")
        cli_found = e2e.run_cli(target, CLI_TOOLS, size, args.cli_reps or reps, args.timeout, args.seed + 1)

    report = {
        "python": target.full_version,
        "interpreter": target.python,
        "machine": platform.platform(),
        "command": shlex.join([sys.executable, sys.argv[0], *argv]),
        "load_average": {"start": load_at_start, "end": list(os.getloadavg())},
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "reps": reps,
        "peak_rss_method": proc.RSS_METHOD,
        "size": size,
        "pulsetrace": {"source": target.pulsetrace_source, **target.pulsetrace},
        "viztracer": target.viztracer,
        "workload_sizes": {name: workloads.load(name).SIZES[size] for name in names},
        "overhead": summary.overhead(result, run_modes, names),
        "recorded": summary.recorded(result, run_modes, names),
        "saves": summary.saves(result, run_modes, names),
        "cli": summary.cli(cli_found) if cli_found else {},
    }
    print(render(report, run_modes, names))
    write_results(report, f"py{target.full_version}", args.output)
    return 0


def say(text: str) -> None:
    print(text, file=sys.stderr)


def render(report: Dict[str, Any], run_modes: List[str], names: List[str]) -> str:
    reps = report["reps"]
    parts = [
        f"Python {report['python']}  |  {reps} fresh processes per cell, medians  |  {report['size']} sizes",
        f"pulsetrace: {report['pulsetrace'].get('source')}",
        "",
        "Overhead of the traced section (traced time / untraced time; baseline row in seconds)",
        tables.overhead_table(report["overhead"], run_modes, names),
        "",
        "The same with process CPU time (less sensitive to other processes taking the CPU)",
        tables.overhead_table(report["overhead"], run_modes, names, cpu=True),
        "",
        "Saving (events = the tool's own count: pulsetrace Trace.event_count, VizTracer X events;"
        " calls = entry/exit pairs)",
        tables.saves_table(report["saves"]),
        "",
        "Recording memory: (peak RSS growth over the traced section - untraced growth) / calls",
        tables.memory_table(report["recorded"], run_modes, names),
        "",
        "Calls recorded (entry/exit pairs; floors: records / 2)",
        tables.calls_table(report["recorded"], run_modes, names),
    ]
    if report["cli"]:
        parts += [
            "",
            "End to end: `python -m pulsetrace run -o x.json fib_quicksort.py` vs"
            " `python -m viztracer -o x.json fib_quicksort.py`",
            tables.cli_table(report["cli"]),
        ]
    title = "Targets, with thresholds from this run's peers"
    if report["size"] != "full":
        title += " (quick sizes: indicative only; fixed costs dominate)"
    parts += ["", title, tables.goals_table(goals.check(report))]
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
