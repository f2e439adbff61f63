"""From the bytes of a Chrome Trace Event JSON file to its list of events (used by chrome_reader).

Plain or gzipped (found by the magic bytes, not the name), any encoding JSON allows. Numbers with a
fraction are decoded as ``Decimal`` so that timestamps stay exact (chrome_values). The array form may
lack its closing ``]``: the format allows it, for writers that crash mid-trace. Every other way a
file stops early is reported as truncated, and anything that is no trace as such, with a
``TraceFileError`` naming the file.
"""

from __future__ import annotations

import gzip
import json
import zlib
from decimal import Decimal
from typing import Any, List, Tuple

from .native import TraceFileError

GZIP_MAGIC = b"\x1f\x8b"


def gunzip(data: bytes, source: str) -> bytes:
    """``data`` decompressed when it starts with the gzip magic, else as it is."""
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except EOFError:
        raise TraceFileError(source, "truncated: the gzip data ends before its end marker") from None
    except (OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise TraceFileError(source, f"corrupt gzip data: {exc}") from None


def load_trace_json(data: bytes, source: str) -> Tuple[List[Any], Any]:
    """The event list and the "metadata" object (None in the array form) of a trace, plain or gzipped."""
    data = gunzip(data, source)
    encoding = json.detect_encoding(data)  # UTF-8 unless a BOM or the zero bytes say UTF-16/32
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise TraceFileError(source, f"not a Chrome trace: not {encoding} text (byte {exc.start})") from None
    if not text.strip():
        raise TraceFileError(source, "empty file: not a Chrome trace")
    try:
        document = _loads(text)
    except json.JSONDecodeError as exc:
        document = _unterminated_array(text, exc, source)
    except RecursionError:
        raise TraceFileError(source, "not a Chrome trace: JSON nested too deeply") from None
    if isinstance(document, list):
        return document, None
    if not isinstance(document, dict):
        raise TraceFileError(source, f"not a Chrome trace: the JSON is {json_kind(document)}")
    if "traceEvents" not in document:
        raise TraceFileError(source, 'not a Chrome trace: the JSON object has no "traceEvents"')
    events = document["traceEvents"]
    if not isinstance(events, list):
        kind = json_kind(events)
        raise TraceFileError(source, f'not a Chrome trace: "traceEvents" is {kind}, not a list')
    return events, document.get("metadata")


def _loads(text: str) -> Any:
    # Decimal keeps every timestamp exact (chrome_values); NaN/Infinity stay floats for the checks.
    return json.loads(text, parse_float=Decimal)


def _unterminated_array(text: str, error: json.JSONDecodeError, source: str) -> Any:
    """The array form without its closing "]" (allowed by the format), else the error as a TraceFileError."""
    body = text.rstrip()
    if not _ends_early(body, error):
        raise TraceFileError(
            source, f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    if body.lstrip().startswith("["):
        try:
            return _loads(body.rstrip(",") + "]")
        except (json.JSONDecodeError, RecursionError):
            pass
    raise TraceFileError(
        source, f"truncated: the JSON ends at byte {len(body)} before the trace is complete ({error.msg})"
    ) from None


def _ends_early(body: str, error: json.JSONDecodeError) -> bool:
    """Whether the decoder failed because the text stops, not because it is wrong: at the very end,
    inside a string, or on a short tail with no structure in it (a number cut at "12.", a cut "tru")."""
    if error.pos >= len(body) or error.msg.startswith("Unterminated string"):
        return True
    tail = body[error.pos :]
    return error.msg != "Extra data" and len(tail) <= 5 and not any(c in tail for c in ',:[]{}" \t\r\n')


def json_kind(value: Any) -> str:
    """What a JSON value is, with its article ("an object", "a list", "null", ...)."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return "a number"
