"""The viewer's worst cases, in headless Chromium, for one or two copies of the viewer's web/ files side
by side (this tree's, and e.g. an older commit's exported with ``git archive``):

- **flamegraph of N distinct stacks** (a made-up trace: random call trees 40 deep over 1,000
  functions, so nearly every call is a stack of its own): how long ``show()`` kept the page's thread,
  the time until the tree was built, and the longest task meanwhile (Long Tasks API: tasks over 50 ms);
- **a counter with 1M samples**: the time to draw its track across 1,280 pixels (fastest and median
  of 15 draws), through the same ``TrackPainter.draw`` call in every version;
- **the Functions tab of a 10M-call trace** (the same kind of made-up trace): how long ``show()`` kept
  the page's thread, the time until the table's first rows were in the page, and the longest task
  meanwhile.

    python3 benchmarks/viewer_gaps.py                                  # this tree's web/
    git archive 66084a2 src/pulsetrace/web | tar -x -C /tmp/old
    python3 benchmarks/viewer_gaps.py --web /tmp/old/src/pulsetrace/web --web src/pulsetrace/web

The longest task counts every task over 50 ms that ended after ``show()`` was called, the one that
called it included (it began a moment before).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
from pathlib import Path
from typing import Any, Dict, List

from tables import grid

HERE = Path(__file__).resolve().parent
ORIGIN = "http://pulsetrace.bench"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

MADE_UP_TRACE = """(calls) => {
  let seed = 12345;
  const random = () => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
    return (seed >>> 0) / 4294967296;
  };
  const slices = { count: calls, start: new Float64Array(calls), end: new Float64Array(calls),
                   func: new Int32Array(calls), depth: new Uint16Array(calls), parent: new Int32Array(calls),
                   flags: new Uint8Array(calls) };
  const stack = [];
  let t = 0;
  for (let i = 0; i < calls; i++) {
    while (stack.length > 0 && (stack.length >= 40 || random() < 0.45)) slices.end[stack.pop()] = t++;
    slices.start[i] = t++;
    slices.func[i] = Math.floor(random() * 1000);
    slices.depth[i] = stack.length;
    slices.parent[i] = stack.length > 0 ? stack[stack.length - 1] : -1;
    stack.push(i);
  }
  while (stack.length > 0) slices.end[stack.pop()] = t++;
  const thread = { index: 0, name: "made-up", nativeId: 1, pid: 1, slices, maxDepth: 40 };
  const functions = Array.from({ length: 1000 },
                               (_, i) => ({ name: `f${i}`, filename: "m.py", lineno: i, kind: 0 }));
  window.trace = { functions, processes: [{ pid: 1, name: "made-up", threads: [thread], counters: [] }],
                   threads: [thread], startNs: 0, endNs: t };
}"""

FLAMEGRAPH = f"""async () => {{
  const views = await import("{ORIGIN}/flamegraph.js");
  document.body.innerHTML = '<div id="pane" style="width:1200px;height:700px"></div>';
  const app = {{ setMatchCount() {{}}, highlightFunction() {{}}, formatDuration: (ns) => `${{ns}} ns`,
                threadLabel: (thread) => thread.name }};
  window.tasks = [];
  new PerformanceObserver((list) => {{
    for (const entry of list.getEntries()) window.tasks.push([entry.startTime, entry.duration]);
  }}).observe({{ entryTypes: ["longtask"] }});
  await new Promise((resolve) => setTimeout(resolve, 100));
  window.view = new views.FlameGraphView(document.getElementById("pane"), trace, app);
  window.began = performance.now();
  view.show();
  return performance.now() - began;
}}"""

COUNTER = f"""async (samples) => {{
  const tracks = await import("{ORIGIN}/tracks.js");
  const end = trace.endNs;
  const list = new Array(samples);
  for (let i = 0; i < samples; i++) {{
    list[i] = {{ ts: (end * i) / samples, values: {{ level: i === samples / 2 ? 100 : (i & 1) * 50 }} }};
  }}
  const counter = {{ name: "dense", tid: 0, series: ["level"], samples: list }};
  const canvas = document.createElement("canvas");
  canvas.width = 1280;
  canvas.height = 100;
  document.body.append(canvas);
  const ctx = canvas.getContext("2d");
  const painter = new tracks.TrackPainter(trace);
  const track = {{ kind: "counter", height: 56, counter }};
  const frame = {{ t0: 0, t1: end, pxPerNs: 1280 / end, width: 1280, drawn: 0 }};
  painter.draw(ctx, track, 0, frame); // the first draw builds what the painter caches
  const times = [];
  for (let i = 0; i < 15; i++) {{
    const began = performance.now();
    painter.draw(ctx, track, 0, frame);
    ctx.getImageData(0, 0, 1, 1); // waits for the drawing to be done
    times.push(performance.now() - began);
  }}
  return times;
}}"""


FUNCTION_TABLE = f"""async () => {{
  const views = await import("{ORIGIN}/functable.js");
  document.body.innerHTML = '<div id="pane" style="width:1200px;height:700px"></div>';
  const app = {{ setMatchCount() {{}}, highlightFunction() {{}}, openFunctionInFlamegraph() {{}},
                formatDuration: (ns) => `${{ns}} ns`, threadLabel: (thread) => thread.name }};
  window.tasks = [];
  new PerformanceObserver((list) => {{
    for (const entry of list.getEntries()) window.tasks.push([entry.startTime, entry.duration]);
  }}).observe({{ entryTypes: ["longtask"] }});
  // The moment the first rows are in the page, whichever task put them there.
  window.rowsAt = null;
  const pane = document.getElementById("pane");
  new MutationObserver((records, observer) => {{
    if (pane.querySelector(".pt-table-row") === null) return;
    window.rowsAt = performance.now();
    observer.disconnect();
  }}).observe(pane, {{ childList: true, subtree: true }});
  await new Promise((resolve) => setTimeout(resolve, 100));
  window.table = new views.FunctionTableView(pane, trace, app);
  window.began = performance.now();
  table.show();
  return performance.now() - began;
}}"""


def open_page(browser: Any, web: Path) -> Any:
    """A tab whose made-up origin serves the files of ``web``."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})

    def serve(route: Any) -> None:
        name = route.request.url[len(ORIGIN) + 1 :].split("?", 1)[0]
        if name == "index.html":
            route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>bench</title>")
        else:
            route.fulfill(status=200, content_type="text/javascript", body=(web / name).read_text())

    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/index.html")
    return page


