"""Benchmark workloads: each module has SIZES, setup(size) and run(prepared).

``setup`` does the untimed preparation (building inputs); ``run`` is the traced section. ``SIZES``
maps "full" and "quick" to the size argument; "full" is chosen so that the untraced ``run`` takes
about 0.1-0.3 s on the benchmark machine.
"""

from __future__ import annotations

import importlib
from types import ModuleType

NAMES = ("fib", "hanoi", "quicksort", "sleep_fib", "mixed")
# Workloads of the tracing-controls benchmark (controls.py) only.
CONTROL_NAMES = ("library_calls", "fib_sparse", "line_loop")


def load(name: str) -> ModuleType:
    """The workload module called ``name``."""
    if name not in NAMES + CONTROL_NAMES:
        raise ValueError(f"unknown workload {name!r} (choose from: {', '.join(NAMES + CONTROL_NAMES)})")
    return importlib.import_module(f"workloads.{name}")
