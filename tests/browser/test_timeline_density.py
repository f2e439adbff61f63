"""The timeline zoomed out over dense data, in a real browser: rows drawn from the bucket summary still
carry labels a person can read, and a counter with a million samples is drawn per pixel column."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from viewer_helpers import open_viewer, trace_program

# Two phases of many short calls at the same depth: alpha (with a few beta among them), then gamma.
DENSE_PROGRAM = """\
def alpha():
    pass


def beta():
    pass


def gamma():
    pass


def first_phase():
    for i in range(30000):
        alpha()
        if i % 8 == 0:
            beta()


def second_phase():
    for i in range(30000):
        gamma()


first_phase()
second_phase()
"""
DENSE_DEPTH = 2  # <module> > first_phase / second_phase > alpha, beta, gamma


@pytest.fixture(scope="module")
def dense_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trace_program(tmp_path_factory.mktemp("dense"), DENSE_PROGRAM, "dense.html")


# The trace's times replaced by a clock that ticks once per call entry and exit: the same calls in the
# same order, without the gaps a busy machine leaves when it takes the CPU from the traced program
# (they would split the rows into pieces too narrow for a label, differently from run to run).
EVEN_CLOCK = """() => {
    const app = window.pulsetraceViewer;
    const thread = app.trace.threads[0];
    const { start, end, parent, count } = thread.slices;
    const open = [];
    let t = 0;
    for (let i = 0; i < count; i++) {
        while (open.length > 0 && open[open.length - 1] !== parent[i]) end[open.pop()] = t++;
        start[i] = t++;
        open.push(i);
    }
    while (open.length > 0) end[open.pop()] = t++;
    app.trace.endNs = t;
    thread.summaries = undefined;
    app.timeline.resetZoom();
    app.timeline.draw();
}"""


@pytest.fixture
def dense(page: Any, dense_html: Path) -> Any:
    open_viewer(page, dense_html.as_uri())
    assert page.evaluate("window.pulsetraceViewer.trace.threads.length") == 1
    page.evaluate(EVEN_CLOCK)
    return page


def row_labels(page: Any, depth: int) -> Dict[str, Any]:
    """The labels drawn in one row of the main thread's slices, and how that row was drawn."""
    return dict(page.evaluate(
        """(depth) => {
            const timeline = window.pulsetraceViewer.timeline;
            const thread = window.pulsetraceViewer.trace.threads[0];
            const track = timeline.tracks.find((t) => t.kind === "slices" && t.thread === thread);
            const y = 24 + track.y + depth * 18 - timeline.scroller.scrollTop;
            const summary = thread.summaries?.get(depth);
            const ctx = timeline.canvas.getContext("2d");
            ctx.font = "11px system-ui, sans-serif";
            const labels = timeline.lastLabels.filter((label) => label.y === y)
                .map((label) => ({ ...label, textWidth: ctx.measureText(label.text).width }));
            labels.sort((a, b) => a.x0 - b.x0);
            const { start, end } = thread.slices;
            const functions = window.pulsetraceViewer.trace.functions;
            const second = functions.findIndex((f) => f.name === "second_phase");
            const secondIndex = thread.slices.func.indexOf(second);
            return {
                y,
                labels,
                fromSummary: summary !== undefined && summary.bucketNs * timeline.pxPerNs <= 1,
                secondPhaseX: (start[secondIndex] - timeline.t0) * timeline.pxPerNs,
                secondPhaseEndX: (end[secondIndex] - timeline.t0) * timeline.pxPerNs,
            };
        }""",
        depth,
    ))


def named(text: str) -> Tuple[str, str]:
    """A label's function name (completed if cut with an ellipsis) and its " +N" suffix."""
    match = re.fullmatch(r"(\w+?)(…?)( \+\d+)?", text)
    assert match is not None, text
    name = match.group(1)
    if match.group(2):
        assert len(name) >= 4, text
        name = next(full for full in ("alpha", "beta", "gamma") if full.startswith(name))
    return name, match.group(3) or ""


