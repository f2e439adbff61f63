"""The flamegraph (web/flamegraph.js) and its merged call trees (web/aggregate.js) in Chromium, on a
real trace written by the real CLI and decoded by the viewer's own decoder (web/model.js).

The oracle for every width is pulsetrace's own reports.stacks (self time per distinct stack): a
frame's total is the self time of every stack that starts with its path.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from viewer_helpers import OPEN_VIEW, ORIGIN

from helpers_cli import run_pulsetrace, write
from pulsetrace.model import Trace, read_any_trace
from pulsetrace.reports.stacks import self_time_by_stack

FunctionKey = Tuple[int, str, str, int]
Path_ = Tuple[FunctionKey, ...]

PROGRAM = """
import threading

def spin(n):
    total = 0
    for i in range(n):
        total += i
    return total

def leaf():
    return spin(3000)

def middle():
    for _ in range(3):
        leaf()
    return spin(1000)

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def main():
    worker = threading.Thread(target=fib, args=(11,), name="fibber")
    worker.start()
    for _ in range(5):
        middle()
    fib(12)
    worker.join()

main()
"""

# The view's current tree as rows: stack of function ids (root first), total, self, calls.
TREE_ROWS = """
() => {
  const tree = view.tree;
  const rows = [];
  for (let node = 1; node < tree.size; node++) {
    rows.push([tree.stack(node), tree.total[node], tree.self[node], tree.calls[node]]);
  }
  return rows;
}
"""


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Trace, bytes]:
    """The program's trace, as the model reads it and as the file's bytes."""
    folder = tmp_path_factory.mktemp("flame")
    program = write(folder / "prog.py", PROGRAM)
    result = run_pulsetrace(["run", "-o", "prog.pulse", str(program)], folder)
    assert result.returncode == 0, result.stderr
    return read_any_trace(folder / "prog.pulse"), (folder / "prog.pulse").read_bytes()


@pytest.fixture
def flame(module_page: Any, traced: Tuple[Trace, bytes]) -> Any:
    """A page showing the flamegraph of the traced program."""
    module_page.evaluate(OPEN_VIEW, {"bytes64": base64.b64encode(traced[1]).decode(), "module": "flamegraph",
                                     "className": "FlameGraphView"})
    return module_page


def expected_tree(trace: Trace, thread_index: int = -1) -> Dict[Path_, int]:
    """Total ns per call path (function keys, root first) of all threads merged, or of one thread."""
    process = trace.processes[0]
    keys = [(info.kind, info.name, info.filename, info.lineno) for info in process.functions]
    threads = process.threads if thread_index < 0 else [process.threads[thread_index]]
    totals: Dict[Path_, int] = {}
    for thread in threads:
        for stack, own in self_time_by_stack(thread).items():
            path = tuple(keys[func] for func in stack)
            for depth in range(1, len(path) + 1):
                totals[path[:depth]] = totals.get(path[:depth], 0) + own
    return totals


def page_tree(flame: Any) -> Dict[Path_, int]:
    functions = flame.evaluate("trace.functions.map((f) => [f.kind, f.name, f.filename, f.lineno])")
    keys = [tuple(f) for f in functions]
    rows = flame.evaluate(TREE_ROWS)
    return {tuple(keys[func] for func in stack): int(total) for stack, total, _, _ in rows}


def frames(flame: Any) -> List[Dict[str, Any]]:
    return list(flame.evaluate("view.framesOnScreen()"))


def frame_named(flame: Any, name: str, depth: int = -1) -> Dict[str, Any]:
    """The widest frame on screen with this function name (at this depth if given)."""
    found = [f for f in frames(flame) if f["name"] == name and (depth < 0 or f["depth"] == depth)]
    assert found, f"no frame {name!r} on screen"
    return max(found, key=lambda f: f["width"])


def click(flame: Any, frame: Dict[str, Any]) -> None:
    flame.mouse.click(frame["x"] + min(frame["width"] / 2, 20), frame["y"] + frame["height"] / 2)


def test_merged_tree_matches_the_stacks_of_every_thread(flame: Any, traced: Tuple[Trace, bytes]) -> None:
    assert page_tree(flame) == expected_tree(traced[0])


def expected_inverted_tree(trace: Trace, levels: int = 1 << 30) -> Dict[Path_, int]:
    """Self ns per caller path (the function where the time was spent first, then its callers), at most
    ``levels`` functions long."""
    totals: Dict[Path_, int] = {}
    process = trace.processes[0]
    keys = [(info.kind, info.name, info.filename, info.lineno) for info in process.functions]
    for thread in process.threads:
        for stack, own in self_time_by_stack(thread).items():
            callers = tuple(keys[func] for func in reversed(stack))
            for depth in range(1, min(len(callers), levels) + 1):
                totals[callers[:depth]] = totals.get(callers[:depth], 0) + own
    return totals


def test_inverted_tree_matches_the_stacks_read_from_the_top(flame: Any, traced: Tuple[Trace, bytes]) -> None:
    flame.get_by_role("button", name="Self time").click()
    assert page_tree(flame) == expected_inverted_tree(traced[0])
    assert flame.locator(".pt-flame-depth-note").is_hidden()


def test_inverted_tree_within_a_node_budget_follows_fewer_callers(
    flame: Any, traced: Tuple[Trace, bytes]
) -> None:
    full = expected_inverted_tree(traced[0])
    budget = len(full) // 2
    rows = flame.evaluate(
        f"""async (budget) => {{
          const aggregate = await import("{ORIGIN}/aggregate.js");
          const inverted = aggregate.invertCallTree(aggregate.buildCallTree(trace), budget);
          const rows = [];
          for (let node = 1; node < inverted.size; node++) {{
            rows.push([inverted.stack(node), inverted.total[node]]);
          }}
          return [inverted.callerLevels, rows];
        }}""",
        budget,
    )
    levels, nodes = rows
    assert 1 <= levels < max(len(path) for path in full)
    assert len(nodes) <= budget
    functions = flame.evaluate("trace.functions.map((f) => [f.kind, f.name, f.filename, f.lineno])")
    keys = [tuple(f) for f in functions]
    got = {tuple(keys[func] for func in stack): int(total) for stack, total in nodes}
    assert got == expected_inverted_tree(traced[0], levels)


def test_root_children_are_as_wide_as_their_share(flame: Any, traced: Tuple[Trace, bytes]) -> None:
    shown = frames(flame)
    root = next(f for f in shown if f["depth"] == 0)
    assert root["name"] == "all threads" and root["x"] == 0 and root["width"] == 1200
    assert root["total"] == sum(t for path, t in expected_tree(traced[0]).items() if len(path) == 1)
    children = sorted((f for f in shown if f["depth"] == 1), key=lambda f: f["x"])
    assert children, "the root has children on screen"
    for child in children:
        assert child["width"] == pytest.approx(1200 * child["total"] / root["total"], abs=1e-6)
    # the heaviest child comes first, at the left edge
    assert children[0]["x"] == 0 and children[0]["total"] == max(c["total"] for c in children)
    names = {f["name"] for f in shown}
    assert {"main", "middle", "leaf", "spin", "fib"} <= names


def test_click_zooms_into_a_frame_and_the_breadcrumb_zooms_out(flame: Any) -> None:
    middle = frame_named(flame, "middle")
    click(flame, middle)
    zoomed = frame_named(flame, "middle")
    assert zoomed["x"] == 0 and zoomed["width"] == pytest.approx(1200)
    shown = frames(flame)
    below = [f for f in shown if f["depth"] > middle["depth"]]
    assert below and {f["name"] for f in below} <= {"leaf", "spin"}  # only middle's own callees
    leaf = frame_named(flame, "leaf", middle["depth"] + 1)
    assert leaf["width"] == pytest.approx(1200 * leaf["total"] / zoomed["total"], abs=1e-6)
    crumbs = flame.locator(".pt-flame-crumb").all_inner_texts()
    assert crumbs[0] == "all threads" and crumbs[-1] == "middle" and "main" in crumbs
    # an ancestor stays above, full width: clicking it zooms out to it
    click(flame, frame_named(flame, "main"))
    assert frame_named(flame, "main")["width"] == pytest.approx(1200)
    assert flame.locator(".pt-flame-crumb").all_inner_texts()[-1] == "main"
    # the selected frame's function can be highlighted in the timeline
    flame.get_by_role("button", name="Show in timeline").click()
    main_func = flame.evaluate("trace.functions.findIndex((f) => f.name === 'main')")
    assert flame.evaluate("app.requests") == [["highlightFunction", main_func]]
    flame.get_by_role("button", name="Reset zoom").click()
    assert flame.locator(".pt-flame-crumb").all_inner_texts() == ["all threads"]
    assert flame.get_by_role("button", name="Reset zoom").is_disabled()
    assert not flame.get_by_role("button", name="Show in timeline").is_disabled()  # main stays selected
    # Escape goes up one level
    click(flame, frame_named(flame, "leaf"))
    flame.keyboard.press("Escape")
    assert flame.locator(".pt-flame-crumb").all_inner_texts()[-1] == "middle"


def test_self_time_mode_shows_functions_by_self_time_with_their_callers(flame: Any) -> None:
    flame.get_by_role("button", name="Self time").click()
    assert flame.get_by_role("button", name="Self time").get_attribute("aria-pressed") == "true"
    self_by_name: Dict[str, float] = {}
    totals = flame.evaluate(f"""async () => {{
      const aggregate = await import("{ORIGIN}/aggregate.js");
      const totals = aggregate.functionTotals(trace);
      return trace.functions.map((f, id) => [f.name, totals.self[id]]);
    }}""")
    for name, own in totals:
        self_by_name[name] = self_by_name.get(name, 0) + own
    tops = sorted((f for f in frames(flame) if f["depth"] == 1), key=lambda f: f["x"])
    assert tops[0]["name"] == max(self_by_name, key=lambda name: self_by_name[name])
    for top in tops:
        assert top["total"] == self_by_name[top["name"]]
    # above spin: its callers, leaf (3000 per call, three times per middle) heavier than middle
    spin = frame_named(flame, "spin", 1)
    spin_callers = sorted(
        (f for f in frames(flame) if f["depth"] == 2 and spin["x"] <= f["x"] < spin["x"] + spin["width"]),
        key=lambda f: f["x"],
    )
    assert [f["name"] for f in spin_callers][:2] == ["leaf", "middle"]
    flame.get_by_role("button", name="Total time").click()
    tops = sorted((f for f in frames(flame) if f["depth"] == 1), key=lambda f: f["x"])
    assert tops[0]["name"] == "<module>"  # the main thread's top level, the widest by total time


def test_search_highlights_and_counts_matching_frames(flame: Any, traced: Tuple[Trace, bytes]) -> None:
    flame.evaluate("view.setSearch('FIB')")
    tree = expected_tree(traced[0])
    expected = sum(1 for path in tree if "fib" in path[-1][1].lower())
    assert expected > 10  # every recursion level is a frame of its own
    assert flame.evaluate("app.matchCount") == expected
    # the time under matching frames, each moment once: the outermost fib of each stack
    outermost = sum(
        total for path, total in tree.items()
        if path[-1][1] == "fib" and all(key[1] != "fib" for key in path[:-1])
    )
    share = 100 * outermost / sum(total for path, total in tree.items() if len(path) == 1)
    shown = flame.locator(".pt-flame-matches").inner_text()
    assert shown.startswith(f"{expected} frames match, ")
    share_text = shown.split(", ")[1].split("%")[0]
    assert float(share_text) == pytest.approx(share, abs=0.051 if share >= 10 else 0.0051)
    flame.evaluate("view.setSearch('')")
    assert flame.evaluate("app.matchCount") == 0 and flame.locator(".pt-flame-matches").inner_text() == ""


def test_thread_picker_shows_one_thread(flame: Any, traced: Tuple[Trace, bytes]) -> None:
    trace = traced[0]
    index = next(i for i, thread in enumerate(trace.processes[0].threads) if thread.name == "fibber")
    flame.locator(".pt-flame-thread").select_option(str(index))
    assert page_tree(flame) == expected_tree(trace, index)
    root = next(f for f in frames(flame) if f["depth"] == 0)
    assert root["name"].startswith("fibber (tid ")
    assert "main" not in {f["name"] for f in frames(flame)}


def test_focus_function_zooms_to_its_widest_frame(flame: Any) -> None:
    func = flame.evaluate("trace.functions.findIndex((f) => f.name === 'leaf')")
    flame.evaluate(f"view.focusFunction({func})")
    crumbs = flame.locator(".pt-flame-crumb").all_inner_texts()
    assert crumbs[-1] == "leaf" and crumbs[-2] == "middle"
    assert frame_named(flame, "leaf")["width"] == pytest.approx(1200)


def test_hover_shows_a_tooltip(flame: Any) -> None:
    middle = frame_named(flame, "middle")
    flame.mouse.move(middle["x"] + 5, middle["y"] + 5)
    tooltip = flame.locator(".pt-flame-tooltip")
    assert tooltip.is_visible()
    assert tooltip.locator(".pt-flame-tooltip-name").inner_text() == "middle"
    terms = tooltip.locator("dt").all_inner_texts()
    values = dict(zip(terms, tooltip.locator("dd").all_inner_texts()))
    assert values[""].endswith("prog.py:12")  # def middle()
    assert values["Calls"] == "5"
    assert values["Total"].endswith("of all)") and values["Self"] and values["Of parent"].endswith("%")
    flame.mouse.move(5, 780)
    assert not tooltip.is_visible()


@pytest.fixture(scope="module")
def standalone_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The program's standalone HTML, as `pulsetrace run -o prog.html` writes it."""
    folder = tmp_path_factory.mktemp("flame-html")
    program = write(folder / "prog.py", PROGRAM)
    result = run_pulsetrace(["run", "-o", "prog.html", str(program)], folder)
    assert result.returncode == 0, result.stderr
    return folder / "prog.html"


