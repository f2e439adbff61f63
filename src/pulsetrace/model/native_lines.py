"""The ``LINE`` section of native format version 3: one process's line statistics (docs/format.md).

The payload is a zlib stream of one JSON object (the writer emits ASCII)::

    {"codes":     [[filename, lineno, name], ...],                 functions named by edges and summaries
     "files":     {filename: [[lineno, hits, self_ns, total_ns], ...]},   lines ascending
     "edges":     [[caller_file, caller_line, code, count, total_ns], ...],
     "functions": [[code, calls, hits, self_ns, total_ns], ...]}

``code`` is an index into ``codes``. Every number is an integer, never a boolean, and not negative
except ``self_ns`` (a self time is a difference of clock readings and may come out a few ns below
zero on a coarse clock). The decoder raises ValueError (or zlib.error) naming what is wrong;
model/native.py adds the file and the section.
"""

from __future__ import annotations

import json
import zlib
from typing import Any, Dict, List, Tuple

from .lines import CodeKey, LineStats

COMPRESSION = 6  # a process has at most a few hundred thousand lines: small, so compress well


def encode_lines(stats: LineStats) -> bytes:
    """The LINE payload for ``stats``."""
    code_index: Dict[CodeKey, int] = {}

    def code(key: CodeKey) -> int:
        index = code_index.get(key)
        if index is None:
            index = code_index[key] = len(code_index)
        return index

    files = {
        filename: [[lineno, s.hits, s.self_ns, s.total_ns] for lineno, s in sorted(lines.items())]
        for filename, lines in sorted(stats.files.items())
    }
    edges = [
        [e.caller_file, e.caller_line, code(e.callee), e.count, e.total_ns]
        for e in sorted(stats.edges.values(), key=lambda e: (e.caller_file, e.caller_line, e.callee))
    ]
    functions = [
        [code(f.code), f.calls, f.hits, f.self_ns, f.total_ns]
        for f in sorted(stats.functions.values(), key=lambda f: f.code)
    ]
    codes = [list(key) for key in code_index]
    document = {"codes": codes, "files": files, "edges": edges, "functions": functions}
    text = json.dumps(document, allow_nan=False, separators=(",", ":"))
    return zlib.compress(text.encode("ascii"), COMPRESSION)


def decode_lines(payload: memoryview) -> LineStats:
    """The LineStats of a LINE payload; ValueError for anything that breaks the layout above."""
    try:
        document = json.loads(zlib.decompress(payload).decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError("the line statistics are not a JSON object")
    for key in ("codes", "files", "edges", "functions"):
        if key not in document:
            raise ValueError(f"no {key!r} in the line statistics")
    codes = [_code(item, n) for n, item in enumerate(_list(document["codes"], "codes"))]
    stats = LineStats()
    files = document["files"]
    if not isinstance(files, dict):
        raise ValueError("'files' is not an object")
    for filename, rows in files.items():
        for row in _list(rows, f"the lines of {filename!r}"):
            lineno, hits, self_ns, total_ns = _numbers(row, 4, f"a line of {filename!r}", signed=(2,))
            if lineno in stats.files.get(filename, {}):
                raise ValueError(f"line {lineno} of {filename!r} is listed twice")
            stat = stats.line(filename, lineno)
            stat.hits, stat.self_ns, stat.total_ns = hits, self_ns, total_ns
    for row in _list(document["edges"], "edges"):
        if not isinstance(row, list) or len(row) != 5 or not isinstance(row[0], str):
            raise ValueError(f"bad call edge {row!r}")
        caller_line, index, count, total_ns = _numbers(row[1:], 4, "a call edge")
        edge = stats.edge(row[0], caller_line, _lookup(codes, index))
        if edge.count or edge.total_ns:
            raise ValueError(f"call edge {row!r} is listed twice")
        edge.count, edge.total_ns = count, total_ns
    for row in _list(document["functions"], "functions"):
        index, calls, hits, self_ns, total_ns = _numbers(row, 5, "a function summary", signed=(3,))
        code = _lookup(codes, index)
        if code in stats.functions:
            raise ValueError(f"function {code.name!r} is summarised twice")
        summary = stats.function(code)
        summary.calls, summary.hits, summary.self_ns, summary.total_ns = calls, hits, self_ns, total_ns
    return stats


def _list(value: Any, what: str) -> List[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{what} is not a list")
    return value


def _numbers(row: Any, count: int, what: str, signed: Tuple[int, ...] = ()) -> List[int]:
    if not isinstance(row, list) or len(row) != count:
        raise ValueError(f"{what} is not a list of {count} numbers: {row!r}")
    for position, value in enumerate(row):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{what} holds {value!r}, not an integer")
        if value < 0 and position not in signed:
            raise ValueError(f"{what} holds the negative number {value}")
    return row


def _code(item: Any, index: int) -> CodeKey:
    if (
        not isinstance(item, list)
        or len(item) != 3
        or not isinstance(item[0], str)
        or isinstance(item[1], bool)
        or not isinstance(item[1], int)
        or item[1] < 0
        or not isinstance(item[2], str)
    ):
        raise ValueError(f"code #{index} is not [filename, line, name]: {item!r}")
    return CodeKey(item[0], item[1], item[2])


def _lookup(codes: List[CodeKey], index: int) -> CodeKey:
    if index >= len(codes):
        raise ValueError(f"code #{index} does not exist ({len(codes)} codes)")
    return codes[index]
