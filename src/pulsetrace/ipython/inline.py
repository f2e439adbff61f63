"""The trace viewer inline in a notebook: the standalone viewer page in an ``<iframe srcdoc>``.

The page is the one ``-o trace.html`` writes (``viewer_page``): self-contained, it works offline and
keeps working in a saved notebook. With line statistics it carries the heatmap too and opens on
the cell's own code. A notebook keeps every output in its file, so a page above ``INLINE_LIMIT``
is not inlined: a one-line note says how to save it instead.
"""

from __future__ import annotations

import io
from html import escape
from typing import Optional

from ..model import Trace
from ..viewer_page import standalone_page_parts
from ..writers.html import embedded_heatmap
from ..writers.native import NativeWriter

INLINE_LIMIT = 10 * 1024 * 1024  # bytes of page: beyond this the notebook file would grow too much
FRAME_HEIGHT_PX = 620  # the viewer's toolbar, a few threads of timeline and the details panel


def inline_viewer_html(trace: Trace, open_file: str = "", limit: Optional[int] = None) -> str:
    """An HTML fragment showing ``trace`` in the viewer (``open_file``: the heatmap's first file),
    or a note saying why not when the page would be bigger than ``limit`` bytes (INLINE_LIMIT)."""
    if limit is None:
        limit = INLINE_LIMIT
    native = io.BytesIO()
    NativeWriter().write(trace, native)
    parts = []
    size = 0
    for part in standalone_page_parts(native.getvalue(), embedded_heatmap(trace, open_file)):
        size += len(part)
        if size > limit:
            return (
                '<p class="pulsetrace-viewer-note">The trace viewer is not shown here: its page would be '
                f"more than {limit / 1024 / 1024:.0f} MB. Save the trace with <code>-o trace.html</code> "
                "and open that file (or use <code>--no-viewer</code>).</p>"
            )
        parts.append(part)
    page = b"".join(parts).decode("utf-8")
    style = f"width:100%;height:{FRAME_HEIGHT_PX}px;border:1px solid #d0d7de;border-radius:4px"
    return (
        f'<iframe class="pulsetrace-viewer" title="pulsetrace trace viewer" style="{style}" '
        f'srcdoc="{escape(page, quote=True)}"></iframe>'
    )