def test_the_viewer_page_shows_the_flamegraph(page: Any, standalone_page: Path) -> None:
    page.goto(standalone_page.as_uri())
    page.wait_for_function("window.pulsetraceViewer && window.pulsetraceViewer.trace !== null")
    page.get_by_role("tab", name="Flamegraph").click()
    shown = page.evaluate("window.pulsetraceViewer.views.flamegraph.framesOnScreen()")
    assert {"<module>", "main", "middle", "leaf", "spin", "fib"} <= {f["name"] for f in shown}
    middle = max((f for f in shown if f["name"] == "middle"), key=lambda f: f["width"])
    page.mouse.click(middle["x"] + 10, middle["y"] + 5)
    assert page.locator(".pt-flame-crumb").all_inner_texts() == ["all threads", "<module>", "main", "middle"]
    # the shared search box: fib recurses 12 levels deep in the main thread and 11 in the worker, and
    # each level is a frame of its own
    page.locator("#search").fill("fib")
    expect_text(page, "#match-count", "23 matches")
    assert page.locator(".pt-flame-matches").inner_text().startswith("23 frames match")
    page.get_by_role("tab", name="Timeline").click()
    page.get_by_role("tab", name="Flamegraph").click()
    assert page.locator(".pt-flame-crumb").all_inner_texts()[-1] == "middle"  # the zoom is kept


