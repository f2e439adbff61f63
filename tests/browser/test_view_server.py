"""``pulsetrace view`` in a real browser: the real command serves a native trace and a Chrome JSON
file written by hand (as another tool would), and the page shows them."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
from viewer_helpers import (
    LOAD_TIMEOUT_MS,
    PROGRAM,
    center,
    details,
    open_viewer,
    selected,
    slice_of,
    trace_program,
)

from helpers_cli import environment, pulsetrace_command

# Chrome Trace Event JSON as another tool writes it: microsecond ts/dur, B/E and X events, metadata.
HANDMADE = {
    "traceEvents": [
        {"ph": "M", "name": "process_name", "pid": 7, "tid": 0, "args": {"name": "handmade tool"}},
        {"ph": "M", "name": "thread_name", "pid": 7, "tid": 70, "args": {"name": "render loop"}},
        {"ph": "X", "name": "frame", "pid": 7, "tid": 70, "ts": 0, "dur": 1000},
        {"ph": "X", "name": "layout", "pid": 7, "tid": 70, "ts": 100, "dur": 300, "args": {"nodes": 12}},
        {"ph": "B", "name": "paint", "pid": 7, "tid": 70, "ts": 500},
        {"ph": "E", "pid": 7, "tid": 70, "ts": 900},
        {"ph": "X", "name": "frame", "pid": 7, "tid": 70, "ts": 1200, "dur": 800},
        {"ph": "i", "name": "vsync", "pid": 7, "tid": 70, "ts": 1100, "s": "t"},
        {"ph": "C", "name": "memory", "pid": 7, "ts": 0, "args": {"heap": 10}},
        {"ph": "C", "name": "memory", "pid": 7, "ts": 1500, "args": {"heap": 25}},
    ]
}


class Served:
    """A running ``pulsetrace view`` process and the URL it printed."""

    def __init__(self, trace: Path) -> None:
        self.process = subprocess.Popen(
            pulsetrace_command(["view", str(trace)]),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(),
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("pulsetrace: serving "), line + self.process.stderr.read()
        self.url = line.split(" at ")[1].split()[0]

    def stop(self) -> str:
        """Ctrl-C, as a person stops it; the command ends cleanly and says so."""
        self.process.send_signal(signal.SIGINT)
        _, stderr = self.process.communicate(timeout=20)
        assert self.process.returncode == 0, stderr
        return stderr


@pytest.fixture(scope="module")
def served_native(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    trace = trace_program(tmp_path_factory.mktemp("view"), PROGRAM, "trace.pulse", "--log-args")
    served = Served(trace)
    yield served
    assert served.stop().strip() == "pulsetrace: stopped"


@pytest.fixture(scope="module")
def served_chrome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    trace = tmp_path_factory.mktemp("chrome") / "other-tool.json"
    trace.write_text(json.dumps(HANDMADE))
    served = Served(trace)
    yield served
    served.stop()


def test_view_serves_a_native_trace(page: Any, served_native: Served) -> None:
    assert served_native.url.startswith("http://127.0.0.1:")
    open_viewer(page, served_native.url)
    assert page.evaluate("window.pulsetraceViewer.trace.processes[0].name").endswith("prog.py")
    page.mouse.click(*center(slice_of(page, "middle", 0)["rect"]))
    assert selected(page)["name"] == "middle"
    page.wait_for_selector("#details .source .current")
    assert details(page)["arguments"] == "k=20"


def test_view_serves_chrome_json_of_another_tool(page: Any, served_chrome: Served) -> None:
    open_viewer(page, served_chrome.url)
    tracks = page.evaluate("window.pulsetraceViewer.timeline.describeTracks()")
    labels = [t["label"] for t in tracks]
    assert "handmade tool (pid 7)" in labels
    assert any(label.startswith("render loop (tid 70)") for label in labels)
    assert "memory" in labels  # the counter track
    page.fill("#search", "frame")
    page.wait_for_function("document.getElementById('match-count').textContent === '2 matches'")
    layout = slice_of(page, "layout")
    assert layout["end"] - layout["start"] == 300_000  # 300 µs
    page.mouse.click(*center(layout["rect"]))
    assert details(page)["duration"] == "300 µs"
    assert details(page)["file"] == "(none: a C function, or no location recorded)"


def test_view_of_a_trace_with_lines_has_the_heatmap_tab(page: Any, tmp_path: Path) -> None:
    trace = trace_program(tmp_path, PROGRAM, "lines.pulse", "--lines")
    served = Served(trace)
    try:
        page.goto(served.url)
        page.wait_for_function("window.pulsetraceViewer?.activeView === 'heatmap'", timeout=LOAD_TIMEOUT_MS)
        heatmap = page.frame_locator("iframe.heatmap-frame")
        assert heatmap.locator('section.group[data-group="project"] a.file-link').inner_text() == "prog.py"
        page.click('[data-view="timeline"]')
        page.wait_for_function("window.pulsetraceViewer.timeline.firstFrameAt", timeout=LOAD_TIMEOUT_MS)
    finally:
        assert served.stop().strip() == "pulsetrace: stopped"
