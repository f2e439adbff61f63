"""The line statistics' cost in instructions, not seconds: pulsetrace ``--lines`` beside line_profiler on
the tight loop of workloads/line_loop.py, each counted by valgrind's callgrind.

    PYTHONPATH=src python benchmarks/lines_instructions.py [--size 100000]

Wall-clock ratios on this machine move by a third from one run to the next when other work shares its
two cores (RESULTS.md, "Line statistics"); an instruction count does not: callgrind counts the same
total for the same binary and input whatever else runs. Each tool runs the loop in a fresh process at
``--size`` and at twice that, so the difference between the two counts is the price of ``--size`` more
iterations alone, without interpreter start-up, imports or saving the trace. Reported: instructions
per iteration (one iteration is three LINE events), and the ratio to the untraced loop. Instructions
are not time (cache misses and branch mispredictions are not in them), so this complements lines.py's
timings rather than replacing them.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

from resultfile import write_results
from tables import grid

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
COLLECTED = re.compile(r"Collected : (\d+)")

# The three ways to run line_loop.spin(n): n comes last on each command line.
LOOP = "import sys\nfrom workloads.line_loop import spin\nspin(int(sys.argv[1]))\n"
UNDER_LINE_PROFILER = (
    "import sys\nfrom line_profiler import LineProfiler\nfrom workloads.line_loop import spin\n"
    "profiler = LineProfiler(spin)\nprofiler.enable_by_count()\nspin(int(sys.argv[1]))\n"
    "profiler.disable_by_count()\n"
)


def commands(folder: Path) -> Dict[str, List[str]]:
    loop = folder / "loop.py"
    loop.write_text(LOOP)
    profiled = folder / "profiled.py"
    profiled.write_text(UNDER_LINE_PROFILER)
    python = sys.executable
    return {
        "untraced": [python, str(loop)],
        "pulsetrace run --lines": [python, "-m", "pulsetrace", "run", "-q", "--lines", "-o",
                                   str(folder / "out.pulse"), str(loop)],
        "line_profiler": [python, str(profiled)],
    }


def instructions(command: List[str], iterations: int, env: Dict[str, str]) -> int:
    """callgrind's instruction count for the whole process running ``command`` with ``iterations``."""
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command, str(iterations)],
        capture_output=True, text=True, env=env, cwd=HERE,
    )
    found = COLLECTED.search(run.stderr)
    if run.returncode != 0 or found is None:
        raise SystemExit(f"{' '.join(command)} failed under valgrind:\n{run.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=100_000, help="loop iterations of the smaller run")
    parser.add_argument("--output", help="where to write the JSON results (default: results/)")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(HERE), *filter(None, [env.get("PYTHONPATH")])])
    per_iteration: Dict[str, float] = {}
    counts: Dict[str, List[int]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, command in commands(Path(folder)).items():
            counts[name] = [instructions(command, n, env) for n in (args.size, 2 * args.size)]
            per_iteration[name] = (counts[name][1] - counts[name][0]) / args.size
            print(f"  {name:<24} {per_iteration[name]:,.0f} per iteration", file=sys.stderr)
    base = per_iteration["untraced"]
    rows = [[name, f"{value:,.0f}", f"{value / base:.2f}x"] for name, value in per_iteration.items()]
    ours, theirs = per_iteration["pulsetrace run --lines"] - base, per_iteration["line_profiler"] - base
    print(f"Python {sys.version.split()[0]}, line_loop.spin, {args.size:,} more iterations")
    print(grid(["", "instructions per iteration", "x untraced"], rows))
    print(f"pulsetrace's overhead as a share of line_profiler's: {ours / theirs:.3f}")
    write_results(
        {"python": sys.version.split()[0], "size": args.size, "instructions": counts,
         "per_iteration": per_iteration, "share_of_line_profiler": ours / theirs},
        "lines-instructions", args.output,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
