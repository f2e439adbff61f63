"""The documents the live pages are sent: each tick as the heatmap's own document (``reports.heatmap``),
holding only what changed since the tick the page already has.

Every page (the index and a file's page) gets the tick's number, status and stacks, and a heatmap
document of the shape ``build_document`` makes, without the files' text (a page reads a file's text
once, from ``/api/source``). ``full`` says whether it replaces what the page has (a page's first
document, or the first after a reset) or adds to it: then ``files`` lists only the files whose
numbers changed since the page's tick, each with its totals and only its changed lines, and the
document's parts that never change (its title, groups, ...) are left out. The index gets every
traced file so; a file's page gets its own file, the call edges from and into it (left out when none
changed) and the recency of its lines hit in the last seconds. Live file entries add ``id`` (the
file's id on the server) and ``recent`` (its hits in the last seconds); ``fileId`` in edges and
callees indexes this document's files (a page that keeps files from earlier documents numbers them
again).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ..filegroups import default_grouper
from ..model.lines import LineStats
from ..reports.heatmap import build_document
from .state import Tick

Document = Dict[str, Any]
# Parts of the heatmap document that never change during a session: in full documents only.
_SENT_ONCE = ("version", "title", "projectRoot", "groups", "tokenClasses", "summaries")


def page_document(tick: Tick, file_id: Optional[str], path: Optional[str], since: int) -> Document:
    """What a page that has seen tick ``since`` (-1: none) is sent for ``tick``: the index's
    (``file_id`` None) or the page of ``file_id``, whose path is ``path``."""
    changes = tick.changes
    full = since < 0 or since < changes.reset_seq or since > tick.seq
    document: Document = {
        "seq": tick.seq,
        "status": tick.status,
        "wall_ms": tick.wall_ns / 1e6,
        "stacks": [stack.to_json() for stack in tick.stacks],
        "full": full,
    }
    if file_id is None or path is None:
        paths = [p for p in sorted(tick.shown.files) if full or changes.files.get(p, 0) > since]
        document["heatmap"] = _heatmap(tick, paths, None, False, full, since)
        return document
    calls_changed = full or changes.calls.get(path, 0) > since
    listed = full or calls_changed or changes.files.get(path, 0) > since
    document["heatmap"] = _heatmap(tick, [path] if listed else [], path, calls_changed, full, since)
    document["recency"] = {str(line): list(numbers) for line, numbers in tick.recency.get(path, {}).items()}
    document["fileId"] = file_id
    return document


def _heatmap(
    tick: Tick, paths: List[str], calls_of: Optional[str], send_calls: bool, full: bool, since: int
) -> Document:
    """The heatmap document of ``paths`` (a file not run yet is listed without lines) with the call
    edges from and into ``calls_of``: they name the file's functions (its entry's ``functions``) and
    are sent when ``send_calls`` (else the keys ``edges`` and ``callees`` are left out)."""
    one = LineStats()
    for path in paths:
        one.files[path] = tick.shown.files.get(path, {})
    if calls_of is not None:
        for key, edge in tick.shown.edges.items():
            if edge.caller_file == calls_of or edge.callee.filename == calls_of:
                one.edges[key] = edge
    grouper = tick.grouper or default_grouper()
    document = build_document(one, {}, grouper, title=tick.title, read_missing_sources=False)
    for entry in document["files"]:
        entry["id"] = tick.ids.get(entry["path"], "")
        entry["recent"] = tick.recent_hits.get(entry["path"], 0)
        if not full:
            changed = tick.changes.lines.get(entry["path"], {})
            entry["lines"] = [row for row in entry["lines"] if changed.get(row[0], 0) > since]
    totals = tick.totals
    document["totals"] = {
        "hits": totals.hits,
        "selfNs": totals.self_ns,
        "files": totals.files,
        "linesRun": totals.lines_run,
    }
    if not send_calls:
        del document["edges"], document["callees"]
    if not full:
        for unchanging in _SENT_ONCE:
            del document[unchanging]
    return document
