"""The standalone HTML viewer (``.html``): the whole trace viewer in one file that opens from ``file://``.

The page carries the native trace file (compressed) and the viewer's own scripts and styles, and
needs no network: see ``pulsetrace.viewer_page``. A trace with line statistics (``--lines``) also
carries the line heatmap page (the one ``.heatmap.html`` holds alone), shown in a Heatmap tab that
opens first.
"""

from __future__ import annotations

import io
from typing import Optional

from ..model import Trace
from ..viewer_page import EmbeddedHeatmap, standalone_page_parts
from .native import NativeWriter
from .registry import Sink, Writer, register


@register
class HtmlWriter(Writer):
    """A self-contained HTML page: timeline, flamegraph and function table of the trace."""

    name = "html"
    extensions = (".html", ".htm")
    description = (
        "standalone HTML viewer (timeline, flamegraph, function table, and the line heatmap with --lines; "
        "opens from file://)"
    )
    keeps_lines = True  # inside the embedded native trace, which report, combine and view read back

    def write(self, trace: Trace, stream: Sink) -> None:
        native = io.BytesIO()
        NativeWriter().write(trace, native)
        for part in standalone_page_parts(native.getbuffer().tobytes(), embedded_heatmap(trace)):
            stream.write(part)


def embedded_heatmap(trace: Trace, open_file: str = "") -> Optional[EmbeddedHeatmap]:
    """The heatmap for the viewer's Heatmap tab, or None when no process recorded line statistics.
    ``open_file``: the file the tab opens on, when it has line data (else the tab opens on its index)."""
    if all(process.lines is None for process in trace.processes):
        return None
    from ..reports.heatmap import heatmap_document  # needs Pygments: see writers/heatmap.py
    from ..reports.heatmap_html import heatmap_html

    document = heatmap_document(trace)
    files = [entry["path"] for entry in document["files"] if entry["lines"]]
    return EmbeddedHeatmap(heatmap_html(document), files, open_file if open_file in files else "")
