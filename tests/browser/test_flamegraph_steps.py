"""The flamegraph of a trace with a million distinct stacks, in Chromium: the tree is built in steps
with a progress message while the page keeps answering, waits while the tab is hidden, is dropped
when another thread is chosen, and a search meanwhile is counted in the finished tree."""

from __future__ import annotations

from typing import Any, List

import pytest
from viewer_helpers import MAKE_UP_TRACE, ORIGIN, percent

# A made-up trace in the viewer's in-memory form: two threads of random call trees 40 deep over 1,000
# functions, so nearly every slice is a stack of its own (the flamegraph's worst case).
SYNTHETIC = f"""
async ([sizes]) => {{
  const views = await import("{ORIGIN}/flamegraph.js");
  const format = await import("{ORIGIN}/format.js");
  {MAKE_UP_TRACE}
  const trace = makeUpTrace(sizes, 12345, 0);
  document.body.style.margin = "0";
  document.body.innerHTML = '<div id="pane" style="width:1200px;height:700px"></div>';
  const app = {{
    matchCount: "never set",
    setMatchCount(view, n) {{ this.matchCount = n; }},
    highlightFunction() {{}},
    formatDuration: (ns) => format.formatDuration(ns),
    threadLabel: (thread) => `${{thread.name}} (tid ${{thread.nativeId}})`,
  }};
  const view = new views.FlameGraphView(document.getElementById("pane"), trace, app);
  Object.assign(window, {{ view, app, trace }});
  const began = performance.now();
  view.show();
  return {{ showMs: performance.now() - began, treeNow: view.tree !== null }};
}}
"""

PROGRESS = "(p => p.hidden ? null : p.textContent)(document.querySelector('.pt-flame-progress'))"


# The frames of the view's tree whose function's name contains the text, counted here from the tree.
FRAMES_NAMED = """(text) => {
  let frames = 0;
  for (let node = 1; node < view.tree.size; node++) {
    if (trace.functions[view.tree.func[node]].name.includes(text)) frames++;
  }
  return frames;
}"""


def watch_progress(page: Any, until_done: bool = True) -> List[int]:
    """The percentages the progress message showed, read one page round trip after another: each read
    is a task of its own on the page's thread, so every read between two values means the page was
    free to answer in the middle of the build."""
    seen: List[int] = []
    for _ in range(2000):
        text = page.evaluate(PROGRESS)
        if text is None:
            break
        if not seen or percent(text) != seen[-1]:
            seen.append(percent(text))
        if not until_done and len(seen) >= 3:
            break
        page.wait_for_timeout(20)
    return seen


@pytest.fixture
def big(module_page: Any) -> Any:
    opened = module_page.evaluate(SYNTHETIC, [[1_200_000, 300_000]])
    assert not opened["treeNow"], "a million stacks are not built inside show()"
    return module_page


def test_a_worst_case_flamegraph_builds_in_steps_with_progress(big: Any) -> None:
    text = big.evaluate(PROGRESS)
    assert text is not None and text.startswith("Building the flamegraph of all threads (1,500,000 calls)…")
    seen = watch_progress(big)
    assert len(seen) >= 3 and seen == sorted(seen), seen  # the page answered between steps
    assert big.evaluate("view.tree !== null && view.job === null")
    # The same tree as built in one go.
    same = big.evaluate(
        f"""async () => {{
          const aggregate = await import("{ORIGIN}/aggregate.js");
          const whole = aggregate.buildCallTree(trace);
          const tree = view.tree;
          let equal = whole.size === tree.size;
          for (let node = 0; equal && node < tree.size; node++) {{
            equal = whole.func[node] === tree.func[node] && whole.parent[node] === tree.parent[node]
              && whole.total[node] === tree.total[node] && whole.x[node] === tree.x[node];
          }}
          return {{ equal, size: tree.size }};
        }}"""
    )
    assert same["equal"] and same["size"] > 1_000_000
    assert {f["name"] for f in big.evaluate("view.framesOnScreen()")} >= {"all threads"}
    # The self-time tree of so many stacks is built in steps too.
    big.get_by_role("button", name="Self time").click()
    assert big.evaluate(PROGRESS).startswith("Building the self-time flamegraph of all threads")
    assert len(watch_progress(big)) >= 2
    assert big.evaluate("view.tree !== null && view.tree.func[0] === -1 && view.mode === 'self'")


def test_the_build_waits_while_the_tab_is_hidden_and_goes_on_when_shown(big: Any) -> None:
    watch_progress(big, until_done=False)
    big.evaluate("view.hide()")  # what the app does when another tab is chosen
    paused = big.evaluate(PROGRESS)
    big.wait_for_timeout(400)
    assert big.evaluate(PROGRESS) == paused and big.evaluate("view.job.job.state") == "paused"
    big.evaluate("view.show()")
    assert watch_progress(big)[-1] > percent(paused)
    assert big.evaluate("view.tree !== null")


def test_choosing_another_thread_drops_the_build_under_way(big: Any) -> None:
    watch_progress(big, until_done=False)
    first_job = big.evaluate("window.firstJob = view.job.job; view.job.choice")
    assert first_job == "all"
    # 300,000 calls: built in steps as well. The choice and a pause in one task, so that the new build
    # cannot end before the test reads its progress (it may, on a quick machine).
    big.evaluate(
        """() => {
          const picker = document.querySelector(".pt-flame-thread");
          picker.value = "1";
          picker.dispatchEvent(new Event("change", { bubbles: true }));
          view.job?.job.pause();
        }"""
    )
    assert big.evaluate("window.firstJob.state") == "cancelled"
    assert big.evaluate("view.job.choice") == "1"
    assert big.evaluate(PROGRESS).startswith("Building the flamegraph of worker-1 (tid 101) (300,000 calls)…")
    big.evaluate("view.job.job.resume()")
    watch_progress(big)
    built = big.evaluate(
        f"""async () => {{
          const aggregate = await import("{ORIGIN}/aggregate.js");
          const alone = aggregate.buildCallTree(trace, [trace.threads[1]]);
          return {{ same: alone.size === view.tree.size && alone.total[0] === view.tree.total[0],
                    allBuilt: view.trees.get("all").total !== null }};
        }}"""
    )
    assert built == {"same": True, "allBuilt": False}
    root = next(f for f in big.evaluate("view.framesOnScreen()") if f["depth"] == 0)
    assert root["name"] == "worker-1 (tid 101)"


def test_a_search_while_building_is_counted_in_the_finished_tree(big: Any) -> None:
    big.evaluate("view.job.job.pause(); view.setSearch('F99')")  # f99 and f990..f999
    label = big.locator(".pt-flame-matches")
    assert label.inner_text() == "counting matching frames…"
    assert big.evaluate("app.matchCount") is None  # "still counting" to the app, not a count
    big.evaluate("view.job.job.resume()")
    watch_progress(big)
    frames = big.evaluate(FRAMES_NAMED, "f99")
    assert frames > 1000
    assert big.evaluate("app.matchCount") == frames
    assert label.inner_text().startswith(f"{frames:,} frames match, ")
    # The self-time tree is another build: the count of the tree left is not shown meanwhile.
    building = big.evaluate("view.setMode('self'); [view.tree === null, app.matchCount]")
    assert building == [True, None] and label.inner_text() == "counting matching frames…"
    watch_progress(big)
    inverted = big.evaluate(FRAMES_NAMED, "f99")
    assert big.evaluate("app.matchCount") == inverted != frames
    assert label.inner_text().startswith(f"{inverted:,} frames match, ")
