"""The summary table as HTML (reports.summary_html): the rows of the terminal summary, escaped, with
nothing that needs the network or JavaScript."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any, List

from pulsetrace.events import FUNC_C, FUNC_PYTHON
from pulsetrace.recording import FunctionInfo
from pulsetrace.reports.callstats import CallStats, FunctionStats
from pulsetrace.reports.summary import summary_lines
from pulsetrace.reports.summary_html import CSS_CLASS, summary_html


def stats_of(*functions: FunctionStats, wall_ns: int = 1_000_000) -> CallStats:
    return CallStats(7, "python app.py", {f.func: f for f in functions}, wall_ns)


def function(func: int, name: str, filename: str, calls: int, self_ns: int, total_ns: int) -> FunctionStats:
    kind = FUNC_PYTHON if filename else FUNC_C
    info = FunctionInfo(kind, name, filename, 3 if filename else 0)
    return FunctionStats(func, info, calls=calls, self_ns=self_ns, total_ns=total_ns)


STATS = stats_of(
    function(0, "<module>", "/nb/cell.py", 1, 50_000, 1_000_000),
    function(1, "<lambda>", "/nb/cell.py", 1_200, 600_000, 700_000),
    function(2, "main.<locals>.<listcomp>", "/nb/a&b <x>.py", 3, 100_000, 150_000),
    function(3, "builtins.len", "", 40, 2_000, 2_000),
    function(4, "weird\"name'<script>", "/nb/cell.py", 2, 1_000, 1_000),
)


class Cells(HTMLParser):
    """The text of every table cell, row by row, and every tag and attribute seen."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: List[List[str]] = []
        self.tags: List[str] = []
        self.attributes: List[str] = []
        self._in_cell = False

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)
        self.attributes.extend(f"{name}={value}" for name, value in attrs)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._in_cell = True
            self.rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.rows[-1][-1] += data


def parsed(html: str) -> Cells:
    cells = Cells()
    cells.feed(html)
    cells.close()
    return cells


def test_the_rows_are_those_of_the_terminal_summary() -> None:
    html = summary_html(STATS, top=4)
    header, *rows = parsed(html).rows
    assert header == ["calls", "self", "%", "total", "function"]
    lines = summary_lines(STATS, top=4)
    assert len(rows) == len(lines) - 2 == 4
    for row, line in zip(rows, lines[2:]):
        assert " ".join(row).split() == line.split()  # same numbers, same labels, same order
    assert rows[0][4] == "<lambda> (cell.py:3)" and rows[0][0] == "1,200"
    assert lines[0] in html  # the headline: calls, duration, how many functions


def test_names_and_paths_are_escaped() -> None:
    html = summary_html(STATS, top=10, saved="/tmp/<out>&.json", notes=["a <note> & more"])
    cells = parsed(html)
    assert cells.tags.count("script") == 0  # 'weird"name\'<script>' stayed text
    names = [row[4] for row in cells.rows[1:]]
    assert "weird\"name'<script> (cell.py:3)" in names
    assert "main.<locals>.<listcomp> (a&b <x>.py:3)" in names
    assert "title=/nb/a&b <x>.py" in cells.attributes
    assert "&lt;lambda&gt;" in html and "<lambda>" not in html
    assert "/tmp/&lt;out&gt;&amp;.json" in html and "a &lt;note&gt; &amp; more" in html


def test_self_contained_and_scoped() -> None:
    html = summary_html(STATS, threads=2)
    assert html.startswith(f'<div class="{CSS_CLASS}">') and html.endswith("</div>")
    assert not re.search(r"https?:|<script|<link|@import|url\(", html)
    style = html[html.index("<style>") + 7 : html.index("</style>")]
    selectors = [rule.split("{")[0].strip() for rule in style.split("}") if "{" in rule]
    parts = [part.strip() for selector in selectors for part in selector.split(",")]
    assert parts and all(part.startswith(f".{CSS_CLASS}") for part in parts)
    assert "; 2 threads" in html


def test_files_can_have_names_of_their_own() -> None:
    names = {"/nb/cell.py": "In[3]"}
    rows = parsed(summary_html(STATS, file_names=names)).rows
    assert rows[1][4] == "<lambda> (In[3]:3)" and rows[2][4] == "main.<locals>.<listcomp> (a&b <x>.py:3)"
    assert summary_lines(STATS, file_names=names)[2].endswith("<lambda> (In[3]:3)")
    assert 'title="/nb/cell.py"' in summary_html(STATS, file_names=names)  # the real file, on hover


def test_top_and_empty() -> None:
    assert len(parsed(summary_html(STATS, top=2)).rows) == 3
    empty = summary_html(stats_of())
    assert "no calls were recorded" in empty and "<table" not in empty