def expect_text(page: Any, selector: str, text: str) -> None:
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector).textContent === text", arg=[selector, text]
    )


DEEP_PROGRAM = """
def down(n):
    return down(n - 1) + 1 if n else sum(range(1000))

down(400)
"""


def test_a_deep_stack_scrolls_in_a_canvas_the_size_of_the_view(module_page: Any, tmp_path: Path) -> None:
    program = write(tmp_path / "deep.py", DEEP_PROGRAM)
    result = run_pulsetrace(["run", "-o", "deep.pulse", str(program)], tmp_path)
    assert result.returncode == 0, result.stderr
    data = base64.b64encode((tmp_path / "deep.pulse").read_bytes()).decode()
    module_page.evaluate(OPEN_VIEW, {"bytes64": data, "module": "flamegraph", "className": "FlameGraphView"})
    size = module_page.evaluate("[view.canvas.clientHeight, view.scroller.clientHeight, view.tree.maxDepth]")
    assert size[0] == size[1] and size[2] > 400  # the canvas is no taller than the view
    deepest = max(f["depth"] for f in frames(module_page))
    assert deepest < size[2]
    box = module_page.locator(".pt-flame-scroll").bounding_box()
    module_page.mouse.move(box["x"] + 100, box["y"] + 100)
    for _ in range(40):
        module_page.mouse.wheel(0, 600)
    at_bottom = "(s) => s.scrollTop + s.clientHeight >= s.scrollHeight - 1"
    module_page.wait_for_function(f"({at_bottom})(view.scroller)")
    # the last drawing is of the scroller's final place (a scroll is drawn on the next frame), so the
    # frames' places read from it are where a click finds them
    drawn_here = "view.scrollTop === view.scroller.scrollTop"
    module_page.wait_for_function(f"{drawn_here} && view.drawn.some(([n, x, w, d]) => d === {size[2]})")
    shown = frames(module_page)
    bottom = max(shown, key=lambda f: f["depth"])
    assert bottom["name"] == "builtins.sum" and bottom["depth"] == size[2]
    assert box["y"] <= bottom["y"] and bottom["y"] + bottom["height"] <= box["y"] + box["height"]
    # the frame under the mouse is the one drawn there
    module_page.mouse.click(bottom["x"] + 5, bottom["y"] + 5)
    assert module_page.locator(".pt-flame-crumb").last.inner_text() == "builtins.sum"
