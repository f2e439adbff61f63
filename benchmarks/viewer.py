"""The viewer at scale (issue 5): headless Chromium on traces written by ``pulsetrace run``.

Measures, on this machine:

- **1M slices, standalone HTML** (the mixed workload, ~1M calls): time from navigation to the first
  timeline frame (the page's own ``performance.now()`` when the timeline first drew, which counts from
  navigation start), in fresh browser contexts; the HTML file's size; the HTML write time. VizTracer's
  HTML for the same program is written the same way beside it.
- **10M slices via ``pulsetrace view``** (recursive fib, ~11M calls): navigation to first frame and
  to decoded trace, and browser memory: the proportional set size (PSS, from ``/proc/PID/smaps_rollup``)
  summed over the browser's whole process tree (each run starts its own browser), after loading and
  its peak sampled every 100 ms while loading; the summed RSS and VmHWM as upper bounds; plus
  the renderer's JS heap from CDP ``Performance.getMetrics`` (typed arrays live outside that heap,
  so RSS is the figure that counts).
- **Frame times while zooming and panning** at both sizes: ``requestAnimationFrame`` timestamps
  recorded in the page while the script holds W, S, A, D and turns the wheel; intervals between
  frames (median, p95, max) and the timeline's own draw time per frame.
- **The flamegraph tab** at both sizes: from the click on the tab until its tree is built, the
  longest task on the page's thread meanwhile (the Long Tasks API reports tasks over 50 ms), and how
  many times the page answered a script round trip while building (the tree is built in steps).

Write time: both tools trace the program in a fresh process through their Python API (pulsetrace's
``Tracer``, VizTracer's ``VizTracer`` with a buffer big enough to keep every call) and only
``save(...html)`` is timed, so the figure is the HTML writing alone, as ``pulsetrace run`` and
``viztracer`` do it at exit.

    python3 benchmarks/viewer.py                # the full run (a few minutes)
    python3 benchmarks/viewer.py --quick        # small traces, one repetition: a smoke test

Prints a table and writes JSON to benchmarks/results/viewer-<python>-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

from resultfile import write_results
from tables import grid

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MIXED_SIZE = {"full": 4600, "quick": 300}  # mixed workload size: ~1.0M slices at full size
FIB_N = {"full": 33, "quick": 22}  # fib(33): 11.4M calls
VIZTRACER_ENTRIES = 4_000_000  # VizTracer keeps a ring buffer: big enough that nothing is dropped
LOAD_TIMEOUT_MS = 120_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]

PROGRAMS = {
    "mixed": "import sys\nsys.path.insert(0, {bench!r})\nfrom workloads import mixed\n"
    "mixed.run(mixed.setup(int(sys.argv[1])))\n",
    "fib": "import sys\nsys.path.insert(0, {bench!r})\nfrom workloads import fib\n"
    "fib.run(fib.setup(int(sys.argv[1])))\n",
}

# Runs in a fresh process: trace the program with one tool's API, time only the HTML save.
SAVE_CHILD = """
import json, runpy, sys, time
tool, program, arg, output = sys.argv[1:5]
sys.argv = [program, arg]
if tool == "pulsetrace":
    from pulsetrace import Tracer
    tracer = Tracer()
else:
    from viztracer import VizTracer
    tracer = VizTracer(tracer_entries={entries}, verbose=0)
