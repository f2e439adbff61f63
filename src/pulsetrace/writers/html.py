"""The standalone HTML viewer (``.html``): the whole trace viewer in one file that opens from ``file://``.

The page carries the native trace file (compressed) and the viewer's own scripts and styles, and
needs no network: see ``pulsetrace.viewer_page``.
"""

from __future__ import annotations

import io

from ..model import Trace
from ..viewer_page import standalone_page_parts
from .native import NativeWriter
from .registry import Sink, Writer, register


@register
class HtmlWriter(Writer):
    """A self-contained HTML page: timeline, flamegraph and function table of the trace."""

    name = "html"
    extensions = (".html", ".htm")
    description = "standalone HTML viewer (timeline, flamegraph, function table; opens from file://)"

    def write(self, trace: Trace, stream: Sink) -> None:
        native = io.BytesIO()
        NativeWriter().write(trace, native)
        for part in standalone_page_parts(native.getbuffer().tobytes()):
            stream.write(part)
