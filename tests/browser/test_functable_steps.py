"""The Functions tab of a big made-up trace, in Chromium: its totals are added up in steps with a
progress message while the page keeps answering, equal the totals added up in one go, wait while the
tab is hidden, are kept for the next visit, and a filter typed meanwhile counts once they are done.
Small traces still show their table at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List

import pytest
from viewer_helpers import MAKE_UP_TRACE, ORIGIN, open_viewer, percent, trace_program

# A made-up trace (viewer_helpers.MAKE_UP_TRACE, 1% resumed generators) and the Functions tab opened
# on it. Totals built in steps start paused, so a test sees the state before the first step whatever
# the machine's speed; `window.shares` collects the shares the job reports, `window.onShare` (if set)
# runs after each, and `window.pings` counts the timer tasks that ran after the first step until the
# totals were there: more than none means the page answered in the middle of the work.
OPEN_MADE_UP_TABLE = f"""
async ([sizes]) => {{
  const views = await import("{ORIGIN}/functable.js");
  const format = await import("{ORIGIN}/format.js");
  {MAKE_UP_TRACE}
  const trace = makeUpTrace(sizes, 4242, 0.01);
  document.body.style.margin = "0";
  document.body.innerHTML = '<div id="pane" style="width:1200px;height:700px"></div>';
  const app = {{
    matchCount: undefined,
    setMatchCount(view, n) {{ this.matchCount = n; }},
    highlightFunction() {{}},
    openFunctionInFlamegraph() {{}},
    formatDuration: (ns) => format.formatDuration(ns),
    threadLabel: (thread) => `${{thread.name}} (tid ${{thread.nativeId}})`,
  }};
  const view = new views.FunctionTableView(document.getElementById("pane"), trace, app);
  Object.assign(window, {{ view, app, trace, shares: [], pings: 0 }});
  view.show();
  const opened = {{ totalsNow: view.totals !== null, stepped: view.job !== null }};
  if (view.job !== null) {{
    const job = view.job.job;
    job.pause();
    const say = job.onProgress;
    job.onProgress = (share) => {{
      window.shares.push(share);
      say(share);
      window.onShare?.();
    }};
  }}
  const ping = () => {{
    if (view.totals !== null) return;
    if (window.shares.length > 0) window.pings++;
    setTimeout(ping, 0);
  }};
  setTimeout(ping, 0);
  return opened;
}}
"""

PROGRESS = "(p => p.hidden ? null : p.textContent)(document.querySelector('.pt-table-progress'))"
DONE = "view.totals !== null && view.job === null"
RESUME = "view.job.job.resume()"

# The totals the view holds against functionTotals run in one go on the same threads: the names of the
# arrays that differ (none when equal), and how many functions ran.
SAME_AS_ONE_STEP = f"""
async (threadIndex) => {{
  const aggregate = await import("{ORIGIN}/aggregate.js");
  const threads = threadIndex === null ? trace.threads : [trace.threads[threadIndex]];
  const whole = aggregate.functionTotals(trace, threads);
  const held = view.totals;
  const differ = ["calls", "slices", "total", "self", "max", "ran"].filter((name) =>
    whole[name].length !== held[name].length || whole[name].some((value, f) => value !== held[name][f]));
  const sum = (values) => values.reduce((a, b) => a + b, 0);
  return {{ differ, ran: sum(whole.ran), calls: sum(whole.calls) }};
}}
"""


def progress_until_done(page: Any) -> List[int]:
    """The percentages the progress message showed, read one round trip after another, until it went."""
    seen: List[int] = []
    for _ in range(2000):
        text = page.evaluate(PROGRESS)
        if text is None:
            break
        if not seen or percent(text) != seen[-1]:
            seen.append(percent(text))
        page.wait_for_timeout(10)
    return seen


@pytest.fixture
def big(module_page: Any) -> Any:
    opened = module_page.evaluate(OPEN_MADE_UP_TABLE, [[1_200_000, 300_000]])
    assert opened == {"totalsNow": False, "stepped": True}, "1.5M calls are not added up inside show()"
    return module_page


def test_big_totals_are_added_up_in_steps_with_progress(big: Any) -> None:
    text = big.evaluate(PROGRESS)
    assert text == "Adding up the calls of all threads (1,500,000 calls)… 0%"
    assert big.locator(".pt-table-scroll").is_hidden() and big.locator(".pt-table-row").count() == 0
    big.evaluate(RESUME)
    seen = progress_until_done(big)
    assert seen == sorted(seen), seen
    big.wait_for_function(DONE)
    shares = big.evaluate("shares")
    # A share is reported after every slice of work but the last: one share means two slices at least.
    assert len(shares) >= 1 and shares == sorted(shares) and 0 < shares[0] < 1, shares
    assert big.evaluate("pings") >= 1  # the page ran other tasks between the steps
    assert big.evaluate(PROGRESS) is None
    # The same totals as added up in one go, and the table shows them.
    same = big.evaluate(SAME_AS_ONE_STEP, None)
    assert same["differ"] == [] and same["ran"] == 1000
    assert 1_400_000 < same["calls"] < 1_500_000  # the resumed slices are no calls
    assert big.locator(".pt-table-scroll").is_visible()
    assert big.locator(".pt-table-count").inner_text() == "1,000 functions"
    top = big.evaluate("view.visibleRows()[0].func")
    assert top == big.evaluate("view.totals.self.indexOf(Math.max(...view.totals.self))")  # by self time


def test_a_filter_typed_while_adding_up_counts_when_done(big: Any) -> None:
    big.locator(".pt-table-filter").fill("F99")  # f99 and f990..f999
    assert big.locator(".pt-table-count").inner_text() == "counting…"
    assert big.evaluate("app.matchCount") is None  # still counting, not "0 matches"
    big.evaluate(RESUME)
    big.wait_for_function(DONE)
    assert big.locator(".pt-table-count").inner_text() == "11 of 1,000 functions"
    assert big.evaluate("app.matchCount") == 11
    names = [row["cells"][0] for row in big.evaluate("view.visibleRows()")]
    assert sorted(names) == sorted(["f99", *(f"f99{digit}" for digit in range(10))])
    # Sorting works on the finished table: by calls, most first.
    big.get_by_role("columnheader", name="Calls").click()
    calls = big.evaluate("view.visibleRows().map((row) => view.totals.calls[row.func])")
    assert len(calls) == 11 and calls == sorted(calls, reverse=True)


def test_adding_up_waits_while_hidden_and_a_second_visit_does_not_rebuild(big: Any) -> None:
    # Hidden after the first step, as the app does when another tab is chosen.
    big.evaluate(f"window.onShare = () => {{ view.hide(); window.onShare = null; }}; {RESUME}")
    big.wait_for_function("shares.length > 0")
    paused = big.evaluate(PROGRESS)
    assert 0 < big.evaluate("shares[0]") < 1
    big.wait_for_timeout(300)
    assert big.evaluate(PROGRESS) == paused and big.evaluate("view.job.job.state") == "paused"
    big.evaluate("view.show()")
    big.wait_for_function(DONE)
    assert big.evaluate(SAME_AS_ONE_STEP, None)["differ"] == []
    big.evaluate("window.first = view.totals; view.hide(); view.show()")
    assert big.evaluate("view.job === null && view.totals === first") and big.evaluate(PROGRESS) is None
    # Another thread (300,000 calls: in steps too), then all threads again: kept, not added up again.
    big.evaluate("view.hide()")  # so its job waits, whatever the machine's speed
    big.locator(".pt-table-thread").select_option("1")
    assert big.evaluate("view.job.choice") == "1" and big.evaluate("view.totals") is None
    big.evaluate("view.show()")
    big.wait_for_function(DONE)
    assert big.evaluate(SAME_AS_ONE_STEP, 1)["differ"] == []
    big.locator(".pt-table-thread").select_option("all")
    assert big.evaluate("view.job === null && view.totals === first") and big.evaluate(PROGRESS) is None
    assert big.locator(".pt-table-count").inner_text() == "1,000 functions"


def test_choosing_another_thread_drops_the_adding_up_under_way(big: Any) -> None:
    first_job = big.evaluate("window.firstJob = view.job.job; view.job.choice")
    assert first_job == "all"
    big.evaluate("view.hide()")  # so the next job waits too, whatever the machine's speed
    big.locator(".pt-table-thread").select_option("1")  # 300,000 calls: in steps as well
    assert big.evaluate("firstJob.state") == "cancelled"
    assert big.evaluate(PROGRESS) == "Adding up the calls of worker-1 (tid 101) (300,000 calls)… 0%"
    big.evaluate("view.show()")
    big.wait_for_function(DONE)
    assert big.evaluate(SAME_AS_ONE_STEP, 1)["differ"] == []
    assert big.evaluate("view.totalsByChoice.has('all')") is False


def test_a_small_trace_shows_its_table_at_once(module_page: Any) -> None:
    opened = module_page.evaluate(OPEN_MADE_UP_TABLE, [[50_000, 20_000]])
    assert opened == {"totalsNow": True, "stepped": False}
    assert module_page.evaluate(PROGRESS) is None
    assert module_page.locator(".pt-table-row").count() > 10
    assert module_page.evaluate(SAME_AS_ONE_STEP, None)["differ"] == []


def test_the_search_box_says_counting_while_a_view_counts(page: Any, tmp_path: Path) -> None:
    trace = trace_program(tmp_path, "def leaf():\n    pass\n\nfor _ in range(5):\n    leaf()\n", "prog.html")
    open_viewer(page, trace.as_uri())
    page.get_by_role("tab", name="Functions").click()
    app = "window.pulsetraceViewer"
    page.evaluate(f"{app}.setSearch('leaf'); {app}.setMatchCount('functions', null)")
    assert page.inner_text("#match-count") == "counting…"
    page.evaluate(f"{app}.setMatchCount('functions', 1)")
    assert page.inner_text("#match-count") == "1 match"
