"""The timeline in a real browser: a trace written by the real ``pulsetrace run`` as standalone HTML,
opened from file://, driven with the mouse and keyboard as a person would."""

from __future__ import annotations

import base64
import re
import zlib
from pathlib import Path
from typing import Any

import pytest
from viewer_helpers import (
    LEAF_CALLS,
    PROGRAM,
    center,
    details,
    open_viewer,
    selected,
    slice_of,
    trace_program,
    window_span,
)

from helpers_cli import run_pulsetrace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def program_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("timeline")
    return trace_program(directory, PROGRAM, "trace.html", "--log-args", "--log-retval")


@pytest.fixture(scope="module")
def custom_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("custom")
    source = (EXAMPLES / "custom_events.py").read_text()
    return trace_program(directory, source, "custom.html", "--log-print", "--log-exceptions", "--log-gc")


@pytest.fixture
def viewer(page: Any, program_html: Path) -> Any:
    open_viewer(page, program_html.as_uri())
    return page


def test_the_first_frame_shows_the_calls(viewer: Any) -> None:
    drawn = viewer.evaluate(
        """() => {
            const t = window.pulsetraceViewer.timeline;
            const canvas = document.getElementById('timeline-canvas');
            const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let coloured = 0;
            for (let i = 0; i < pixels.length; i += 4) {
                const [r, g, b] = [pixels[i], pixels[i + 1], pixels[i + 2]];
                if (Math.abs(r - g) > 40 || Math.abs(g - b) > 40) coloured++;
            }
            return { frames: t.frameCount, rects: t.lastDrawnRects, coloured };
        }"""
    )
    assert drawn["frames"] >= 1 and drawn["rects"] > 0
    assert drawn["coloured"] > 1000  # slices are painted, not just the axis
    assert "prog.py" in viewer.inner_text("#trace-title")


def test_wheel_zooms_around_the_pointer_and_reset_restores(viewer: Any) -> None:
    full = window_span(viewer)
    viewer.mouse.move(640, 400)
    viewer.mouse.wheel(0, -400)
    viewer.wait_for_timeout(50)
    zoomed = window_span(viewer)
    assert zoomed[1] - zoomed[0] < (full[1] - full[0]) * 0.7
    assert zoomed[0] > full[0] and zoomed[1] < full[1]  # zoomed around the middle, where the pointer is
    viewer.mouse.wheel(0, 200)  # wheel down zooms back out a little
    viewer.wait_for_timeout(50)
    assert window_span(viewer)[1] - window_span(viewer)[0] > zoomed[1] - zoomed[0]
    viewer.click("#timeline-reset")
    viewer.wait_for_timeout(50)
    assert window_span(viewer) == pytest.approx(full)


def test_keys_zoom_and_pan(viewer: Any) -> None:
    full = window_span(viewer)
    viewer.mouse.move(640, 500)
    viewer.keyboard.press("w")
    after_w = window_span(viewer)
    assert after_w[1] - after_w[0] < (full[1] - full[0]) * 0.95
    viewer.keyboard.press("w")
    viewer.keyboard.press("w")
    zoomed = window_span(viewer)
    viewer.keyboard.press("d")
    moved = window_span(viewer)
    assert moved[0] > zoomed[0] and moved[1] - moved[0] == pytest.approx(zoomed[1] - zoomed[0])
    viewer.keyboard.press("a")
    viewer.keyboard.press("a")
    assert window_span(viewer)[0] < moved[0]
    viewer.keyboard.press("s")
    assert window_span(viewer)[1] - window_span(viewer)[0] > zoomed[1] - zoomed[0]
    # Held down, W keeps zooming frame after frame.
    before = window_span(viewer)
    viewer.keyboard.down("w")
    viewer.wait_for_timeout(300)
    viewer.keyboard.up("w")
    held = window_span(viewer)
    assert held[1] - held[0] < (before[1] - before[0]) * 0.7


def test_drag_pans(viewer: Any) -> None:
    viewer.mouse.move(640, 400)
    viewer.mouse.wheel(0, -600)
    viewer.wait_for_timeout(50)
    start = window_span(viewer)
    viewer.mouse.move(700, 300)
    viewer.mouse.down()
    viewer.mouse.move(600, 300, steps=5)
    viewer.mouse.up()
    end = window_span(viewer)
    width = start[1] - start[0]
    assert end[1] - end[0] == pytest.approx(width)
    assert end[0] - start[0] == pytest.approx(width * 100 / 1280, rel=0.05)  # dragged left: later times
    assert selected(viewer) is None  # a drag is not a click