tracer.start()
runpy.run_path(program, run_name="__main__")
tracer.stop()
began = time.perf_counter()
tracer.save(output)
print(json.dumps({{"save_seconds": time.perf_counter() - began}}))
"""

FRAME_RECORDER = """() => {
    const app = window.pulsetraceViewer;
    const timeline = app.timeline;
    window.__bench = { frames: [], draws: [], recording: true };
    const draw = timeline.draw.bind(timeline);
    timeline.draw = () => {
        const began = performance.now();
        draw();
        window.__bench.draws.push(performance.now() - began);
    };
    const tick = (now) => {
        window.__bench.frames.push(now);
        if (window.__bench.recording) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
}"""


def environment() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def write_program(directory: Path, name: str) -> Path:
    path = directory / f"{name}_program.py"
    path.write_text(PROGRAMS[name].format(bench=str(HERE)))
    return path


def pulsetrace_run(python: str, program: Path, arg: str, output: Path) -> Dict[str, Any]:
    """``pulsetrace run -o output program arg``: wall seconds, calls written, file size."""
    began = time.perf_counter()
    done = subprocess.run(
        [python, "-m", "pulsetrace", "run", "-o", str(output), str(program), arg],
        env=environment(), capture_output=True, text=True, cwd=program.parent,
    )  # fmt: skip
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"pulsetrace run failed: {done.stderr.strip()[-500:]}")
    last = done.stderr.strip().splitlines()[-1]  # "pulsetrace: wrote N calls (SIZE) to PATH"
    return {"cli_seconds": seconds, "summary": last, "bytes": output.stat().st_size}


def save_time(python: str, tool: str, program: Path, arg: str, output: Path) -> Optional[float]:
    """Seconds the tool's ``save(output)`` took after tracing the program, in a fresh process."""
    child = SAVE_CHILD.format(entries=VIZTRACER_ENTRIES)
    done = subprocess.run(
        [python, "-c", child, tool, str(program), arg, str(output)],
        env=environment(), capture_output=True, text=True, cwd=program.parent,
    )  # fmt: skip
    if done.returncode != 0:
        sys.stderr.write(f"{tool} save failed: {done.stderr.strip()[-300:]}\n")
        return None
    return float(json.loads(done.stdout.strip().splitlines()[-1])["save_seconds"])


def process_tree(root: int) -> List[int]:
    """``root`` and every process descended from it, from /proc."""
    children: Dict[int, List[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def browser_root(marker: str) -> int:
    """The browser process whose command line carries our marker switch."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read()
        except OSError:
            continue
        if marker.encode() in cmdline and b"--type=" not in cmdline:
            return int(entry)
    raise SystemExit("cannot find the browser process")


def tree_memory(root: int) -> Dict[str, int]:
    """Memory of the browser's process tree, in bytes: the summed PSS (shared pages split between the
    processes that share them, so the sum is the tree's real footprint) and the summed RSS and VmHWM
    (each process's resident set and its peak; shared pages counted in every process, so an upper
    bound)."""
    totals = {"pss": 0, "rss": 0, "peak_rss": 0}
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Pss:"):
                        totals["pss"] += int(line.split()[1]) * 1024
            with open(f"/proc/{pid}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        totals["rss"] += int(line.split()[1]) * 1024
                    elif line.startswith("VmHWM:"):
                        totals["peak_rss"] += int(line.split()[1]) * 1024
        except OSError:
            continue
    return totals


class MemorySampler:
    """Samples the tree's PSS every 100 ms in a thread while a page loads: its peak is the figure."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak_pss = max(self.peak_pss, tree_memory(self.root)["pss"])

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_pss = max(self.peak_pss, tree_memory(self.root)["pss"])


def wait_loaded(page: Any) -> Dict[str, float]:
    page.wait_for_function(
        "(app => app && (app.timeline?.firstFrameAt || app.failure))(window.pulsetraceViewer)",
        timeout=LOAD_TIMEOUT_MS,
    )
    state = page.evaluate(
        "(app => ({failure: app.failure ?? null, first: app.timeline?.firstFrameAt, decoded: app.loadedAt,"
        " fetched: app.bytesReadyAt, slices: app.trace?.sliceCount}))(window.pulsetraceViewer)"
    )
    if state["failure"]:
        raise SystemExit(f"the viewer failed: {state['failure']}")
    return state


def launch(playwright: Any, marker: str) -> Any:
    return playwright.chromium.launch(
        executable_path=shutil.which("chromium"), args=[*CHROMIUM_ARGS, f"--pulsetrace-bench={marker}"]
    )


def first_frames(playwright: Any, url: str, reps: int) -> Dict[str, Any]:
    """Navigation to first frame, in a fresh browser per repetition (nothing cached or warmed)."""
    keys = ["first_frame_ms", "bytes_ready_ms", "decoded_ms", "pss", "peak_pss", "rss", "peak_rss", "js_heap"]
    found: Dict[str, Any] = {key: [] for key in keys}
    for _ in range(reps):
        marker = uuid.uuid4().hex
        browser = launch(playwright, marker)
        root = browser_root(marker)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        with MemorySampler(root) as sampler:
            page.goto(url)
            state = wait_loaded(page)
            page.wait_for_timeout(500)  # let the first frames settle before reading memory
        memory = tree_memory(root)
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        found["first_frame_ms"].append(state["first"])
        found["bytes_ready_ms"].append(state["fetched"])
        found["decoded_ms"].append(state["decoded"])
        found["slices"] = state["slices"]
        found["pss"].append(memory["pss"])
        found["peak_pss"].append(sampler.peak_pss)
        found["rss"].append(memory["rss"])
        found["peak_rss"].append(memory["peak_rss"])
        found["js_heap"].append(metrics.get("JSHeapUsedSize", 0))
        browser.close()
    return found


def frame_times(playwright: Any, url: str, quick: bool) -> Dict[str, Any]:
    """Frame intervals and draw times while zooming and panning with keys, wheel and drag."""
    browser = launch(playwright, uuid.uuid4().hex)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(url)
    wait_loaded(page)
    page.evaluate(FRAME_RECORDER)
    hold = 0.4 if quick else 1.5
    page.mouse.move(640, 300)
    for key in ["w", "d", "s", "a", "w", "w", "d"]:  # zoom in deep, pan, zoom out, pan back
        page.keyboard.down(key)
        page.wait_for_timeout(hold * 1000)
        page.keyboard.up(key)
    for _ in range(20):  # wheel out and in
        page.mouse.wheel(0, 120)
        page.wait_for_timeout(30)
    for _ in range(20):
        page.mouse.wheel(0, -120)
        page.wait_for_timeout(30)
    page.mouse.down()
    for step in range(30):  # a drag back and forth
        page.mouse.move(640 + (step % 10) * 30, 300)
        page.wait_for_timeout(16)
    page.mouse.up()
    page.click("#timeline-reset")
    page.keyboard.down("s")  # fully zoomed out: the most slices per pixel
    page.wait_for_timeout(hold * 1000)
    page.keyboard.up("s")
    data = page.evaluate("(() => { window.__bench.recording = false; return window.__bench; })()")
    browser.close()
    frames = data["frames"]
    intervals = [b - a for a, b in zip(frames, frames[1:])]
    return {"intervals_ms": intervals, "draws_ms": data["draws"]}


FLAME_TASKS = """() => {
    window.__flame = { tasks: [] };
    new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) window.__flame.tasks.push([entry.startTime, entry.duration]);
    }).observe({ entryTypes: ["longtask"] });
    return performance.now();
}"""


def flamegraph_build(playwright: Any, url: str) -> Dict[str, Any]:
    """The flamegraph tab opened on a loaded trace: build time, longest task, round trips answered."""
    browser = launch(playwright, uuid.uuid4().hex)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(url)
    wait_loaded(page)
    began = page.evaluate(FLAME_TASKS)
    page.click('[data-view="flamegraph"]')
    answered = 0
    while True:
        state = page.evaluate(
            "(view => ({ built: view.tree !== null, now: performance.now() }))"
            "(window.pulsetraceViewer.views.flamegraph)"
        )
        if state["built"]:
            break
        answered += 1
        page.wait_for_timeout(20)
    page.wait_for_timeout(200)  # long task entries arrive after the task
    tasks = page.evaluate(f"window.__flame.tasks.filter(([start]) => start >= {began}).map(([, d]) => d)")
    nodes = page.evaluate("window.pulsetraceViewer.views.flamegraph.tree.size")
    browser.close()
    return {
        "built_ms": state["now"] - began,
        "longest_task_ms": max(tasks, default=0.0),
        "long_tasks": len(tasks),
        "answered": answered,
        "nodes": nodes,
    }


def summarise(values: List[float]) -> Dict[str, float]:
    return {
        "median": statistics.median(values),
        "p95": percentile(values, 0.95),
        "max": max(values),
        "n": len(values),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--python", default=sys.executable, help="the interpreter that traces (default: this one)"
    )
    parser.add_argument("--quick", action="store_true", help="small traces, one repetition")
    parser.add_argument(
        "--reps", type=int, default=3, help="fresh processes / browsers per figure (default 3)"
    )
    parser.add_argument("--output", help="JSON results path (default: benchmarks/results/viewer-...json)")
    args = parser.parse_args()
    size = "quick" if args.quick else "full"
    reps = 1 if args.quick else args.reps
    from playwright.sync_api import sync_playwright

    results: Dict[str, Any] = {"python": args.python, "size": size, "reps": reps, "cpus": os.cpu_count()}
    results["load_average_before"] = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="pulsetrace-bench-viewer-") as temp:
        directory = Path(temp)
        mixed = write_program(directory, "mixed")
        fib = write_program(directory, "fib")
        mixed_arg, fib_arg = str(MIXED_SIZE[size]), str(FIB_N[size])

        # 1M: the standalone HTML, ours and VizTracer's.
        html = directory / "mixed.html"
        results["run_html"] = pulsetrace_run(args.python, mixed, mixed_arg, html)
        results["pulse_bytes"] = pulsetrace_run(args.python, mixed, mixed_arg, directory / "mixed.pulse")[
            "bytes"
        ]
        saves: Dict[str, List[float]] = {"pulsetrace": [], "viztracer": []}
        sizes: Dict[str, int] = {}
        for _ in range(reps):
            for tool in saves:
                out = directory / f"save-{tool}.html"
                seconds = save_time(args.python, tool, mixed, mixed_arg, out)
                if seconds is not None:
                    saves[tool].append(seconds)
                    sizes[tool] = out.stat().st_size
        results["html_save_seconds"] = saves
        results["html_bytes"] = sizes

        with sync_playwright() as playwright:
            results["standalone_1m"] = first_frames(playwright, html.as_uri(), reps)
            results["frames_1m"] = frame_times(playwright, html.as_uri(), args.quick)
            results["flame_1m"] = flamegraph_build(playwright, html.as_uri())

            # 10M: pulsetrace view.
            pulse = directory / "fib.pulse"
            results["run_10m"] = pulsetrace_run(args.python, fib, fib_arg, pulse)
            server = subprocess.Popen(
                [args.python, "-m", "pulsetrace", "view", str(pulse)],
                env=environment(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            )  # fmt: skip
            try:
                assert server.stdout is not None
                url = server.stdout.readline().split(" at ")[1].split()[0]
                results["view_10m"] = first_frames(playwright, url, reps)
                results["frames_10m"] = frame_times(playwright, url, args.quick)
                results["flame_10m"] = flamegraph_build(playwright, url)
            finally:
                server.terminate()
                server.wait()

    results["load_average_after"] = os.getloadavg()
    print_table(results)
    version = subprocess.run(
        [args.python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    write_results(results, f"viewer-py{version}", args.output)
    return 0


def print_table(results: Dict[str, Any]) -> None:
    mib = 1024 * 1024
    one, ten = results["standalone_1m"], results["view_10m"]
    saves = results["html_save_seconds"]
    rows = [
        ["1M: slices", f"{one['slices']:,}", ""],
        ["1M: pulsetrace HTML size", f"{results['html_bytes'].get('pulsetrace', 0) / mib:.1f} MiB", ""],
        ["1M: VizTracer HTML size", f"{results['html_bytes'].get('viztracer', 0) / mib:.1f} MiB", ""],
        ["1M: pulsetrace HTML save (median)", f"{statistics.median(saves['pulsetrace']):.2f} s", ""],
        ["1M: VizTracer HTML save (median)", _median_text(saves["viztracer"], "s"), ""],
        [
            "1M: navigation to first frame (median)",
            f"{statistics.median(one['first_frame_ms']):.0f} ms",
            "< 2000 ms",
        ],
        ["1M: ... of which bytes in hand / decoded (median)", _steps(one), ""],
        ["10M: slices", f"{ten['slices']:,}", ""],
        [
            "10M: navigation to first frame (median)",
            f"{statistics.median(ten['first_frame_ms']):.0f} ms",
            "< 10000 ms",
        ],
        ["10M: ... of which bytes in hand / decoded (median)", _steps(ten), ""],
        [
            "10M: browser PSS after load (median)",
            f"{statistics.median(ten['pss']) / mib:.0f} MiB",
            "< 2048 MiB",
        ],
        ["10M: browser peak PSS while loading (max)", f"{max(ten['peak_pss']) / mib:.0f} MiB", "< 2048 MiB"],
        [
            "10M: summed RSS / summed VmHWM (upper bounds)",
            f"{statistics.median(ten['rss']) / mib:.0f} / {max(ten['peak_rss']) / mib:.0f} MiB",
            "",
        ],
        ["10M: renderer JS heap (median)", f"{statistics.median(ten['js_heap']) / mib:.0f} MiB", ""],
    ]
    for label, key in (("1M", "frames_1m"), ("10M", "frames_10m")):
        frames = summarise(results[key]["intervals_ms"])
        draws = summarise(results[key]["draws_ms"])
        slow = sum(1 for interval in results[key]["intervals_ms"] if interval > 33.4)
        rows.append([f"{label}: frames over 33 ms", f"{slow} of {frames['n']}", "0"])
        rows.append(
            [f"{label}: frame interval med / p95 / max", f"{frames['median']:.1f} / {frames['p95']:.1f} / "
             f"{frames['max']:.1f} ms ({frames['n']} frames)", "< 33 ms"]
        )  # fmt: skip
        rows.append(
            [f"{label}: draw time med / p95 / max",
             f"{draws['median']:.1f} / {draws['p95']:.1f} / {draws['max']:.1f} ms", ""]
        )  # fmt: skip
    for label, key in (("1M", "flame_1m"), ("10M", "flame_10m")):
        flame = results[key]
        rows.append(
            [f"{label}: flamegraph tab built ({flame['nodes']:,} nodes)", f"{flame['built_ms']:.0f} ms", ""]
        )
        rows.append(
            [f"{label}: ... longest task meanwhile / tasks over 50 ms / round trips answered",
             f"{flame['longest_task_ms']:.0f} ms / {flame['long_tasks']} / {flame['answered']}", ""]
        )  # fmt: skip
    print(grid(["measure", "value", "target"], rows))
    before, after = results["load_average_before"][0], results["load_average_after"][0]
    print(f"load average (1 min) before / after: {before:.1f} / {after:.1f} on {results['cpus']} CPUs")


def _steps(found: Dict[str, Any]) -> str:
    ready, decoded = statistics.median(found["bytes_ready_ms"]), statistics.median(found["decoded_ms"])
    return f"{ready:.0f} / {decoded:.0f} ms"


def _median_text(values: List[float], unit: str) -> str:
    return f"{statistics.median(values):.2f} {unit}" if values else "unavailable"


if __name__ == "__main__":
    sys.exit(main())
