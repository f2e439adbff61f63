"""Timeline draw time of the same trace in two viewer pages side by side (e.g. one written by an older
checkout and one by this tree, with ``pulsetrace combine TRACE -o PAGE.html``), in one headless
Chromium: 18 windows (zoomed 1x to 10,000x, three positions each), each drawn 15 times; the fastest
draw per window (the least disturbed by other work on the machine), over 3 rounds alternating pages.

    python3 benchmarks/viewer_draw_compare.py old.html new.html
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Dict, List

DRAW = """() => {
  const t = window.pulsetraceViewer.timeline;
  const full = [t.trace.startNs, t.trace.endNs];
  const fastest = [];
  for (const zoom of [1, 3, 10, 100, 1000, 10000]) {
    const span = (full[1] - full[0]) / zoom;
    for (const at of [0.1, 0.5, 0.8]) {
      const middle = full[0] + (full[1] - full[0]) * at;
      t.setWindow(middle - span / 2, middle + span / 2);
      let best = Infinity;
      for (let i = 0; i < 15; i++) {
        const began = performance.now();
        t.draw();
        best = Math.min(best, performance.now() - began);
      }
      fastest.push(best);
    }
  }
  return fastest;
}"""


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("pages", nargs="+", type=Path, help="viewer pages of the same trace")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    rounds: Dict[Path, List[List[float]]] = {page: [] for page in args.pages}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"]
        )
        for _ in range(args.rounds):
            for path in args.pages:
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(path.resolve().as_uri())
                page.wait_for_function("window.pulsetraceViewer?.timeline?.firstFrameAt", timeout=120_000)
                page.evaluate(DRAW)  # warm up: summaries built, code compiled
                rounds[path].append(page.evaluate(DRAW))
                page.close()
        browser.close()
    for path, found in rounds.items():
        best = [min(window) for window in zip(*found)]
        shown = " ".join(f"{ms:.1f}" for ms in best)
        print(f"{path}: fastest draw per window (ms): {shown}; sum {sum(best):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
