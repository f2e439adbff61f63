"""The live view benchmark (issue 7): what watching a program live costs, beside the peers.

    python benchmarks/live.py [--python PY] [--reps 5] [--quick]

Overhead: a line-heavy loop (every line a few cheap operations) runs in fresh processes, the
repetitions interleaved, under: no tracer (baseline); ``pulsetrace run --lines``; ``pulsetrace live``
with a headless Chromium showing the loop's file page the whole time; heartrate tracing the loop's
file (its own server on a free loopback port, no browser). The program times its loop itself, after
the browser has connected, so start-up and connecting are not counted. Medians; ratios to the baseline.

Latency: a program hits a marker line at known wall-clock times under ``pulsetrace live``; the page,
open on that file, records (MutationObserver) when the line's hit count changes on screen. Latency is
the difference, per hit.

Targets (issue 7): live <= 1.2x ``run --lines`` (ratio of the medians), live's overhead <= 0.1x
heartrate's (overhead = ratio - 1), latency < 500 ms. Nothing is asserted; results go to stdout and
to benchmarks/results/live-py<version>-<time>.json. Needs playwright and Debian's chromium.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from resultfile import write_results

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
ADDRESS = re.compile(r"live view at (http://\S+)")
MODES = ("baseline", "run-lines", "live", "live-browser", "heartrate")  # live: no page open

LOOP = """
import os, sys, time

GO = sys.argv[1]
ROUNDS = int(sys.argv[2])

def step(values):
    total = 0
    for value in values:
        doubled = value * 2
        if doubled % 3:
            total += doubled
        else:
            total -= 1
    return total

while not os.path.exists(GO):  # the benchmark says when the page is watching
    time.sleep(0.01)
values = list(range(1000))
started = time.perf_counter()
result = 0
for _ in range(ROUNDS):
    result += step(values)
elapsed = time.perf_counter() - started
print(f"ELAPSED {elapsed:.6f} {result}")
"""

MARKER = """
import json, sys, time, random

GO, OUT, COUNT = sys.argv[1], sys.argv[2], int(sys.argv[3])
import os
while not os.path.exists(GO):
    time.sleep(0.01)
hits = []
random.seed(7)
for _ in range(COUNT):
    time.sleep(0.4 + random.random() * 0.4)
    hits.append(time.time() * 1000)
    marker = len(hits)  # MARKER
with open(OUT, "w") as handle:
    json.dump(hits, handle)
"""

HEARTRATE = """
import runpy, socket, sys
import heartrate

with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
script = sys.argv[1]
sys.argv = sys.argv[1:]
heartrate.trace(files=heartrate.files.path_contains(script), port=port, daemon=True)
runpy.run_path(script, run_name="__main__")
"""

WATCH = """
(line) => {
  // The file page is the heatmap's: a row is drawn again when its numbers change, so the whole code
  // block is observed and the line's count read from whichever row is there now.
  window.__seen = [];
  const code = document.querySelector(".code");
  const read = () => document.getElementById(`L${line}`)?.querySelector(".hits")?.textContent ?? "";
  let last = read();
  new MutationObserver(() => {
    const now = read();
    if (now !== last) window.__seen.push([Date.now(), (last = now)]);
  }).observe(code, {childList: true, characterData: true, subtree: true});
}
"""


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def environment() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(SRC)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    for name in ("PULSETRACE_CORE", "PULSETRACE_BACKEND", "PYTHONWARNINGS"):
        env.pop(name, None)
    return env


class Browser:
    """One headless Chromium for the whole benchmark."""

    def __init__(self) -> None:
        from playwright.sync_api import sync_playwright

        chromium = shutil.which("chromium")
        if chromium is None:
            raise SystemExit("Debian's chromium is needed (apt-get install chromium)")
        self._playwright = sync_playwright().start()
        self.browser = self._playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])

    def close(self) -> None:
        self.browser.close()
        self._playwright.stop()


def _address(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    end = time.monotonic() + 30
    while time.monotonic() < end:
        line = process.stderr.readline()
        if not line:
            break
        match = ADDRESS.search(line)
        if match:
            return match.group(1)
    process.kill()
    raise RuntimeError("pulsetrace live printed no address: " + (process.communicate()[1] or ""))


def _open_file_page(browser: Browser, url: str) -> Any:
    """A page on the traced file's live page (once the server has seen it run), showing its source."""
    deadline = time.monotonic() + 60
    while True:
        with urllib.request.urlopen(url + "api/state", timeout=10) as answer:
            files = json.loads(answer.read())["heatmap"]["files"]
        if files:
            break
        if time.monotonic() > deadline:
            raise RuntimeError("the live view never showed the traced file")
        time.sleep(0.1)
    page = browser.browser.new_page()
    page.goto(url + "file/" + files[0]["id"])
    page.locator(".code .row[id^='L'] .src").first.wait_for(timeout=60000)
    return page


