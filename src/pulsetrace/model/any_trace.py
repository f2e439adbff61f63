"""Opening a trace file by what it holds, whatever its name: a native ``.pulse`` trace, a standalone
``.html`` page holding one, or Chrome JSON."""

from __future__ import annotations

import os
from typing import Union

from .trace import Trace

PathArg = Union[str, "os.PathLike[str]"]

_JSON_STARTS = (b"{", b"[", b"\xef\xbb\xbf")  # an object, an array, or a UTF-8 byte order mark
_GZIP_MAGIC = b"\x1f\x8b"


def read_any_trace(path: PathArg) -> Trace:
    """Read a native trace (recognised by its magic bytes), a standalone HTML page written by pulsetrace
    (the native trace inside it), or a Chrome Trace Event JSON file, plain or gzipped, into the model;
    anything else raises ``pulsetrace.model.native.TraceFileError``."""
    # The readers are imported here, not at the top: ``import pulsetrace`` loads the model, and the
    # traced program should not pay for json, gzip and decimal.
    from .chrome_reader import parse_chrome_trace
    from .native import MAGIC, TraceFileError, parse_trace, read_file
    from .page_reader import looks_like_page, page_trace_bytes

    name, data = read_file(path)
    if looks_like_page(data):
        return parse_trace(page_trace_bytes(data, name), name)
    if data.startswith(MAGIC):
        return parse_trace(data, name)
    if data.startswith(_GZIP_MAGIC) or data.lstrip().startswith(_JSON_STARTS):
        return parse_chrome_trace(data, name)
    if not data:
        raise TraceFileError(name, "empty file (0 bytes): not a trace")
    raise TraceFileError(
        name, "not a trace: neither a pulsetrace trace (.pulse or .html) nor Chrome Trace Event JSON"
    )
