"""The native trace inside a standalone HTML page written by pulsetrace (``writers/html.py``).

The page carries the native trace file zlib-compressed and base64-encoded in a
``<script type="application/octet-stream" id="pulsetrace-trace">`` element (see ``viewer_page``), so
a saved ``result.html`` is a trace like any other: ``report``, ``combine`` and ``view`` read it.
"""

from __future__ import annotations

import base64
import re
import zlib
from typing import Optional

from .native import TraceFileError

TRACE_ELEMENT_ID = "pulsetrace-trace"

_TRACE_ELEMENT = b'<script type="application/octet-stream" id="%s">' % TRACE_ELEMENT_ID.encode()
_EMBEDDED = re.compile(re.escape(_TRACE_ELEMENT) + rb"([A-Za-z0-9+/=\s]*)</script>")
_HTML_START = b"<!doctype html>"
_HEATMAP_DATA = b'id="heatmap-data"'  # the figures of a heatmap page (web/heatmap.html)


def looks_like_page(data: bytes) -> bool:
    """Whether ``data`` is an HTML document (what pulsetrace writes starts with its doctype)."""
    return data.lstrip()[: len(_HTML_START)].lower() == _HTML_START


def embedded_trace(page: bytes) -> Optional[bytes]:
    """The native trace inside a standalone page, or None if ``page`` holds none; raises ValueError if
    it holds one that is damaged."""
    match = _EMBEDDED.search(page)
    if match is None:
        return None
    try:
        return zlib.decompress(base64.b64decode(match.group(1)))
    except (ValueError, zlib.error) as exc:
        raise ValueError(f"the trace embedded in the page is damaged ({exc})") from None


def page_trace_bytes(page: bytes, name: str) -> bytes:
    """The native trace file inside the page named ``name``; a page without one (a heatmap page, or
    any other HTML) or with a damaged one is a TraceFileError naming the file."""
    try:
        native = embedded_trace(page)
    except ValueError as exc:
        raise TraceFileError(name, str(exc)) from None
    if native is not None:
        return native
    if _HEATMAP_DATA in page:
        raise TraceFileError(
            name, "a heatmap page holds the heatmap's figures, not the trace: read the .pulse or .html "
            "file the run wrote instead (save with -o NAME.pulse to keep a trace beside a heatmap)"
        )
    raise TraceFileError(name, "an HTML page without a pulsetrace trace in it")