def start(command: List[str], work: Path) -> subprocess.Popen[str]:
    """One measured process in ``work``, its output read as text."""
    return subprocess.Popen(
        command,
        cwd=str(work),
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def run_once(
    python: str, mode: str, script: Path, rounds: int, work: Path, browser: Optional[Browser]
) -> float:
    """One fresh process of ``mode``; the loop's own elapsed seconds."""
    go = work / f"go-{mode}-{random.random():.9f}"
    args = [str(go), str(rounds)]
    if mode == "baseline":
        command = [python, str(script), *args]
    elif mode == "run-lines":
        command = [
            python,
            "-m",
            "pulsetrace",
            "run",
            "--lines",
            "-q",
            "-o",
            str(work / "t.pulse"),
            str(script),
            *args,
        ]
    elif mode == "heartrate":
        wrapper = work / "heartrate_run.py"
        wrapper.write_text(HEARTRATE)
        command = [python, str(wrapper), str(script), *args]
    else:
        command = [python, "-m", "pulsetrace", "live", "--port", "0", str(script), *args]
    process = start(command, work)
    page = None
    try:
        if mode == "live-browser":
            assert browser is not None
            # The loop's first line runs before GO exists: the file has an id and numbers to show.
            page = _open_file_page(browser, _address(process))
        go.write_text("")
        out, err = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        if page is not None:
            page.close()
    found = re.search(r"ELAPSED (\S+)", out)
    if process.returncode != 0 or found is None:
        raise RuntimeError(f"{mode} failed (status {process.returncode}): {err.strip()[-500:]}")
    return float(found.group(1))


def measure_latency(python: str, work: Path, browser: Browser, count: int) -> Dict[str, Any]:
    """Line hit (the program's wall clock) to pixel (the page's DOM change), per hit, in ms."""
    script = work / "marker.py"
    script.write_text(MARKER)
    line = next(n for n, text in enumerate(script.read_text().splitlines(), 1) if "# MARKER" in text)
    go, out = work / "go-latency", work / "hits.json"
    command = [python, "-m", "pulsetrace", "live", "--port", "0", str(script), str(go), str(out), str(count)]
    process = start(command, work)
    try:
        page = _open_file_page(browser, _address(process))
        page.evaluate(WATCH, line)
        go.write_text("")
        process.communicate(timeout=120)
        page.wait_for_timeout(300)
        seen: List[Tuple[float, str]] = page.evaluate("window.__seen")
        page.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    hits = json.loads(out.read_text())
    shown: Dict[int, float] = {}
    for when, text in seen:  # the first time each count appeared on screen
        digits = text.replace(",", "").strip()
        if digits.isdigit() and int(digits) not in shown:
            shown[int(digits)] = when
    latencies = [shown[n] - hit for n, hit in enumerate(hits, 1) if n in shown]
    return {
        "hits": len(hits),
        "seen": len(latencies),
        "median_ms": statistics.median(latencies) if latencies else None,
        "max_ms": max(latencies) if latencies else None,
        "all_ms": [round(x, 1) for x in latencies],
    }


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter to benchmark (default: this)")
    parser.add_argument("--reps", type=int, help="fresh processes per mode (default 5; --quick: 2)")
    parser.add_argument("--quick", action="store_true", help="a short loop and 2 reps: a smoke test")
    parser.add_argument("--seed", type=int, default=0, help="seed of the interleaving order")
    parser.add_argument("--output", help="results JSON (default: under benchmarks/results/)")
    args = parser.parse_args(argv)
    reps = args.reps or (2 if args.quick else 5)
    rounds = 150 if args.quick else 1500
    version = subprocess.run(
        [args.python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    subprocess.run([args.python, "-m", "compileall", "-q", str(SRC / "pulsetrace")], capture_output=True)
    say(f"live view on Python {version}, {reps} reps, loop of {rounds} x 1000 iterations")
    results: Dict[str, Any] = {
        "python": version,
        "command": shlex.join([sys.executable, sys.argv[0], *argv]),
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_average": {"start": list(os.getloadavg())},
        "reps": reps,
        "rounds": rounds,
    }
    order = [mode for _ in range(reps) for mode in MODES]
    random.Random(args.seed).shuffle(order)
    times: Dict[str, List[float]] = {mode: [] for mode in MODES}
    browser = Browser()
    try:
        with tempfile.TemporaryDirectory(prefix="pulsetrace-live-bench-") as temp:
            work = Path(temp)
            script = work / "line_loop.py"
            script.write_text(LOOP)
            for mode in order:
                times[mode].append(run_once(args.python, mode, script, rounds, work, browser))
                say(f"  {mode}: {times[mode][-1]:.3f} s")
            results["latency"] = measure_latency(args.python, work, browser, 6 if args.quick else 12)
    finally:
        browser.close()
    medians = {mode: statistics.median(values) for mode, values in times.items()}
    base = medians["baseline"]
    results["overhead"] = {
        mode: {"median_s": medians[mode], "ratio": medians[mode] / base, "all_s": times[mode]}
        for mode in MODES
    }
    ratio = {mode: medians[mode] / base for mode in MODES}
    vs_lines = ratio["live-browser"] / ratio["run-lines"]
    vs_heartrate = (ratio["live-browser"] - 1) / (ratio["heartrate"] - 1) if ratio["heartrate"] > 1 else None
    latency = results["latency"]["median_ms"]
    # Not a goal: how much of live's cost is the open page (Chromium shares the machine's cores).
    results["live_without_page_vs_run_lines"] = ratio["live"] / ratio["run-lines"]
    results["goals"] = [
        {"goal": "live with a browser <= 1.2x run --lines", "measured": vs_lines, "met": vs_lines <= 1.2},
        {
            "goal": "live's overhead <= 0.1x heartrate's",
            "measured": vs_heartrate,
            "met": None if vs_heartrate is None else vs_heartrate <= 0.1,
        },
        {
            "goal": "line hit to pixel < 500 ms (median; max reported)",
            "measured": latency,
            "met": None if latency is None else latency < 500,
        },
    ]
    results["load_average"]["end"] = list(os.getloadavg())
    print(f"{'mode':<14} {'median s':>9} {'x baseline':>11}")
    for mode in MODES:
        print(f"{mode:<14} {medians[mode]:>9.4f} {ratio[mode]:>11.2f}")
    print(f"live without a page open / run --lines: {results['live_without_page_vs_run_lines']:.3f}")
    lat = results["latency"]
    print(
        f"latency: median {lat['median_ms']} ms, max {lat['max_ms']} ms"
        f" ({lat['seen']} of {lat['hits']} hits seen)"
    )
    for goal in results["goals"]:
        measured = "n/a" if goal["measured"] is None else f"{goal['measured']:.3f}"
        verdict = {True: "met", False: "MISSED", None: "n/a"}[goal["met"]]
        print(f"goal: {goal['goal']}: {measured} {verdict}")
    write_results(results, f"live-py{version}", args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
