"""What ``%%pulsetrace`` displays in a notebook, loaded in Chromium: the summary and, under it, the
trace viewer inline (an iframe holding the standalone page), which draws the cell's timeline, and with
``--lines`` opens on the heatmap of the cell's own code.

The cell runs in a real IPython shell (no notebook server); its displayed HTML is written to a file
and opened as a notebook's output frame would show it.
"""

from __future__ import annotations

import builtins
import sys
import types
from pathlib import Path
from typing import Any, Iterator

import pytest

pytest.importorskip("IPython")

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from IPython.utils.capture import capture_output  # noqa: E402
from traitlets.config import Config  # noqa: E402
from viewer_helpers import LOAD_TIMEOUT_MS  # noqa: E402

CELL = """\
def scale(values, factor):
    \"\"\"Every value times factor.\"\"\"
    return [value * factor for value in values]


scaled = scale(list(range(500)), 3)
"""


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InteractiveShell]:
    added = [name for name in ("__IPYTHON__", "display") if name not in builtins.__dict__]
    module_name = "pulsetrace_inline_cells"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IPYTHONDIR", str(tmp_path_factory.mktemp("ipython")))
        config = Config()
        config.HistoryManager.hist_file = ":memory:"
        ip = InteractiveShell.instance(config=config, user_module=types.ModuleType(module_name))
        ip.run_line_magic("load_ext", "pulsetrace")
        try:
            yield ip
        finally:
            InteractiveShell.clear_instance()
            sys.modules.pop(module_name, None)
            for name in added:
                builtins.__dict__.pop(name, None)


def displayed_page(shell: InteractiveShell, line: str, folder: Path) -> Path:
    """Run the cell under ``%%pulsetrace line``; write the HTML it displayed into a page."""
    with capture_output() as captured:
        shell.run_cell_magic("pulsetrace", line, CELL)
    shown = [output.data["text/html"] for output in captured.outputs if "text/html" in output.data]
    assert len(shown) == 1
    page = folder / "output.html"
    page.write_text(f"<!doctype html><html><head><meta charset='utf-8'></head><body>{shown[0]}</body></html>")
    return page


def viewer_frame(page: Any, path: Path) -> Any:
    page.goto(path.as_uri())
    frame = page.locator("iframe.pulsetrace-viewer").element_handle().content_frame()
    frame.wait_for_function(
        "(app => app && (app.activeView || app.failure))(window.pulsetraceViewer)", timeout=LOAD_TIMEOUT_MS
    )
    assert frame.evaluate("window.pulsetraceViewer.failure ?? null") is None
    return frame


def test_the_cell_s_timeline_is_drawn_inline(page: Any, shell: InteractiveShell, tmp_path: Path) -> None:
    frame = viewer_frame(page, displayed_page(shell, "", tmp_path))
    assert page.locator("table").first.is_visible()  # the summary table, above the viewer
    assert frame.evaluate("window.pulsetraceViewer.activeView") == "timeline"
    frame.wait_for_function("window.pulsetraceViewer.timeline.firstFrameAt", timeout=LOAD_TIMEOUT_MS)
    names = frame.evaluate("window.pulsetraceViewer.trace.functions.map((f) => f.name)")
    assert "scale" in names
    box = page.locator("iframe.pulsetrace-viewer").bounding_box()
    assert box is not None and box["width"] > 1000 and box["height"] >= 600


def test_with_lines_the_heatmap_of_the_cell_is_shown(
    page: Any, shell: InteractiveShell, tmp_path: Path
) -> None:
    frame = viewer_frame(page, displayed_page(shell, "--lines", tmp_path))
    assert frame.evaluate("window.pulsetraceViewer.activeView") == "heatmap"
    heatmap = frame.locator("iframe.heatmap-frame").element_handle().content_frame()
    heatmap.wait_for_selector(".code .row .src", timeout=LOAD_TIMEOUT_MS)  # the cell's file, not the index
    # the cell's lines are numbered as in its tracebacks: from 2, under the %%pulsetrace line
    lines = CELL.splitlines()
    last = lines.index("scaled = scale(list(range(500)), 3)") + 2
    row = heatmap.locator(f"#L{last}")
    assert row.locator(".src").inner_text() == lines[last - 2]
    assert row.locator(".num.hits").inner_text() == "1"
    assert heatmap.locator("#L3 .src span.sd").inner_text() == '"""Every value times factor."""'
    assert heatmap.locator("#L2 .src span.k").inner_text() == "def"
    # and the timeline is a tab away
    frame.click('[data-view="timeline"]')
    frame.wait_for_function("window.pulsetraceViewer.timeline.firstFrameAt", timeout=LOAD_TIMEOUT_MS)
