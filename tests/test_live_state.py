"""What the live pages are sent (live/state.py, live/documents.py): the display numbers since a reset,
recency from the change of hit counts between snapshots, and each page's heatmap document (the
report's own shape) holding only what changed since the page's last tick."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

from pulsetrace.filegroups import FileGrouper
from pulsetrace.live.documents import page_document
from pulsetrace.live.files import FileSet, path_contains
from pulsetrace.live.state import FINISHED, LiveState
from pulsetrace.model.lines import CodeKey, LineStats
from pulsetrace.reports.heatmap import build_document


def _program(tmp_path: Path) -> Dict[str, str]:
    paths = {}
    for name in ("app.py", "util.py", "other.py"):
        path = tmp_path / "proj" / name if name != "other.py" else tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n" * 10)
        paths[name] = str(path)
    return paths


def _stats(paths: Dict[str, str], hits: int) -> LineStats:
    stats = LineStats()
    for lineno in (1, 2):
        stat = stats.line(paths["app.py"], lineno)
        stat.hits, stat.self_ns, stat.total_ns = hits * lineno, 100 * hits, 300 * hits
    stats.line(paths["util.py"], 5).hits = 1
    stats.line(paths["other.py"], 1).hits = 9  # not selected: never shown
    edge = stats.edge(paths["app.py"], 2, CodeKey(paths["util.py"], 4, "helper"))
    edge.count, edge.total_ns = hits, 200 * hits
    return stats


def _state(tmp_path: Path, current: Dict[str, Any]) -> LiveState:
    return LiveState(lambda: current["stats"], FileSet(path_contains(str(tmp_path / "proj"))))


def _files(document: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {entry["path"]: entry for entry in document["heatmap"]["files"]}


def _lines(entry: Dict[str, Any]) -> List[List[int]]:
    return [list(row) for row in entry["lines"]]


def test_the_index_gets_every_file_then_only_what_changed(tmp_path: Path) -> None:
    paths = _program(tmp_path)
    current: Dict[str, Any] = {"stats": _stats(paths, 10)}
    state = _state(tmp_path, current)
    first = state.refresh()
    index = page_document(first, None, None, -1)
    assert index["full"] is True and index["seq"] == first.seq
    files = _files(index)
    assert set(files) == {paths["app.py"], paths["util.py"]}  # other.py is not selected
    app = files[paths["app.py"]]
    assert app["id"] == state.files.file_id(paths["app.py"]) and app["label"].endswith("app.py")
    assert _lines(app) == [[1, 10, 1000, 3000], [2, 20, 1000, 3000]] and app["hits"] == 30
    assert app["code"] is None  # a file's text is sent once, by /api/source
    assert app["recent"] == 30  # hits in the last seconds
    assert index["heatmap"]["totals"] == {"hits": 31, "selfNs": 2000, "files": 2, "linesRun": 3}
    assert "edges" not in index["heatmap"]  # the index shows no calls
    # the same numbers the report's heatmap shows for this file
    report = build_document(current["stats"], {}, FileGrouper(str(tmp_path)), read_missing_sources=False)
    in_report = next(entry for entry in report["files"] if entry["path"] == paths["app.py"])
    assert in_report["lines"] == app["lines"] and in_report["selfNs"] == app["selfNs"]

    current["stats"] = _stats(paths, 10)
    current["stats"].line(paths["app.py"], 2).hits = 25  # one line changed, in one file
    second = state.refresh()
    delta = page_document(second, None, None, first.seq)
    assert delta["full"] is False
    app = _files(delta)[paths["app.py"]]
    assert _lines(app) == [[2, 25, 1000, 3000]]  # only the changed line, with the file's new totals
    assert app["hits"] == 35 and app["linesRun"] == 2
    assert paths["util.py"] not in _files(delta)  # unchanged (its recent hits too): not sent
    assert delta["heatmap"]["totals"]["hits"] == 36
    assert "groups" not in delta["heatmap"] and index["heatmap"]["groups"][0]["key"] == "project"  # sent once
    # a page that missed a tick gets what changed in both; a new page everything
    assert set(_files(page_document(second, None, None, 0))) == {paths["app.py"], paths["util.py"]}
    assert page_document(second, None, None, -1)["full"] is True


def test_a_file_page_gets_its_file_its_calls_and_its_recency_once(tmp_path: Path) -> None:
    paths = _program(tmp_path)
    current: Dict[str, Any] = {"stats": _stats(paths, 10)}
    state = _state(tmp_path, current)
    first = state.refresh()
    app_id = state.files.file_id(paths["app.py"])
    page = page_document(first, app_id, paths["app.py"], -1)
    heatmap = page["heatmap"]
    assert [entry["path"] for entry in heatmap["files"]] == [paths["app.py"]]
    assert [(e["line"], e["count"], e["totalNs"]) for e in heatmap["edges"]] == [(2, 10, 2000)]
    # each line's numbers once, in the heatmap document; the recency beside them: [recent hits, age ms]
    assert set(page["recency"]) == {"1", "2"}
    recent, age_ms = page["recency"]["2"]
    assert recent == 20 and 0 <= age_ms < 100
    assert "lines" not in page
    # the callee's file lists the call into its function (a caller from another file)
    util = page_document(first, state.files.file_id(paths["util.py"]), paths["util.py"], -1)["heatmap"]
    assert util["files"][0]["functions"] == [{"name": "helper", "lineno": 4, "callee": 0}]

    current["stats"] = _stats(paths, 15)  # line 1: 5 more hits, line 2: 10 more; the call 5 more times
    second = state.refresh()
    page = page_document(second, app_id, paths["app.py"], first.seq)
    assert page["recency"]["1"][0] == 15 and page["recency"]["2"][0] == 30  # hits in the last 2 s
    assert [e["count"] for e in page["heatmap"]["edges"]] == [15]
    current["stats"] = _stats(paths, 15)  # nothing changed
    third = state.refresh()
    page = page_document(third, app_id, paths["app.py"], second.seq)
    assert page["heatmap"]["files"] == [] and "edges" not in page["heatmap"]


def test_a_selected_file_not_run_yet_gets_an_empty_document(tmp_path: Path) -> None:
    paths = _program(tmp_path)
    state = _state(tmp_path, {"stats": LineStats()})
    tick = state.refresh()
    file_id = state.files.file_id(paths["app.py"])
    document = page_document(tick, file_id, paths["app.py"], -1)["heatmap"]
    assert document["files"][0]["path"] == paths["app.py"] and document["files"][0]["lines"] == []


def test_reset_starts_lines_and_calls_from_zero(tmp_path: Path) -> None:
    paths = _program(tmp_path)
    current: Dict[str, Any] = {"stats": _stats(paths, 10)}
    state = _state(tmp_path, current)
    before = state.refresh()
    state.reset()
    tick = state.refresh()
    index = page_document(tick, None, None, before.seq)
    assert index["full"] is True and index["heatmap"]["files"] == []  # a page from before: all anew
    current["stats"] = _stats(paths, 14)
    tick = state.refresh()
    app_id = state.files.file_id(paths["app.py"])
    page = page_document(tick, app_id, paths["app.py"], -1)
    assert _lines(page["heatmap"]["files"][0]) == [[1, 4, 400, 1200], [2, 8, 400, 1200]]
    assert [(e["count"], e["totalNs"]) for e in page["heatmap"]["edges"]] == [(4, 800)]
    state.finish()
    final = page_document(state.current, app_id, paths["app.py"], -1)
    assert final["status"] == FINISHED and final["heatmap"]["files"][0]["lines"][1][1] == 8