def dark_pixels(page: Any, x0: float, x1: float, y: float) -> int:
    """Pixels dark enough to be label text inside a row's rectangle (fills are mid-light colours)."""
    return int(page.evaluate(
        """([x0, x1, y]) => {
            const canvas = document.getElementById("timeline-canvas");
            const ratio = window.devicePixelRatio || 1;
            const left = Math.ceil(x0 * ratio);
            const width = Math.max(1, Math.floor(x1 * ratio) - left);
            const pixels = canvas.getContext("2d").getImageData(left, Math.round(y * ratio), width,
                                                                 Math.round(17 * ratio)).data;
            let dark = 0;
            for (let i = 0; i < pixels.length; i += 4) {
                if (pixels[i] + pixels[i + 1] + pixels[i + 2] < 200) dark++;
            }
            return dark;
        }""",
        [x0, x1, y],
    ))


def test_a_zoomed_out_dense_row_is_labelled_with_the_functions_that_dominate_it(dense: Any) -> None:
    row = row_labels(dense, DENSE_DEPTH)
    assert row["fromSummary"], "the row is dense enough to be drawn from its bucket summary"
    labels: List[Dict[str, Any]] = row["labels"]
    assert len(labels) >= 3
    second = (row["secondPhaseX"], row["secondPhaseEndX"])
    before = [label for label in labels if label["x1"] <= second[0]]
    after = [label for label in labels if second[0] <= label["x0"] and label["x1"] <= second[1] + 1]
    assert before and after
    # The first phase shows alpha, with beta among it ("alpha +1") where they share pixels; a name cut
    # short keeps four letters at least.
    assert {named(label["text"]) for label in before} <= {("alpha", ""), ("alpha", " +1"), ("beta", "")}
    assert any(label["text"] == "alpha +1" for label in before), before
    assert {named(label["text"]) for label in after} == {("gamma", "")}, after
    for left, right in zip(labels, labels[1:]):
        assert left["x1"] <= right["x0"], "labels never overlap"
    for label in labels:
        assert label["textWidth"] <= label["x1"] - label["x0"] - 3, "a label fits in its region"
        assert dark_pixels(dense, label["x0"], label["x0"] + label["textWidth"] + 3, row["y"]) > 10
    # Zooming in far enough leaves the summary; the calls are then labelled one by one.
    dense.mouse.move(200, 300)
    for _ in range(12):
        dense.mouse.wheel(0, -600)
    dense.wait_for_function("(t => t.t1 - t.t0 < 2000)(window.pulsetraceViewer.timeline)")
    dense.wait_for_timeout(50)
    zoomed = row_labels(dense, DENSE_DEPTH)
    assert not zoomed["fromSummary"]


def test_a_dense_row_without_room_has_no_label_text(dense: Any) -> None:
    row = row_labels(dense, DENSE_DEPTH)
    covered = [(label["x0"], label["x0"] + label["textWidth"] + 4) for label in row["labels"]]
    # Between labels the row is coloured fills only: no stray text.
    gaps = [(a[1] + 2, b[0] - 1) for a, b in zip(covered, covered[1:]) if b[0] - a[1] > 8]
    assert gaps
    for x0, x1 in gaps:
        assert dark_pixels(dense, x0, x1, row["y"]) == 0


MILLION_SAMPLES = """(samples) => {
    const app = window.pulsetraceViewer;
    const process = app.trace.processes[0];
    const end = app.trace.endNs;
    const list = new Array(samples);
    for (let i = 0; i < samples; i++) {
        // a square wave between 0 and 50, and one sample of 100 at the middle
        const value = i === samples / 2 ? 100 : (i & 1) * 50;
        list[i] = { ts: (end * i) / samples, values: { level: value } };
    }
    process.counters.push({ name: "dense", tid: 0, series: ["level"], samples: list });
    app.timeline.relayout();
    const track = app.timeline.describeTracks().find((t) => t.kind === "counter" && t.label === "dense");
    const canvasTop = app.timeline.canvas.getBoundingClientRect().top;
    // in canvas coordinates, as the pixels are read
    const spikeX = app.timeline.timeToPageX(list[samples / 2].ts) - track.x;
    return { track: { ...track, y: track.y - canvasTop }, spikeX };
}"""

