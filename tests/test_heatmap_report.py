"""The heatmap's data (reports.heatmap), its page builder (reports.heatmap_html) and its writer."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path
from typing import Any, Dict, Optional

import pytest

from helpers_cli import run_pulsetrace
from line_oracle import collect
from pulsetrace.filegroups import FileGrouper
from pulsetrace.model import ProcessTrace, Trace
from pulsetrace.model.lines import CodeKey, LineStats
from pulsetrace.reports import heatmap_html
from pulsetrace.reports.heatmap import (
    NoLineStatsError,
    build_document,
    display_path,
    heatmap_document,
    module_name,
    project_root,
    source_lines,
)
from pulsetrace.writers import OutputError, save

STDLIB = sysconfig.get_paths()["stdlib"]


def process_with(
    lines: Optional[LineStats], sources: Optional[Dict[str, str]] = None, pid: int = 1
) -> ProcessTrace:
    return ProcessTrace(
        pid=pid,
        name=f"python prog.py ({pid})",
        functions=[],
        threads=[],
        start_ns=0,
        stop_ns=1000,
        wall_anchor_ns=0,
        mono_anchor_ns=0,
        argv=["/proj/prog.py"],
        sources=sources or {},
        lines=lines,
    )


def sample_stats() -> LineStats:
    """/proj/prog.py calls work() in /proj/lib.py twice from line 3; work calls json.dumps (summarised)."""
    stats = LineStats()
    for lineno, hits, self_ns, total_ns in ((1, 1, 50, 50), (3, 2, 100, 2100), (4, 1, 30, 30)):
        stat = stats.line("/proj/prog.py", lineno)
        stat.hits, stat.self_ns, stat.total_ns = hits, self_ns, total_ns
    for lineno, hits, self_ns, total_ns in ((1, 2, 20, 20), (2, 2, 1500, 1980)):
        stat = stats.line("/proj/lib.py", lineno)
        stat.hits, stat.self_ns, stat.total_ns = hits, self_ns, total_ns
    work = CodeKey("/proj/lib.py", 1, "work")
    dumps = CodeKey(f"{STDLIB}/json/__init__.py", 183, "dumps")
    edge = stats.edge("/proj/prog.py", 3, work)
    edge.count, edge.total_ns = 2, 2000
    edge = stats.edge("/proj/lib.py", 2, dumps)
    edge.count, edge.total_ns = 2, 480
    summary = stats.function(dumps)
    summary.calls, summary.hits, summary.self_ns, summary.total_ns = 2, 14, 400, 480
    return stats


SOURCES = {
    "/proj/prog.py": "import lib\n\nlib.work()\nprint('done')\n",
    "/proj/lib.py": "def work():\n    return json.dumps([1, 2])\n",
}


def sample_document() -> Dict[str, Any]:
    return build_document(sample_stats(), SOURCES, FileGrouper("/proj"), title="python prog.py")


def test_files_carry_their_lines_totals_and_hottest_line() -> None:
    document = sample_document()
    files = {entry["path"]: entry for entry in document["files"]}
    assert [entry["path"] for entry in document["files"]] == ["/proj/lib.py", "/proj/prog.py"]
    prog = files["/proj/prog.py"]
    assert prog["lines"] == [[1, 1, 50, 50], [3, 2, 100, 2100], [4, 1, 30, 30]]
    assert (prog["hits"], prog["selfNs"], prog["maxTotalNs"], prog["linesRun"]) == (4, 180, 2100, 3)
    assert prog["hottestLine"] == 3
    assert files["/proj/lib.py"]["hottestLine"] == 2
    assert (prog["group"], prog["label"], prog["module"]) == ("project", "prog.py", "prog")
    assert prog["source"] == "trace"
    assert prog["code"] == ["import lib", "", "lib.work()", "print('done')"]
    # one list of Pygments runs per line, classes from the document's table
    classes = document["tokenClasses"]
    assert len(prog["tokens"]) == 4 and classes[0] == ""
    assert [classes[code] for code in prog["tokens"][0][1::2] if code] == ["kn", "nn"]
    assert prog["tokens"][1] == []
    assert [classes[code] for code in prog["tokens"][3][1::2] if code] == ["nb", "s1"]
    # all time: lines kept in detail plus the summarised function's own time
    assert document["totals"] == {"hits": 4 + 4 + 14, "selfNs": 180 + 1520 + 400, "files": 2, "linesRun": 5}


def test_edges_link_lines_to_the_functions_they_called() -> None:
    document = sample_document()
    callees = document["callees"]
    file_ids = {entry["path"]: index for index, entry in enumerate(document["files"])}
    by_name = {callee["name"]: callee for callee in callees}
    assert by_name["work"]["fileId"] == file_ids["/proj/lib.py"] and not by_name["work"]["summarised"]
    assert by_name["dumps"]["fileId"] == -1 and by_name["dumps"]["summarised"]
    edges = [
        (e["file"], e["line"], callees[e["callee"]]["name"], e["count"], e["totalNs"])
        for e in document["edges"]
    ]
    assert edges == [("/proj/lib.py", 2, "dumps", 2, 480), ("/proj/prog.py", 3, "work", 2, 2000)]
    assert all(edge["fileId"] == file_ids[edge["file"]] for edge in document["edges"])
    # a called function whose lines are shown is listed in its file, for the "callers" links
    lib = document["files"][file_ids["/proj/lib.py"]]
    assert [(f["name"], f["lineno"]) for f in lib["functions"]] == [("work", 1)]
    assert document["files"][file_ids["/proj/prog.py"]]["functions"] == []


def test_summarised_functions_are_listed_with_their_group() -> None:
    (summary,) = sample_document()["summaries"]
    assert summary == {
        "name": "dumps",
        "file": f"{STDLIB}/json/__init__.py",
        "lineno": 183,
        "group": "stdlib",
        "calls": 2,
        "hits": 14,
        "selfNs": 400,
        "totalNs": 480,
    }


def test_file_names_and_modules_by_group() -> None:
    assert display_path("/proj/pkg/mod.py", "project", "/proj") == "pkg/mod.py"
    assert module_name("/proj/pkg/mod.py", "project", "/proj") == "pkg.mod"
    assert module_name("/proj/pkg/__init__.py", "project", "/proj") == "pkg"
    assert display_path(f"{STDLIB}/json/decoder.py", "stdlib", "/proj") == "json/decoder.py"
    assert module_name(f"{STDLIB}/json/decoder.py", "stdlib", "/proj") == "json.decoder"
    site = "/venv/lib/python3.11/site-packages/requests/api.py"
    assert display_path(site, "site-packages", "/proj") == "requests/api.py"
    assert module_name(site, "site-packages", "/proj") == "requests.api"
    assert module_name("<frozen importlib._bootstrap>", "stdlib", "/proj") == "importlib._bootstrap"
    assert (display_path("<string>", "other", "/proj"), module_name("<string>", "other", "/proj")) == (
        "<string>",
        "",
    )
    assert display_path("/elsewhere/x.py", "other", "/proj") == "/elsewhere/x.py"


def test_project_root_is_the_scripts_directory(tmp_path: Path) -> None:
    assert project_root(["/a/b/prog.py"], ["/a/b/prog.py"]) == "/a/b"
    assert project_root(["/x/lib.py", "/a/b/sub/prog.py"], ["sub/prog.py"]) == "/a/b/sub"
    assert project_root(["/a/b/prog.py"], ["-m"]) == os.getcwd()


def test_a_trace_without_line_statistics_is_refused() -> None:
    with pytest.raises(NoLineStatsError, match="no line statistics.*--lines"):
        heatmap_document(Trace([process_with(None)]))
    with pytest.raises(OutputError, match="no line statistics"):
        save(Trace([process_with(None)]), os.devnull, "heatmap")


def test_processes_are_added_together() -> None:
    trace = Trace(
        [
            process_with(sample_stats(), SOURCES, 1),
            process_with(None, pid=2),
            process_with(sample_stats(), pid=3),
        ]
    )
    document = heatmap_document(trace)
    prog = next(entry for entry in document["files"] if entry["path"] == "/proj/prog.py")
    assert prog["lines"] == [[1, 2, 100, 100], [3, 4, 200, 4200], [4, 2, 60, 60]]
    assert document["title"] == "python prog.py (1) and 1 more processes"
    assert document["projectRoot"] == "/proj"


def test_missing_source_is_read_from_disk_and_says_so(tmp_path: Path) -> None:
    on_disk = tmp_path / "prog.py"
    on_disk.write_text("x = 1\ny = 2\n")
    stats = LineStats()
    stats.line(str(on_disk), 2).hits = 1
    stats.line("/gone/away.py", 1).hits = 1
    document = build_document(stats, {}, FileGrouper(str(tmp_path)))
    files = {entry["path"]: entry for entry in document["files"]}
    assert files[str(on_disk)]["source"] == "disk" and len(files[str(on_disk)]["code"]) == 2
    assert files["/gone/away.py"]["source"] == "" and files["/gone/away.py"]["code"] is None
    assert files["/gone/away.py"]["tokens"] is None and len(files[str(on_disk)]["tokens"]) == 2
    quiet = build_document(stats, {}, FileGrouper(str(tmp_path)), read_missing_sources=False)
    assert all(entry["code"] is None for entry in quiet["files"])


def test_source_lines_are_numbered_as_python_numbers_them() -> None:
    # a form feed (some standard library files have them) does not end a line for Python's tokenizer
    assert source_lines("a = 1\r\n\x0c\nb = 2\rc = 3\n") == ["a = 1", "\x0c", "b = 2", "c = 3"]
    assert source_lines("x") == ["x"] and source_lines("") == [] and source_lines("\n\n") == ["", ""]


def test_the_page_embeds_the_data_safely() -> None:
    stats = LineStats()
    nasty = "/proj/</script><script>alert(1)</script>\u2028.py"
    stats.line(nasty, 1).hits = 3
    document = build_document(stats, {nasty: "s = '</script>'\n"}, FileGrouper("/proj"), title="<title>")
    page = heatmap_html.heatmap_html(document)
    match = re.search(r'<script type="application/json" id="heatmap-data">(.*?)</script>', page, re.DOTALL)
    assert match is not None
    assert json.loads(match.group(1)) == document
    assert "<title>&lt;title&gt; - pulsetrace heatmap</title>" in page
    assert "alert(1)</script>" not in page and "\u2028" not in page
    # one module script: the page's modules joined, their relative imports gone
    script = page.split('<script type="module">', 1)[1]
    assert "class HeatmapApp" in script and "function renderFile" in script
    assert not re.search(r"^\s*(import|export)\s", script, re.MULTILINE)


def test_joining_refuses_an_import_it_cannot_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    original = heatmap_html.web_file
    monkeypatch.setattr(
        heatmap_html,
        "web_file",
        lambda name: 'import { x } from "./elsewhere.js";\n' if name == "heatmap.js" else original(name),
    )
    with pytest.raises(ValueError, match="heatmap.js imports something"):
        heatmap_html.joined_modules()


PROGRAM = """\
from helper import square


