"""The viewer's Heatmap tab in a real browser: a trace recorded with --lines opens on its heatmap,
the heatmap's source is coloured by Pygments' classes, and the two views lead to each other
("Open in heatmap" from a slice's details, "Show in timeline" from a line's callees).

The pages are written by the real CLI (``pulsetrace run --lines -o result.html``) and opened from
``file://``, as a person would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from viewer_helpers import LOAD_TIMEOUT_MS, PROGRAM, center, open_viewer, slice_of, trace_program

FRAME = "iframe.heatmap-frame"
LEAF_CALL_LINE = PROGRAM.splitlines().index("        results.append(leaf(200 + i))") + 1


@pytest.fixture(scope="module")
def with_lines(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trace_program(tmp_path_factory.mktemp("lines"), PROGRAM, "result.html", "--lines")


@pytest.fixture(scope="module")
def without_lines(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trace_program(tmp_path_factory.mktemp("plain"), PROGRAM, "result.html")


def open_on_heatmap(page: Any, path: Path) -> Any:
    """Open a viewer page that has a heatmap; wait for the heatmap's index; return the frame."""
    page.goto(path.as_uri())
    page.wait_for_function(
        "(app => app && (app.activeView === 'heatmap' || app.failure))(window.pulsetraceViewer)",
        timeout=LOAD_TIMEOUT_MS,
    )
    assert page.evaluate("window.pulsetraceViewer.failure ?? null") is None
    frame = page.frame_locator(FRAME)
    frame.locator("#main table.files").wait_for(timeout=LOAD_TIMEOUT_MS)
    return frame


def frame_eval(page: Any, script: str) -> Any:
    """Evaluate ``script`` (an expression) inside the heatmap's frame."""
    return page.evaluate(f"document.querySelector('{FRAME}').contentWindow.eval({script!r})")


def test_a_trace_with_lines_opens_on_its_heatmap(page: Any, with_lines: Path) -> None:
    frame = open_on_heatmap(page, with_lines)
    assert page.locator('[data-view="heatmap"]').is_visible()
    assert page.get_attribute('[data-view="heatmap"]', "class") == "active"
    assert not page.locator("#search-box").is_visible()  # the heatmap has its own filter
    labels = frame.locator('section.group[data-group="project"] a.file-link').all_inner_texts()
    assert labels == ["prog.py"]
    # the hottest lines are coloured by Pygments' classes
    snippet = frame.locator(".hottest-lines td.snippet").filter(has_text="for i in range(n)")
    assert snippet.locator("span.k").first.inner_text() == "for"
    assert snippet.locator("span.ow").inner_text() == "in"
    assert snippet.locator("span.nb").inner_text() == "range"
    # the timeline is a tab away, and draws
    page.click('[data-view="timeline"]')
    page.wait_for_function("window.pulsetraceViewer.timeline.firstFrameAt", timeout=LOAD_TIMEOUT_MS)
    assert page.locator(FRAME).is_hidden()
    page.click('[data-view="heatmap"]')
    assert page.locator(FRAME).is_visible() and page.locator("#view-timeline").is_hidden()


def test_a_trace_without_lines_has_no_heatmap_tab(page: Any, without_lines: Path) -> None:
    open_viewer(page, without_lines.as_uri())
    assert page.evaluate("window.pulsetraceViewer.activeView") == "timeline"
    assert page.locator('[data-view="heatmap"]').is_hidden()
    assert page.locator(FRAME).count() == 0 and page.evaluate("window.pulsetraceViewer.heatmap") is None
    leaf = slice_of(page, "leaf")
    page.mouse.click(*center(leaf["rect"]))
    page.wait_for_selector("#details [data-action=open-flamegraph]")
    assert page.locator("#details [data-action=open-heatmap]").count() == 0


def test_open_in_heatmap_goes_to_the_function_s_first_line(page: Any, with_lines: Path) -> None:
    open_on_heatmap(page, with_lines)
    page.click('[data-view="timeline"]')
    page.wait_for_function("window.pulsetraceViewer.timeline.firstFrameAt", timeout=LOAD_TIMEOUT_MS)
    page.mouse.click(*center(slice_of(page, "leaf", nth=5)["rect"]))
    page.click("#details [data-action=open-heatmap]")
    assert page.evaluate("window.pulsetraceViewer.activeView") == "heatmap"
    frame = page.frame_locator(FRAME)
    frame.locator("#L1.target").wait_for(timeout=LOAD_TIMEOUT_MS)
    assert frame.locator("#L1 .src").inner_text() == "def leaf(n):"
    assert frame.locator("#L1 .src span.nf").inner_text() == "leaf"
    assert frame_eval(page, "decodeURIComponent(location.hash)").endswith("prog.py&line=1")
    # again, from another function: the same frame moves to that line
    page.click('[data-view="timeline"]')
    page.mouse.click(*center(slice_of(page, "middle")["rect"]))
    page.click("#details [data-action=open-heatmap]")
    frame.locator("#L8.target").wait_for(timeout=LOAD_TIMEOUT_MS)
    assert frame.locator("#L1.target").count() == 0


def test_show_in_timeline_highlights_the_callee_s_calls(page: Any, with_lines: Path) -> None:
    frame = open_on_heatmap(page, with_lines)
    frame.locator('section.group[data-group="project"] a.file-link').click()
    frame.locator(f"#L{LEAF_CALL_LINE} button.callees").click()
    popover = frame.locator(".popover.callees")
    row = popover.locator("tr").filter(has_text="leaf")
    row.locator("button.show-in-timeline").click()
    assert page.evaluate("window.pulsetraceViewer.activeView") == "timeline"
    leaf = page.evaluate("window.pulsetraceViewer.trace.functions.findIndex((f) => f.name === 'leaf')")
    assert page.evaluate("window.pulsetraceViewer.timeline.highlightedFunction") == leaf
    assert frame.locator(".popover").count() == 0


def test_dark_mode_reaches_the_heatmap_frame(page: Any, with_lines: Path) -> None:
    page.emulate_media(color_scheme="dark")
    open_on_heatmap(page, with_lines)
    background = frame_eval(page, "getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)"
    keyword = frame_eval(page, "getComputedStyle(document.querySelector('.snippet .k')).color")
    assert keyword == "rgb(255, 123, 114)"  # the dark theme's keyword colour
