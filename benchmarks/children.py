"""Tracing a family of processes: whole CLI runs of a program that forks, spawns and starts subprocesses.

Runs ``workloads/family.py`` (a fork pool of two workers, one spawned process, four Python
subprocesses, each doing real work) untraced, under ``pulsetrace run`` from this checkout's source
tree (children traced, the default, into .pulse and into .json; and ``--no-trace-children``) and
under ``viztracer`` (children traced, its default; and ``--ignore_multiprocess``). Every run is a
fresh process tree, repetitions are interleaved in a shuffled order, and the figures are medians.
From each tool's output of the first repetition it counts the processes and the calls (complete
slices) recorded, so that the tools are compared on what they actually kept. A measurement, not a
test: nothing is asserted.

    python benchmarks/children.py --python "$(pyenv prefix 3.12)/bin/python" --reps 7
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import proc
from target import SOURCE_TREE, child_env, inspect

PROGRAM = Path(__file__).resolve().parent / "workloads" / "family.py"


def commands(python: str, out_dir: str, size: int) -> Dict[str, Tuple[List[str], Optional[str]]]:
    """Tool name -> (command line, output file or None)."""
    program = [str(PROGRAM), str(size)]
    pulsetrace = [python, "-m", "pulsetrace", "run", "-q"]
    viztracer = [python, "-m", "viztracer", "--quiet"]
    runs = {
        "pulsetrace .pulse": (pulsetrace, "family.pulse"),
        "pulsetrace .json": (pulsetrace, "family.json"),
        "pulsetrace --no-trace-children": ([*pulsetrace, "--no-trace-children"], "parent-only.pulse"),
        "viztracer": (viztracer, "viztracer.json"),
        "viztracer --ignore_multiprocess": ([*viztracer, "--ignore_multiprocess"], "viztracer-main.json"),
    }
    table: Dict[str, Tuple[List[str], Optional[str]]] = {"python (untraced)": ([python, *program], None)}
    for tool, (tool_command, name) in runs.items():
        output = f"{out_dir}/{name}"
        table[tool] = ([*tool_command, "-o", output, *program], output)
    return table


def recorded(path: str) -> Tuple[int, int]:
    """(processes, calls) in a trace file: native files through pulsetrace's reader, JSON by its
    complete ("X") events and the pids that have any."""
    if path.endswith(".pulse"):
        sys.path.insert(0, str(SOURCE_TREE))
        from pulsetrace.model.native import read_trace

        trace = read_trace(path)
        return len(trace.processes), trace.call_count
    with open(path, encoding="utf-8") as file:
        data = json.load(file)
    events = data["traceEvents"] if isinstance(data, dict) else data
    complete = [event for event in events if event.get("ph") == "X"]
    return len({event["pid"] for event in complete}), len(complete)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--python", default=sys.executable, help="the interpreter to measure")
    parser.add_argument("--reps", type=int, default=5, help="fresh runs per tool (default 5)")
    parser.add_argument("--size", type=int, default=20, help="fib(N) in every process (default 20)")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    target = inspect(args.python)
    target.env = child_env(SOURCE_TREE)  # this checkout's pulsetrace, even where another is installed
    seconds: Dict[str, List[float]] = {}
    kept: Dict[str, Tuple[int, int]] = {}
    failed: Dict[str, str] = {}
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="pulsetrace-bench-children-") as out_dir:
        table = commands(target.python, out_dir, args.size)
        for rep in range(args.reps):
            order = list(table)
            rng.shuffle(order)
            for tool in order:
                if tool in failed:
                    continue
                command, output = table[tool]
                finished = proc.run(command, target.env, args.timeout, cwd=out_dir)
                failure = finished.failure()
                if failure is not None:
                    failed[tool] = failure
                    continue
                seconds.setdefault(tool, []).append(finished.seconds)
                if output is not None and tool not in kept:
                    kept[tool] = recorded(output)
                print(f"  rep {rep + 1}/{args.reps} {tool:<32} {finished.seconds:.3f}s", file=sys.stderr)
    print(f"Python {target.full_version}, pulsetrace from {SOURCE_TREE}, "
          f"viztracer {target.viztracer.get('version', target.viztracer.get('error'))}; "
          f"family.py {args.size}, median of {args.reps} runs")  # fmt: skip
    print()
    print("| tool | wall time | vs untraced | processes recorded | calls recorded |")
    print("| --- | ---: | ---: | ---: | ---: |")
    base = statistics.median(seconds["python (untraced)"]) if "python (untraced)" in seconds else None
    for tool in table:
        if tool in failed:
            print(f"| {tool} | failed: {failed[tool]} | | | |")
            continue
        median = statistics.median(seconds[tool])
        ratio = f"{median / base:.2f}x" if base else "-"
        processes, calls = kept.get(tool, (0, 0))
        shown = (f"{processes}", f"{calls:,}") if tool in kept else ("-", "-")
        print(f"| {tool} | {median:.3f} s | {ratio} | {shown[0]} | {shown[1]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