def test_click_opens_the_details_of_a_call(viewer: Any) -> None:
    middle = slice_of(viewer, "middle", 1)
    viewer.mouse.click(*center(middle["rect"]))
    assert selected(viewer)["name"] == "middle"
    viewer.wait_for_selector("#details .source .current")
    fields = details(viewer)
    assert fields["function"] == "middle"
    assert re.fullmatch(r".*prog\.py:8", fields["file"])
    assert fields["arguments"] == "k=20"
    assert fields["return-value"] == "20"
    assert fields["thread"].startswith("MainThread")
    duration_ns = middle["end"] - middle["start"]
    assert _ns(fields["duration"]) == pytest.approx(duration_ns, rel=0.01)
    assert 0 < _ns(fields["self-time"]) < duration_ns  # the leaf calls are not its own time
    assert viewer.inner_text("#details .source .current").strip().endswith("def middle(k):")
    line = viewer.locator("#details .source .current").bounding_box()
    pane = viewer.locator("#details .details-source").bounding_box()
    assert pane["y"] <= line["y"] and line["y"] + line["height"] <= pane["y"] + pane["height"]  # in sight
    # The tooltip names the call under the pointer and its duration.
    viewer.mouse.move(*center(slice_of(viewer, "outer")["rect"]))
    viewer.wait_for_selector(".tooltip:not([hidden])")
    assert viewer.inner_text(".tooltip").startswith("outer\n")


def test_double_click_zooms_to_a_call(viewer: Any) -> None:
    leaf = slice_of(viewer, "middle", 2)
    viewer.mouse.dblclick(*center(leaf["rect"]))
    t0, t1 = window_span(viewer)
    assert t0 <= leaf["start"] and leaf["end"] <= t1
    assert (t1 - t0) < (leaf["end"] - leaf["start"]) * 1.2


def test_search_counts_and_steps_through_matches(viewer: Any) -> None:
    viewer.fill("#search", "leaf")
    viewer.wait_for_function("document.getElementById('match-count').textContent !== ''")
    assert viewer.inner_text("#match-count") == f"{LEAF_CALLS} matches"
    viewer.press("#search", "Enter")
    first = selected(viewer)
    assert first["name"] == "leaf"
    assert first == {**first, "start": slice_of(viewer, "leaf", 0)["start"]}
    viewer.click("#search-next")
    second = selected(viewer)
    assert second["name"] == "leaf" and second["start"] > first["start"]
    viewer.click("#search-prev")
    assert selected(viewer)["start"] == first["start"]
    viewer.press("#search", "Shift+Enter")  # before the first match: wraps to the last
    assert selected(viewer)["start"] == slice_of(viewer, "leaf", LEAF_CALLS - 1)["start"]
    viewer.fill("#search", "no such function")
    viewer.wait_for_function("document.getElementById('match-count').textContent === '0 matches'")


def test_highlighting_every_call_of_the_selected_function(viewer: Any) -> None:
    viewer.mouse.click(*center(slice_of(viewer, "outer")["rect"]))
    viewer.click("#details [data-action=highlight-calls]")
    lit = viewer.evaluate(
        """() => {
            const app = window.pulsetraceViewer;
            const matches = app.timeline.painter.matches;
            return app.trace.functions.filter((f, i) => matches[i] === 1).map((f) => f.name);
        }"""
    )
    assert lit == ["outer"]
    viewer.keyboard.press("Escape")
    assert viewer.evaluate("window.pulsetraceViewer.timeline.painter.matches") is None
    assert viewer.is_hidden("#details")


def test_lanes_are_named_and_collapse(viewer: Any) -> None:
    tracks = viewer.evaluate("window.pulsetraceViewer.timeline.describeTracks()")
    headers = [t["label"] for t in tracks if t["kind"] == "header"]
    assert re.fullmatch(r"python .*prog\.py \(pid \d+\)", headers[0])
    assert re.fullmatch(r"MainThread \(tid \d+\) · [\d,]+ calls", headers[1])
    thread_header = next(t for t in tracks if t["label"] == headers[1])
    viewer.mouse.click(thread_header["x"] + 100, thread_header["y"] + 10)
    collapsed = viewer.evaluate("window.pulsetraceViewer.timeline.describeTracks()")
    assert [t["kind"] for t in collapsed] == ["header", "header"] and collapsed[1]["collapsed"]
    process_header = collapsed[0]
    viewer.mouse.click(process_header["x"] + 100, process_header["y"] + 10)
    assert len(viewer.evaluate("window.pulsetraceViewer.timeline.describeTracks()")) == 1
    viewer.mouse.click(process_header["x"] + 100, process_header["y"] + 10)
    viewer.mouse.click(thread_header["x"] + 100, thread_header["y"] + 10)
    assert viewer.evaluate("window.pulsetraceViewer.timeline.describeTracks()") == tracks


