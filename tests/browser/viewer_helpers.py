"""Shared by the viewer's browser tests: making real traces with the real CLI, opening them, and opening
one view of web/ on a ``module_page`` (conftest.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

from helpers_cli import run_pulsetrace

LOAD_TIMEOUT_MS = 20_000
WEB = Path(__file__).resolve().parents[2] / "src" / "pulsetrace" / "web"
# The made-up origin whose files are web/ (the ``module_page`` fixture, conftest.py).
ORIGIN = "http://pulsetrace.test"

# The test program: known functions, known call counts, arguments worth reading.
PROGRAM = """\
def leaf(n):
    total = 0
    for i in range(n):
        total += i
    return total


def middle(k):
    results = []
    for i in range(k):
        results.append(leaf(200 + i))
    return len(results)


def outer(rounds):
    for _ in range(rounds):
        middle(20)


outer(3)
"""
LEAF_CALLS = 3 * 20

# A made-up trace in the viewer's in-memory form (what model.js decodes), for the tests of work done in
# steps: `makeUpTrace(sizes, seed, resumedShare)` has one thread per size, each a random call tree 40
# deep over 1,000 functions f0..f999 (so nearly every call is a stack of its own); resumedShare of the
# slices are resumed generators (time but no call). Plain JavaScript, for a page.evaluate body.
MAKE_UP_TRACE = """
const makeUpTrace = (sizes, seed, resumedShare) => {
  const random = () => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
    return (seed >>> 0) / 4294967296;
  };
  const makeThread = (n, index) => {
    const slices = { count: n, start: new Float64Array(n), end: new Float64Array(n), func: new Int32Array(n),
                     depth: new Uint16Array(n), parent: new Int32Array(n), flags: new Uint8Array(n) };
    const stack = [];
    let t = 0;
    for (let i = 0; i < n; i++) {
      while (stack.length > 0 && (stack.length >= 40 || random() < 0.45)) slices.end[stack.pop()] = t++;
      slices.start[i] = t++;
      slices.func[i] = Math.floor(random() * 1000);
      slices.depth[i] = stack.length;
      slices.parent[i] = stack.length > 0 ? stack[stack.length - 1] : -1;
      if (resumedShare > 0) slices.flags[i] = random() < resumedShare ? 1 : 0;
      stack.push(i);
    }
    while (stack.length > 0) slices.end[stack.pop()] = t++;
    return { index, name: `worker-${index}`, nativeId: 100 + index, pid: 1, slices, maxDepth: 40 };
  };
  const functions = Array.from({ length: 1000 },
                               (_, i) => ({ name: `f${i}`, filename: "m.py", lineno: i + 1, kind: 0 }));
  const threads = sizes.map((n, index) => makeThread(n, index));
  return { functions, processes: [{ pid: 1, name: "made-up", threads }], threads, startNs: 0 };
};
"""


def percent(text: str) -> int:
    """The percentage at the end of a progress message (``Adding up ... 42%``)."""
    match = re.search(r"… (\d+)%$", text)
    assert match is not None, text
    return int(match.group(1))


def text_fits(page: Any, selector: str) -> Tuple[str, bool]:
    """A cell's text and whether all of it is inside the cell (nothing cut off or spilling out)."""
    shown, fits = page.eval_on_selector(
        selector,
        """cell => {
             const range = document.createRange();
             range.selectNodeContents(cell);
             const text = range.getBoundingClientRect();
             const box = cell.getBoundingClientRect();
             const inside = text.left >= box.left - 0.5 && text.right <= box.right + 0.5;
             return [cell.textContent, cell.scrollWidth <= cell.clientWidth && inside];
           }""",
    )
    return str(shown), bool(fits)


# Builds a view of web/<module>.js on the decoded trace in a 1200x700 pane, with a stand-in for the
# app shell that records what the view asks of it.
OPEN_VIEW = f"""
async ({{bytes64, module, className}}) => {{
  const model = await import("{ORIGIN}/model.js");
  const format = await import("{ORIGIN}/format.js");
  const views = await import(`{ORIGIN}/${{module}}.js`);
  const raw = Uint8Array.from(atob(bytes64), (c) => c.charCodeAt(0));
  const trace = await model.decodeTrace(raw);
  document.body.style.margin = "0";
  document.body.innerHTML = '<div id="pane" style="width:1200px;height:700px"></div>';
  const app = {{
    requests: [],
    matchCount: null,
    highlightFunction(funcId) {{ this.requests.push(["highlightFunction", funcId]); }},
    openFunctionInFlamegraph(funcId) {{ this.requests.push(["openFunctionInFlamegraph", funcId]); }},
    showView(name) {{ this.requests.push(["showView", name]); }},
    setMatchCount(view, n) {{ this.matchCount = n; }},
    formatDuration: (ns) => format.formatDuration(ns),
    threadLabel: (thread) => `${{thread.name}} (tid ${{thread.nativeId}})`,
  }};
  const view = new views[className](document.getElementById("pane"), trace, app);
  Object.assign(window, {{ view, app, trace }});
  view.show();
}}
"""


def trace_program(directory: Path, source: str, output: str, *options: str) -> Path:
    """Run ``source`` under ``pulsetrace run`` (the real CLI) and return the written trace's path."""
    program = directory / "prog.py"
    program.write_text(source)
    result = run_pulsetrace(["run", "-q", *options, "-o", output, "prog.py"], directory)
    assert result.returncode == 0, result.stderr
    return directory / output


def open_viewer(page: Any, url: str) -> None:
    """Navigate and wait until the timeline drew its first frame."""
    page.goto(url)
    page.wait_for_function(
        "(app => app && (app.timeline?.firstFrameAt || app.failure))(window.pulsetraceViewer)",
        timeout=LOAD_TIMEOUT_MS,
    )
    failure = page.evaluate("window.pulsetraceViewer.failure ?? null")
    assert failure is None, failure


def window_span(page: Any) -> List[float]:
    """The timeline's visible time window [t0, t1] in ns."""
    return page.evaluate("[window.pulsetraceViewer.timeline.t0, window.pulsetraceViewer.timeline.t1]")


def slice_of(page: Any, function: str, nth: int = 0, thread: int = 0) -> Dict[str, Any]:
    """The nth slice (in time order) of the function named ``function``, with its on-screen rectangle."""
    return page.evaluate(
        """([name, nth, threadIndex]) => {
            const app = window.pulsetraceViewer;
            const thread = app.trace.threads[threadIndex];
            const funcId = app.trace.functions.findIndex((f) => f.name === name);
            const { func, count, start, end } = thread.slices;
            let seen = 0;
            for (let i = 0; i < count; i++) {
                if (func[i] === funcId && seen++ === nth) {
                    const rect = app.timeline.sliceRect(thread, i);
                    return { index: i, start: start[i], end: end[i], rect };
                }
            }
            return null;
        }""",
        [function, nth, thread],
    )


def selected(page: Any) -> Any:
    """The selected slice as {name, index}, or null."""
    return page.evaluate(
        """() => {
            const s = window.pulsetraceViewer.selection;
            if (!s || s.type !== "slice") return s ? { type: s.type } : null;
            const app = window.pulsetraceViewer;
            return { name: app.trace.functions[s.thread.slices.func[s.index]].name, index: s.index,
                     start: s.thread.slices.start[s.index] };
        }"""
    )


def details(page: Any) -> Dict[str, str]:
    """The details panel's fields, as shown: label (lower-case, dashed) -> text."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#details tr')]
              .map((row) => [row.dataset.field, row.querySelector('td').textContent]))"""
    )


def center(rect: Dict[str, float]) -> List[float]:
    return [rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2]