# Draw one frame and count the path points the counter tracks added (lineTo calls).
COUNTED_DRAW = """() => {
    const timeline = window.pulsetraceViewer.timeline;
    const painter = timeline.painter;
    const drawCounter = painter.drawCounter;
    let points = 0;
    painter.drawCounter = (ctx, ...rest) => {
        ctx.lineTo = function (...args) {
            points++;
            return CanvasRenderingContext2D.prototype.lineTo.apply(this, args);
        };
        try { return drawCounter.call(painter, ctx, ...rest); } finally { delete ctx.lineTo; }
    };
    try { timeline.draw(); } finally { painter.drawCounter = drawCounter; }
    return { points, width: timeline.width };
}"""

BLUE_IN_COLUMN = """([x, top, bottom]) => {
    const canvas = document.getElementById("timeline-canvas");
    const ratio = window.devicePixelRatio || 1;
    const rows = [];
    const pixels = canvas.getContext("2d").getImageData(Math.round((x - 1) * ratio), Math.round(top * ratio),
        Math.round(3 * ratio), Math.round((bottom - top) * ratio)).data;
    const width = Math.round(3 * ratio);
    for (let i = 0; i < pixels.length; i += 4) {
        const [r, g, b] = [pixels[i], pixels[i + 1], pixels[i + 2]];
        if (b > 150 && b - r > 60) rows.push(top + Math.floor(i / 4 / width) / ratio);
    }
    return rows.length ? [Math.min(...rows), Math.max(...rows)] : null;
}"""


def test_a_counter_with_a_million_samples_is_drawn_per_pixel_and_keeps_its_spike(
    page: Any, dense_html: Path
) -> None:
    open_viewer(page, dense_html.as_uri())
    dense = page
    found = dense.evaluate(MILLION_SAMPLES, 1_000_000)
    track, spike_x = found["track"], found["spikeX"]
    counted = dense.evaluate(COUNTED_DRAW)
    # At most four points per pixel column (held value, low, high, last), not one per sample.
    assert 0 < counted["points"] <= 4 * counted["width"] + 4
    plot_top = track["y"] + 14
    plot_bottom = track["y"] + track["height"] - 4
    level_50 = plot_bottom - (plot_bottom - plot_top) / 2
    # The spike: a single sample of 100 among a million, still drawn up to the top of the plot.
    spike = dense.evaluate(BLUE_IN_COLUMN, [spike_x, track["y"], track["y"] + track["height"]])
    assert spike is not None and spike[0] <= plot_top + 2
    # Elsewhere each column spans the square wave from 0 to 50, and nothing reaches the top.
    for x in (100, 400, 1000):
        column = dense.evaluate(BLUE_IN_COLUMN, [x, track["y"], track["y"] + track["height"]])
        assert column is not None
        assert level_50 - 2 <= column[0] <= level_50 + 2 and column[1] >= plot_bottom - 2
    # Zoomed in until a few samples are in view: they are drawn one by one, still as steps.
    dense.evaluate(
        """() => { const t = window.pulsetraceViewer.timeline; const mid = t.trace.endNs / 2;
                   t.setWindow(mid - t.trace.endNs / 1e5, mid + t.trace.endNs / 1e5); }"""
    )
    zoomed = dense.evaluate(COUNTED_DRAW)
    assert 0 < zoomed["points"] <= 2 * 20 + 4
    spike = dense.evaluate(BLUE_IN_COLUMN, [640, track["y"], track["y"] + track["height"]])
    assert spike is not None and spike[0] <= plot_top + 2