def test_custom_events_show_as_markers_counters_and_snapshots(page: Any, custom_html: Path) -> None:
    open_viewer(page, custom_html.as_uri())
    tracks = page.evaluate("window.pulsetraceViewer.timeline.describeTracks()")
    kinds = [t["kind"] for t in tracks]
    assert "counter" in kinds and "markers" in kinds and "spans" in kinds
    counter = next(t for t in tracks if t["kind"] == "counter")
    assert counter["label"] == "distance"
    # Click the first object snapshot marker: its attributes show in the details panel.
    snapshot = page.evaluate(
        """() => {
            const app = window.pulsetraceViewer;
            const objects = app.trace.processes[0].objects;
            const first = objects.find((o) => o.phase === 'O');
            return { x: app.timeline.timeToPageX(first.ts), name: first.name };
        }"""
    )
    markers = next(t for t in tracks if t["kind"] == "markers")
    page.mouse.click(snapshot["x"], markers["y"] + 8)
    page.wait_for_selector("#details:not([hidden])")
    text = page.inner_text("#details")
    assert "Snapshot" in text and "position" in text and "speed" in text
    # A counter sample reads back its values.
    page.mouse.click(counter["x"] + counter["width"] - 5, counter["y"] + 30)
    assert "snail" in page.inner_text("#details") and "hare" in page.inner_text("#details")


def test_processes_of_a_combined_trace_get_their_own_lanes_in_time_order(page: Any, tmp_path: Path) -> None:
    for name, function in (("first", "early_work"), ("second", "late_work")):
        source = f"def {function}():\n    return sum(range(1000))\n\n\n{function}()\n"
        trace_program(tmp_path, source, f"{name}.pulse")
    combined = run_pulsetrace(["combine", "first.pulse", "second.pulse", "-o", "both.html"], tmp_path)
    assert combined.returncode == 0, combined.stderr
    open_viewer(page, (tmp_path / "both.html").as_uri())
    tracks = page.evaluate("window.pulsetraceViewer.timeline.describeTracks()")
    headers = [t["label"].split(" (")[0] for t in tracks if t["kind"] == "header"]
    assert headers == ["python prog.py", "MainThread"] * 2
    early = slice_of(page, "early_work", thread=0)
    late = slice_of(page, "late_work", thread=1)
    assert late["start"] > early["end"]  # the second run started after the first ended: wall clock order


def test_a_broken_page_says_so(page: Any, program_html: Path, tmp_path: Path) -> None:
    html = program_html.read_text()
    start = html.index('id="pulsetrace-trace">') + len('id="pulsetrace-trace">')
    end = html.index("</script>", start)
    broken = tmp_path / "broken.html"
    broken.write_text(html[:start] + base64.b64encode(b"\x78\x9c not a zlib stream").decode() + html[end:])
    page.goto(broken.as_uri())
    page.wait_for_function("window.pulsetraceViewer.failure")
    message = page.inner_text("#message")
    assert message.startswith("pulsetrace cannot show this trace: corrupt compressed data")
    not_a_trace = tmp_path / "not-a-trace.html"
    payload = base64.b64encode(zlib.compress(b'{"traceEvents": []}')).decode()
    not_a_trace.write_text(html[:start] + payload + html[end:])
    page.goto(not_a_trace.as_uri())
    page.wait_for_function("window.pulsetraceViewer.failure")
    assert page.inner_text("#message") == (
        "pulsetrace cannot show this trace: this is JSON, not a native pulsetrace trace"
    )


def _ns(text: str) -> float:
    """A duration as the viewer prints it ("1.23 ms") back in ns."""
    value, unit = text.split()
    return float(value) * {"ns": 1, "µs": 1e3, "ms": 1e6, "s": 1e9}[unit]
