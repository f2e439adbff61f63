"""How the line heatmap scales: writing the page, and opening it in headless Chromium.

For each size (lines that ran, spread over files of 2,000 lines plus one file of 20,000 lines, with
call edges from every tenth line and 300 functions summarised), a fresh process builds the line
statistics and the sources, then times ``heatmap_document`` (the data) and ``save(...,
"x.heatmap.html")`` (data and page). The page is then opened in Debian's Chromium, a fresh browser
context per repetition, and timed: navigation to the file index drawn, opening the 20,000-line file,
and switching that file's colouring to another metric (both measured up to the second animation
frame after the change, so layout and paint are in); plus the page's JS heap after all that.

No peer is run: no other tool on this machine writes an interactive line heatmap (CPython's
sampling profiler gains ``--heatmap`` in 3.15; line_profiler prints text; heartrate is live only),
so these are absolute figures. The line statistics are synthetic (collecting them is measured
by the line collectors' own benchmarks); their shape follows a real program's.

    python benchmarks/heatmap.py [--sizes 10000,100000] [--reps 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

from resultfile import write_results

ROOT = Path(__file__).resolve().parents[1]
FILE_LINES = 2000
BIG_FILE_LINES = 20000


def synthetic_trace(lines_run: int, seed: int = 1) -> Any:
    """A Trace whose only content is line statistics over ``lines_run`` lines, with their sources."""
    sys.path.insert(0, str(ROOT / "src"))
    from pulsetrace.model import ProcessTrace, Trace
    from pulsetrace.model.lines import CodeKey, LineStats

    rng = random.Random(seed)
    stats = LineStats()
    sources: Dict[str, str] = {}
    sizes = [BIG_FILE_LINES] + [FILE_LINES] * max(0, (lines_run - BIG_FILE_LINES) // FILE_LINES)
    if lines_run < BIG_FILE_LINES:
        sizes = [lines_run]
    for index, size in enumerate(sizes):
        path = f"/project/app/module_{index:04d}.py"
        sources[path] = "".join(
            f"def step_{n}(x):\n" if n % 20 == 1 else f"    x = transform(x, {n}, 'label {n}')  # step\n"
            for n in range(1, size + 1)
        )
        for lineno in range(1, size + 1):
            stat = stats.line(path, lineno)
            stat.hits = int(rng.paretovariate(1.2))
            stat.self_ns = stat.hits * rng.randint(40, 400)
            stat.total_ns = stat.self_ns + (rng.randint(0, 10_000) if lineno % 10 == 0 else 0)
            if lineno % 10 == 0:
                callee_file = f"/project/app/module_{rng.randrange(len(sizes)):04d}.py"
                edge = stats.edge(path, lineno, CodeKey(callee_file, 1 + 20 * rng.randrange(50), "step"))
                edge.count, edge.total_ns = stat.hits, stat.total_ns - stat.self_ns
    for n in range(300):
        summary = stats.function(CodeKey(f"/usr/lib/python3/json/part{n}.py", n + 1, f"helper_{n}"))
        summary.calls, summary.hits, summary.self_ns, summary.total_ns = n + 1, 10 * n, 1000 * n, 2000 * n
    process = ProcessTrace(
        pid=1, name="python app.py", functions=[], threads=[], start_ns=0, stop_ns=1, wall_anchor_ns=0,
        mono_anchor_ns=0, argv=["/project/app/app.py"], sources=sources, lines=stats,
    )  # fmt: skip
    return Trace([process])


def child(lines_run: int, output: str) -> None:
    """In a fresh process: build the data and write the page; print the timings as JSON."""
    trace = synthetic_trace(lines_run)
    from pulsetrace.reports.heatmap import heatmap_document
    from pulsetrace.writers import save

    started = time.perf_counter()
    heatmap_document(trace)
    built = time.perf_counter()
    result = save(trace, output)
    saved = time.perf_counter()
    print(json.dumps({"document_s": built - started, "save_s": saved - built, "bytes": result.bytes_written}))


BIG_FILE = "/project/app/module_0000.py"

OPEN_FILE = """path => new Promise(resolve => {
  const app = window.pulsetraceHeatmap;
  history.replaceState(null, "", "#file=" + encodeURIComponent(path));
  const t = performance.now();
  app.render();
  requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - t)));
})"""

SWITCH_METRIC = """() => new Promise(resolve => {
  const t = performance.now();
  document.querySelector("button.metric[data-metric='hits']").click();
  requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - t)));
})"""


def measure_page(url: str, reps: int) -> Dict[str, List[float]]:
    from playwright.sync_api import sync_playwright

    found: Dict[str, List[float]] = {
        "index_ms": [],
        "open_big_file_ms": [],
        "switch_metric_ms": [],
        "heap_mb": [],
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"]
        )
        for _ in range(reps):
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.goto(url)
            page.wait_for_selector("table.files")
            found["index_ms"].append(page.evaluate("performance.now()"))
            found["open_big_file_ms"].append(page.evaluate(OPEN_FILE, BIG_FILE))
            found["switch_metric_ms"].append(page.evaluate(SWITCH_METRIC))
            found["heap_mb"].append(page.evaluate("performance.memory.usedJSHeapSize") / 2**20)
            context.close()
        browser.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000", help="lines run, comma-separated")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--child", nargs=2, metavar=("LINES", "OUTPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), args.child[1])
        return
    rows: Dict[str, Any] = {}
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with tempfile.TemporaryDirectory(prefix="pulsetrace-bench-heatmap-") as folder:
        for size in [int(part) for part in args.sizes.split(",")]:
            output = os.path.join(folder, f"h{size}.heatmap.html")
            writes = []
            for _ in range(args.reps):
                done = subprocess.run(
                    [sys.executable, __file__, "--child", str(size), output],
                    env=env, capture_output=True, text=True, check=True,
                )  # fmt: skip
                writes.append(json.loads(done.stdout))
            page = measure_page(Path(output).as_uri(), args.reps)
            rows[str(size)] = {"writes": writes, "page": page}
            median = statistics.median
            document_s = median(w["document_s"] for w in writes)
            save_s = median(w["save_s"] for w in writes)
            print(
                f"{size:>9,} lines run: document {document_s:.2f} s, save {save_s:.2f} s, "
                f"file {writes[0]['bytes'] / 2**20:.1f} MiB; page: index {median(page['index_ms']):.0f} ms, "
                f"open {min(size, BIG_FILE_LINES):,}-line file {median(page['open_big_file_ms']):.0f} ms, "
                f"switch metric {median(page['switch_metric_ms']):.0f} ms, "
                f"JS heap {median(page['heap_mb']):.0f} MB (medians of {args.reps})"
            )
    version = ".".join(map(str, sys.version_info[:3]))
    write_results({"python": sys.version, "reps": args.reps, "sizes": rows}, f"heatmap-py{version}")


if __name__ == "__main__":
    main()