def main():
    total = 0
    for i in range(300):
        total += square(i)
    return total


main()
"""
HELPER = """\
def square(x):
    return x * x
"""


def test_a_real_program_gives_the_numbers_it_ran(tmp_path: Path) -> None:
    (tmp_path / "prog.py").write_text(PROGRAM)
    (tmp_path / "helper.py").write_text(HELPER)
    trace = collect(str(tmp_path / "prog.py"))
    output = tmp_path / "out.heatmap.html"
    result = save(trace, output)
    assert result.format == "heatmap" and output.stat().st_size == result.bytes_written
    document = heatmap_document(trace)
    files = {entry["label"]: entry for entry in document["files"]}
    assert set(files) == {"prog.py", "helper.py"}
    helper = {row[0]: row for row in files["helper.py"]["lines"]}
    assert helper[2][1] == 300  # return x * x ran once per call
    prog = {row[0]: row for row in files["prog.py"]["lines"]}
    assert prog[7][1] == 300 and prog[6][1] == 301  # the loop body, and the loop test once more
    assert files["prog.py"]["hottestLine"] == max(prog.values(), key=lambda row: row[2])[0]
    assert all(row[3] >= row[2] >= 0 for row in files["prog.py"]["lines"])
    (edge,) = [e for e in document["edges"] if e["file"].endswith("prog.py") and e["line"] == 7]
    assert edge["count"] == 300 and document["callees"][edge["callee"]]["name"] == "square"
    assert prog[7][3] >= edge["totalNs"]  # the line's total includes its calls


def test_report_refuses_a_trace_without_lines(tmp_path: Path) -> None:
    program = tmp_path / "prog.py"
    program.write_text(textwrap.dedent(PROGRAM).replace("from helper import square", "square = abs"))
    traced = run_pulsetrace(["run", "-o", str(tmp_path / "t.pulse"), str(program)], cwd=tmp_path)
    assert traced.returncode == 0, traced.stderr
    result = run_pulsetrace(
        ["report", str(tmp_path / "t.pulse"), "-o", str(tmp_path / "x.heatmap.html")], cwd=tmp_path
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "pulsetrace: error: this trace has no line statistics: record it with line collection on "
        "(pulsetrace run --lines)"
    ]
    assert not (tmp_path / "x.heatmap.html").exists()


def test_an_install_ships_the_page(tmp_path: Path) -> None:
    """The page's files are package data: a build (what pip installs) carries every one of them."""
    pytest.importorskip("setuptools")
    root = Path(__file__).resolve().parents[1]
    copy = tmp_path / "source"  # a copy, so the build leaves nothing in the checkout
    copy.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(root / name, copy / name)
    skip = shutil.ignore_patterns("*.so", "__pycache__", "*.egg-info")
    shutil.copytree(root / "src", copy / "src", ignore=skip)
    done = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(tmp_path / "lib")],
        cwd=copy, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    web = tmp_path / "lib" / "pulsetrace" / "web"
    needed = {"heatmap.html", "heatmap.css", *heatmap_html.MODULES}
    assert needed <= {path.name for path in web.iterdir()}
