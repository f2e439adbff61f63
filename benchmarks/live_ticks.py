"""What one tick of the live view costs its server, in-process: the time to read a snapshot into the
next tick and make one page's document as JSON, and the JSON's size.

    PYTHONPATH=src python benchmarks/live_ticks.py            # this tree
    PYTHONPATH=OTHER/src python benchmarks/live_ticks.py      # another tree's, side by side

A project of FILES files of LINES lines each, every line run once; between ticks a few lines of the
first file run a thousand times more (a hot loop) and one call from it is made again, as in
benchmarks/live.py's loop. Each page is fed as its event stream feeds it (each tick after the page's
last). Trees from before the live index (``Tick.for_page``, every line of a file page each tick) are
measured through that method. The collector's copy of the numbers is the same in every tree and is
not timed. Medians over the ticks; nothing is asserted.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional

from pulsetrace.live.files import FileSet, path_contains
from pulsetrace.live.state import LiveState, Tick
from pulsetrace.model.lines import CodeKey, LineStat, LineStats

SIZES = ((2, 30), (50, 400))  # (files, lines per file)
HOT_LINES = 5
TICKS = 200

Documenter = Callable[[Tick, Optional[str], Optional[str], int], Dict[str, Any]]


def documenter() -> Documenter:
    try:
        from pulsetrace.live.documents import page_document
    except ImportError:  # a tree from before the live index

        def old(tick: Tick, file_id: Optional[str], path: Optional[str], since: int) -> Dict[str, Any]:
            return tick.for_page(file_id, path)  # type: ignore[attr-defined, no-any-return]

        return old
    return page_document


def program(root: str, files: int, lines: int) -> List[str]:
    paths = []
    for number in range(files):
        path = os.path.join(root, f"mod{number}.py")
        with open(path, "w") as handle:
            handle.write("x = 1\n" * lines)
        paths.append(path)
    return paths


def measure(files: int, lines: int, page: str, make_document: Documenter) -> Dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="pulsetrace-live-ticks-") as root:
        paths = program(root, files, lines)
        stats = LineStats()
        for path in paths:
            for lineno in range(1, lines + 1):
                stat = stats.line(path, lineno)
                stat.hits, stat.self_ns, stat.total_ns = 1, 100, 100
        callee = CodeKey(paths[-1], 1, "helper")
        stats.edge(paths[0], 1, callee).count = 1
        current: Dict[str, LineStats] = {}

        def snapshot() -> LineStats:
            return current["stats"]

        state = LiveState(snapshot, FileSet(path_contains(root)))
        file_id = state.files.file_id(paths[0]) if page == "file" else None
        path = paths[0] if page == "file" else None
        seq, spent, sizes = -1, [], []
        for _ in range(TICKS):
            for lineno in range(1, HOT_LINES + 1):
                stat = stats.files[paths[0]][lineno]
                stat.hits += 1000
                stat.self_ns += 5000
                stat.total_ns += 5000
            stats.edges[(paths[0], 1, callee)].count += 1
            copy = LineStats()  # what the collector's snapshot() hands over: a copy
            copy.files = {
                name: {n: LineStat(s.hits, s.self_ns, s.total_ns) for n, s in numbers.items()}
                for name, numbers in stats.files.items()
            }
            copy.edges = dict(stats.edges)
            current["stats"] = copy
            start = time.perf_counter()
            tick = state.refresh()
            text = json.dumps(make_document(tick, file_id, path, seq), separators=(",", ":"))
            spent.append(time.perf_counter() - start)
            sizes.append(len(text))
            seq = tick.seq
        return {"ms": 1000 * statistics.median(spent), "bytes": statistics.median(sizes)}


def main() -> int:
    make_document = documenter()
    import pulsetrace

    print(f"pulsetrace from {os.path.dirname(pulsetrace.__file__)}, Python {sys.version.split()[0]}")
    print(f"{'page':<6} {'files x lines':>14} {'ms/tick':>9} {'bytes/tick':>11}")
    for files, lines in SIZES:
        for page in ("file", "index"):
            result = measure(files, lines, page, make_document)
            print(f"{page:<6} {f'{files} x {lines}':>14} {result['ms']:>9.2f} {result['bytes']:>11,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
