"""End-to-end CLI runs: whole-process wall time and peak RSS of tracing a program from the shell.

Runs ``python prog.py`` (the untraced reference), ``python -m pulsetrace run -o x.json prog.py`` (and
``-o x.pulse``) and ``python -m viztracer -o x.json prog.py`` on the fib+quicksort program, fresh
process each, repetitions interleaved. Calls recorded are counted from the JSON each tool wrote, once
per tool, so "bytes of peak RSS per recorded call" does not trust any tool's own count.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import proc
from target import Target

PROGRAM = Path(__file__).resolve().parent / "workloads" / "fib_quicksort.py"
PROGRAM_ARGS = {"full": [], "quick": ["20", "2000"]}  # full: the program's defaults


def commands(python: str, out_dir: str, size: str) -> Dict[str, Tuple[List[str], Optional[str]]]:
    """Tool name -> (command line, output file or None)."""
    pulse_json = f"{out_dir}/pulsetrace.json"
    pulse_native = f"{out_dir}/pulsetrace.pulse"
    viz_json = f"{out_dir}/viztracer.json"
    program = [str(PROGRAM), *PROGRAM_ARGS[size]]
    return {
        "python": ([python, *program], None),
        "pulsetrace-json": ([python, "-m", "pulsetrace", "run", "-o", pulse_json, *program], pulse_json),
        "pulsetrace-pulse": ([python, "-m", "pulsetrace", "run", "-o", pulse_native, *program], pulse_native),
        "viztracer": ([python, "-m", "viztracer", "-o", viz_json, *program], viz_json),
    }


def count_complete_events(path: str) -> Tuple[int, bool]:
    """Chrome "X" events in a trace JSON file, and whether VizTracer says its buffer overflowed."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    events = data["traceEvents"] if isinstance(data, dict) else data
    overflow = bool(data.get("viztracer_metadata", {}).get("overflow")) if isinstance(data, dict) else False
    return sum(1 for event in events if event.get("ph") == "X"), overflow


def run_cli(
    target: Target, tools: Sequence[str], size: str, reps: int, timeout: float, seed: int = 1
) -> Dict[str, Any]:
    """Per tool: wall seconds and peak RSS samples, calls recorded, output size, or the failure."""
    found: Dict[str, Dict[str, Any]] = {
        tool: {"seconds": [], "cpu_seconds": [], "max_rss": []} for tool in tools
    }
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="pulsetrace-bench-cli-") as out_dir:
        table = commands(target.python, out_dir, size)
        for rep in range(reps):
            order = list(tools)
            rng.shuffle(order)
            for tool in order:
                entry = found[tool]
                if "error" in entry:
                    continue
                command, output = table[tool]
                if output is not None:
                    Path(output).unlink(missing_ok=True)  # the check below must see this run's file
                finished = proc.run(command, target.env, timeout, cwd=out_dir)
                failure = finished.failure()
                if failure is None and output is not None and not Path(output).exists():
                    failure = f"no output file {Path(output).name}"
                if failure is not None:
                    entry["error"] = failure
                    print(f"  cli rep {rep + 1}/{reps} {tool:<17} failed: {failure}", file=sys.stderr)
                    continue
                entry["seconds"].append(finished.seconds)
                entry["cpu_seconds"].append(finished.cpu_seconds)
                entry["max_rss"].append(finished.max_rss)
                if output is not None and "bytes" not in entry:
                    entry["bytes"] = Path(output).stat().st_size
                    if output.endswith(".json"):
                        entry["calls"], entry["overflow"] = count_complete_events(output)
                    entry["stderr_tail"] = finished.stderr.strip().splitlines()[-1:]
                print(f"  cli rep {rep + 1}/{reps} {tool:<17} {finished.seconds:.3f}s", file=sys.stderr)
    return found