def long_tasks_since_began(page: Any) -> List[float]:
    """The durations of the page's long tasks (over 50 ms) that ended after ``began`` was set."""
    page.wait_for_timeout(300)  # long task entries arrive after the task
    tasks: List[float] = page.evaluate("tasks.filter(([start, d]) => start + d >= began).map(([, d]) => d)")
    return tasks


def measure(browser: Any, web: Path, calls: int, samples: int, table_calls: int) -> Dict[str, Any]:
    page = open_page(browser, web)
    page.evaluate(MADE_UP_TRACE, calls)
    show_ms = page.evaluate(FLAMEGRAPH)
    page.wait_for_function("view.tree !== null", timeout=600_000, polling=20)
    built_ms = page.evaluate("performance.now() - began")
    tasks = long_tasks_since_began(page)
    nodes = page.evaluate("view.tree.size")
    draws = page.evaluate(COUNTER, samples)
    page.close()
    return {
        "web": str(web),
        "show_ms": show_ms,
        "built_ms": built_ms,
        "longest_task_ms": max(tasks, default=0.0),
        "long_tasks": len(tasks),
        "nodes": nodes,
        "counter_draw_ms": draws,
        "functions": measure_function_table(browser, web, table_calls),
    }


def measure_function_table(browser: Any, web: Path, calls: int) -> Dict[str, Any]:
    """The Functions tab of a made-up trace of ``calls`` calls, in a tab of its own."""
    page = open_page(browser, web)
    page.evaluate(MADE_UP_TRACE, calls)
    show_ms = page.evaluate(FUNCTION_TABLE)
    page.wait_for_function("rowsAt !== null", timeout=600_000, polling=20)
    shown_ms = page.evaluate("rowsAt - began")
    tasks = long_tasks_since_began(page)
    rows = page.evaluate("table.rows.length")
    page.close()
    return {
        "calls": calls,
        "show_ms": show_ms,
        "rows_shown_ms": shown_ms,
        "longest_task_ms": max(tasks, default=0.0),
        "long_tasks": len(tasks),
        "rows": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--web", action="append", type=Path, help="a web/ directory (repeatable)")
    parser.add_argument("--calls", type=int, default=4_400_000, help="calls of the made-up trace")
    parser.add_argument("--samples", type=int, default=1_000_000, help="samples of the counter")
    parser.add_argument(
        "--table-calls", type=int, default=10_000_000, help="calls of the Functions tab's trace"
    )
    parser.add_argument("--output", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    webs = args.web or [HERE.parent / "src" / "pulsetrace" / "web"]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        results = [
            measure(browser, web.resolve(), args.calls, args.samples, args.table_calls) for web in webs
        ]
        browser.close()
    rows = []
    for found in results:
        draws = found["counter_draw_ms"]
        rows.append([
            found["web"],
            f"{found['nodes']:,}",
            f"{found['show_ms']:.0f} ms",
            f"{found['built_ms']:.0f} ms",
            f"{found['longest_task_ms']:.0f} ms ({found['long_tasks']} over 50 ms)",
            f"{min(draws):.1f} / {statistics.median(draws):.1f} ms",
        ])  # fmt: skip
    headers = ["web/", "stacks", "show() held the page", "tree built", "longest task"]
    print(grid([*headers, "counter draw min / med"], rows))
    table_rows = []
    for found in results:
        table = found["functions"]
        table_rows.append([
            found["web"],
            f"{table['calls']:,}",
            f"{table['show_ms']:.0f} ms",
            f"{table['rows_shown_ms']:.0f} ms",
            f"{table['longest_task_ms']:.0f} ms ({table['long_tasks']} over 50 ms)",
        ])  # fmt: skip
    print()
    table_headers = ["web/", "Functions tab: calls", "show() held the page", "rows shown", "longest task"]
    print(grid(table_headers, table_rows))
    if args.output:
        args.output.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
