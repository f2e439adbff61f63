"""What a LINE event costs before pulsetrace does anything (3.12+): the line collector against a C LINE
callback that returns at once, on the tight loop of workloads/line_loop.py.

    PYTHONPATH=src python benchmarks/lines_floor.py [--reps 9] [--size 1500000]

In one process, interleaved: the loop untraced, with the no-op callback (the collector's own LINE
callback, registered under a free tool id while no LineRecorder is active, so it returns at its first
test) and with ``LineCollector()``. Prints the minimum of each, and its ratio to the untraced minimum:
the floor is the interpreter's dispatch, the difference to it is the collector's accounting.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Callable, Dict, List, Tuple


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--size", type=int, default=1_500_000)
    args = parser.parse_args(argv)
    if sys.version_info < (3, 12):
        print("sys.monitoring needs Python 3.12 or later")
        return 2
    from pulsetrace import _core  # type: ignore[attr-defined]
    from pulsetrace.linecollect import LineCollector
    from workloads import line_loop

    monitoring = sys.monitoring
    noop = _core.LineRecorder(lambda code: True).monitoring_callbacks()["LINE"]
    tool = next(i for i in range(6) if monitoring.get_tool(i) is None)

    def noop_start() -> None:
        monitoring.use_tool_id(tool, "lines floor")
        monitoring.register_callback(tool, monitoring.events.LINE, noop)
        monitoring.set_events(tool, monitoring.events.LINE)

    def noop_stop() -> None:
        monitoring.set_events(tool, 0)
        monitoring.register_callback(tool, monitoring.events.LINE, None)
        monitoring.free_tool_id(tool)

    collector = LineCollector()
    modes: Dict[str, Tuple[Callable[[], object], Callable[[], object]]] = {
        "untraced": (lambda: None, lambda: None),
        "no-op C LINE callback": (noop_start, noop_stop),
        f"LineCollector ({collector.backend})": (collector.start, collector.stop),
    }
    times: Dict[str, List[float]] = {name: [] for name in modes}
    for _ in range(args.reps):
        for name, (start, stop) in modes.items():
            start()
            began = time.perf_counter()
            line_loop.spin(args.size)
            times[name].append(time.perf_counter() - began)
            stop()
    base = min(times["untraced"])
    for name, found in times.items():
        print(f"{name:<32} {min(found):8.4f} s {min(found) / base:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
