"""What the live pages are sent (live/state.py): the display numbers since a reset, recency from the
change of hit counts between snapshots, and a file page's heatmap document, the report's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

from pulsetrace.filegroups import FileGrouper
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


def test_ticks_show_the_selected_files_with_recency(tmp_path: Path) -> None:
    paths = _program(tmp_path)
    current: Dict[str, Any] = {"paths": paths, "stats": _stats(paths, 10)}
    state = _state(tmp_path, current)
    tick = state.refresh()
    assert {entry["path"] for entry in tick.files} == {paths["app.py"], paths["util.py"]}
    app_id = state.files.file_id(paths["app.py"])
    assert app_id is not None
    hits, self_ns, total_ns, recent, age_ms = tick.lines[app_id][2]
    assert (hits, self_ns, total_ns, recent) == (20, 1000, 3000, 20) and 0 <= age_ms < 100
    current["stats"] = _stats(paths, 15)  # line 1: 5 more hits, line 2: 10 more
    tick = state.refresh()
    assert tick.lines[app_id][1][3] == 15 and tick.lines[app_id][2][3] == 30  # hits in the last 2 s
    util_id = state.files.file_id(paths["util.py"])
    assert util_id is not None
    assert tick.lines[util_id][5][:4] == [1, 0, 0, 1]  # hit once, in the first snapshot only


def test_a_file_page_gets_the_heatmap_document_of_its_file(tmp_path: Path) -> None:
    paths = _program(tmp_path)
    current: Dict[str, Any] = {"paths": paths, "stats": _stats(paths, 10)}
    state = _state(tmp_path, current)
    tick = state.refresh()
    app_id = state.files.file_id(paths["app.py"])
    page = tick.for_page(app_id)
    document = page["heatmap"]
    assert [file["path"] for file in document["files"]] == [paths["app.py"]]
    file = document["files"][0]
    assert file["lines"] == [[1, 10, 1000, 3000], [2, 20, 1000, 3000]]  # [line, hits, self, total]
    assert file["code"] is None and file["source"] == ""  # the page has the text from /api/source
    assert [(e["line"], e["count"], e["totalNs"]) for e in document["edges"]] == [(2, 10, 2000)]
    # the same numbers the report's heatmap shows for this file
    report = build_document(current["stats"], {}, FileGrouper(str(tmp_path)), read_missing_sources=False)
    in_report = next(entry for entry in report["files"] if entry["path"] == paths["app.py"])
    assert in_report["lines"] == file["lines"] and in_report["selfNs"] == file["selfNs"]
    # the callee's file lists the call into its function (a caller from another file)
    util = tick.for_page(state.files.file_id(paths["util.py"]))["heatmap"]
    assert util["files"][0]["functions"] == [{"name": "helper", "lineno": 4, "callee": 0}]
    assert tick.for_page(None).get("heatmap") is None


def test_a_selected_file_not_run_yet_gets_an_empty_document(tmp_path: Path) -> None:
    paths = _program(tmp_path)
    state = _state(tmp_path, {"paths": paths, "stats": LineStats()})
    tick = state.refresh()
    file_id = state.files.file_id(paths["app.py"])
    document = tick.for_page(file_id, paths["app.py"])["heatmap"]
    assert document["files"][0]["path"] == paths["app.py"] and document["files"][0]["lines"] == []


def test_reset_starts_lines_and_calls_from_zero(tmp_path: Path) -> None:
    paths = _program(tmp_path)
    current: Dict[str, Any] = {"paths": paths, "stats": _stats(paths, 10)}
    state = _state(tmp_path, current)
    state.refresh()
    state.reset()
    tick = state.refresh()
    assert tick.files == [] and tick.lines == {}
    current["stats"] = _stats(paths, 14)
    tick = state.refresh()
    app_id = state.files.file_id(paths["app.py"])
    assert tick.lines[app_id][2][:3] == [8, 400, 1200]
    document = tick.for_page(app_id)["heatmap"]
    assert [(e["count"], e["totalNs"]) for e in document["edges"]] == [(4, 800)]
    state.finish()
    assert state.current.status == FINISHED and state.current.lines[app_id][2][0] == 8
