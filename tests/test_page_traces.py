"""A standalone HTML page written by pulsetrace is a trace like any other: ``report``, ``combine`` and
``view`` read the native trace inside it (model/page_reader.py), and pages that hold none are clear
errors naming the file."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from helpers_cli import run_pulsetrace, write
from pulsetrace.model import read_any_trace
from pulsetrace.model.native import TraceFileError, read_trace
from pulsetrace.model.page_reader import embedded_trace

PROGRAM = """
def square(x):
    return x * x

total = 0
for i in range(200):
    total += square(i)
print(total)
"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run with line statistics saved three ways: result.html, a .pulse and a heatmap page."""
    folder = tmp_path_factory.mktemp("pages")
    write(folder / "prog.py", PROGRAM)
    for output in ["result.html", "same.pulse", "only.heatmap.html"]:
        result = run_pulsetrace(["run", "--lines", "-q", "-o", output, "prog.py"], folder)
        assert result.returncode == 0, result.stderr
        assert "no place for line statistics" not in result.stderr  # each keeps or shows them
    return folder


def test_the_page_reads_back_as_the_trace_inside_it_lines_included(pages: Path) -> None:
    trace = read_any_trace(pages / "result.html")
    process = trace.processes[0]
    assert sum(1 for f in process.functions if f.name == "square") == 1
    assert trace.call_count >= 200
    assert process.lines is not None
    prog = next(name for name in process.lines.files if name.endswith("prog.py"))
    body = Path(prog).read_text().splitlines()
    assert process.lines.files[prog][body.index("    total += square(i)") + 1].hits == 200


def test_report_turns_a_page_into_every_other_format(pages: Path) -> None:
    for output in ["back.pulse", "back.heatmap.html", "back.json"]:
        result = run_pulsetrace(["report", "result.html", "-o", output], pages)
        assert result.returncode == 0, result.stderr
    back = read_trace(pages / "back.pulse")
    assert back.processes[0].lines is not None
    assert back.call_count == read_any_trace(pages / "result.html").call_count
    assert b"square" in (pages / "back.heatmap.html").read_bytes()


def test_combine_takes_pages_beside_native_files(pages: Path) -> None:
    result = run_pulsetrace(["combine", "result.html", "same.pulse", "-o", "both.pulse"], pages)
    assert result.returncode == 0, result.stderr
    both = read_trace(pages / "both.pulse")
    assert len(both.processes) == 2
    assert [p.call_count for p in both.processes] == [
        read_any_trace(pages / "result.html").call_count,
        read_trace(pages / "same.pulse").call_count,
    ]


def test_a_heatmap_page_is_refused_with_what_to_read_instead(pages: Path) -> None:
    result = run_pulsetrace(["report", "only.heatmap.html", "-o", "x.json"], pages)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "pulsetrace: error: only.heatmap.html: a heatmap page holds the heatmap's figures, not the trace: "
        "read the .pulse or .html file the run wrote instead (save with -o NAME.pulse to keep a trace "
        "beside a heatmap)"
    ]
    assert not (pages / "x.json").exists()


@pytest.mark.parametrize(
    "page, problem",
    [
        ("<!DOCTYPE html>\n<html><body>hi</body></html>\n", "an HTML page without a pulsetrace trace in it"),
        (
            '<!doctype html><script type="application/octet-stream" id="pulsetrace-trace">AAAA</script>',
            "the trace embedded in the page is damaged",
        ),
    ],
)
def test_other_pages_are_clear_errors(tmp_path: Path, page: str, problem: str) -> None:
    (tmp_path / "page.html").write_text(page)
    with pytest.raises(TraceFileError) as raised:
        read_any_trace(tmp_path / "page.html")
    assert raised.value.path == str(tmp_path / "page.html")
    assert raised.value.problem.startswith(problem)
    result = run_pulsetrace(["report", "page.html", "-o", "x.json"], tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"pulsetrace: error: page.html: {problem}" in result.stderr


def test_a_truncated_page_names_the_file(pages: Path, tmp_path: Path) -> None:
    page = (pages / "result.html").read_bytes()
    match = re.search(rb'id="pulsetrace-trace">([A-Za-z0-9+/=]*)</script>', page)
    assert match is not None
    payload = base64.b64decode(match.group(1))
    assert embedded_trace(page) is not None
    cut = page[: match.start(1)] + base64.b64encode(payload[: len(payload) // 2]) + page[match.end(1) :]
    (tmp_path / "cut.html").write_bytes(cut)
    with pytest.raises(TraceFileError) as raised:
        read_any_trace(tmp_path / "cut.html")
    assert raised.value.problem.startswith("the trace embedded in the page is damaged")
