"""Run every (mode, workload) cell in fresh processes, repetitions interleaved.

Each repetition runs every cell once, in an order shuffled per repetition, so slow drifts of a noisy
machine spread over all tools instead of landing on whichever ran last. A run that fails (a crash,
an exception) is kept with its reason; the cell goes on unless it has never succeeded after
``GIVE_UP_AFTER`` tries or timed out, so a rare crash shows up beside the figures, not instead of them.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import proc
from target import Target

HERE = Path(__file__).resolve().parent
CHILD = str(HERE / "child.py")
RESULT_PREFIX = "PULSETRACE-BENCH-RESULT "

Cell = Tuple[str, str]  # (mode, workload)
GIVE_UP_AFTER = 2


@dataclass
class MatrixResult:
    """Samples per cell (one dict per fresh process) and the reason of each failed run."""

    samples: Dict[Cell, List[Dict[str, Any]]] = field(default_factory=dict)
    failures: Dict[Cell, List[str]] = field(default_factory=dict)

    def abandoned(self, cell: Cell) -> bool:
        failed = self.failures.get(cell, [])
        if any(reason == "timed out" for reason in failed):
            return True
        return len(failed) >= GIVE_UP_AFTER and not self.samples.get(cell)


def run_child(target: Target, args: Sequence[str], timeout: float) -> Dict[str, Any]:
    """Run child.py with ``args``; its result dict, or {"ok": False, "error": why}."""
    finished = proc.run([target.python, CHILD, *args], target.env, timeout, cwd=str(HERE))
    for line in reversed(finished.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return dict(json.loads(line[len(RESULT_PREFIX):]))
    return {"ok": False, "error": finished.failure() or "no result printed"}


def probe(target: Target, mode: str, timeout: float) -> Optional[str]:
    """None if ``mode`` works on this interpreter, else why not."""
    found = run_child(target, ["--probe", mode], timeout)
    return None if found.get("ok") else str(found.get("error"))


def plan(modes: Sequence[str], workloads: Sequence[str], reps: int, seed: int) -> List[Tuple[int, Cell]]:
    rng = random.Random(seed)
    order: List[Tuple[int, Cell]] = []
    for rep in range(reps):
        cells = [(mode, workload) for workload in workloads for mode in modes]
        rng.shuffle(cells)
        order.extend((rep, cell) for cell in cells)
    return order


def run_matrix(
    target: Target,
    modes: Sequence[str],
    workloads: Sequence[str],
    size: str,
    reps: int,
    timeout: float,
    no_save_after: Dict[str, int],
    seed: int = 0,
) -> MatrixResult:
    """Measure every cell ``reps`` times; ``no_save_after[mode]`` limits the reps that also save."""
    result = MatrixResult()
    todo = plan(modes, workloads, reps, seed)
    for done, (rep, cell) in enumerate(todo, 1):
        if result.abandoned(cell):
            continue
        mode, workload = cell
        args = [mode, workload, size]
        if rep >= no_save_after.get(mode, reps):
            args.append("--no-save")
        found = run_child(target, args, timeout)
        if found.get("ok"):
            result.samples.setdefault(cell, []).append(found)
            note = f"{found['seconds']:.3f}s"
        else:
            note = str(found.get("error"))
            result.failures.setdefault(cell, []).append(note)
            note = "failed: " + note
        progress = f"[{done}/{len(todo)}] rep {rep + 1}/{reps}"
        print(f"  {progress} {workload:<10} {mode:<22} {note}", file=sys.stderr)
    return result
