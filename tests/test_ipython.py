"""The IPython extension: ``%load_ext pulsetrace``, then ``%%pulsetrace`` and ``%pulsetrace``, in a real
IPython shell (no notebook server): what the cell does, what is displayed, what is kept and saved."""

from __future__ import annotations

import base64
import builtins
import html
import json
import re
import subprocess
import sys
import textwrap
import threading
import types
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

pytest.importorskip("IPython")

from IPython.core.error import UsageError  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from IPython.utils.capture import CapturedIO, capture_output  # noqa: E402
from traitlets.config import Config  # noqa: E402

import pulsetrace  # noqa: E402
from helpers_cli import SRC  # noqa: E402
from pulsetrace.ipython import inline  # noqa: E402
from pulsetrace.ipython.arguments import make_parser, split_statement  # noqa: E402
from pulsetrace.ipython.cellcode import VALUE_NAME  # noqa: E402
from pulsetrace.model import Trace  # noqa: E402
from pulsetrace.model.native import parse_trace, read_trace  # noqa: E402
from pulsetrace.reports.callstats import CallStats  # noqa: E402

FIB = """\
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

answer = fib(10)
"""
FIB_CALLS = 177  # calls of fib for fib(10)


@pytest.fixture(scope="module")
def ip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InteractiveShell]:
    """One IPython shell for the module: history in memory, its profile in a temporary directory, and
    its own user module (so the test process's __main__ is left alone)."""
    added = [name for name in ("__IPYTHON__", "display") if name not in builtins.__dict__]
    module_name = "pulsetrace_test_cells"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IPYTHONDIR", str(tmp_path_factory.mktemp("ipython")))
        config = Config()
        config.HistoryManager.hist_file = ":memory:"
        shell = InteractiveShell.instance(config=config, user_module=types.ModuleType(module_name))
        shell.run_line_magic("load_ext", "pulsetrace")
        try:
            yield shell
        finally:
            InteractiveShell.clear_instance()
            sys.modules.pop(module_name, None)
            for name in added:  # InteractiveShell puts these in builtins for good
                builtins.__dict__.pop(name, None)


@pytest.fixture(autouse=True)
def no_tracer_left() -> Iterator[None]:
    yield
    assert pulsetrace.running_tracer() is None


class _Tables(HTMLParser):
    """The rows of the HTML tables of a fragment (cell texts), and every tag seen."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: List[List[str]] = []
        self.tags: List[str] = []
        self._cell: List[str] = []
        self._in_cell = False

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._in_cell, self._cell = True, []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._in_cell = False
            self.rows[-1].append("".join(self._cell).strip())

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self._cell.append(data)


def html_of(captured: CapturedIO) -> str:
    """The HTML of the one summary the magic displayed."""
    shown = [output.data for output in captured.outputs if "text/html" in output.data]
    assert len(shown) == 1, captured.outputs
    html = shown[0]["text/html"]
    assert isinstance(html, str)
    return html


def table_of(captured: CapturedIO) -> Dict[str, List[str]]:
    """The displayed table: function name -> [calls, self, %, total, function]."""
    parser = _Tables()
    parser.feed(html_of(captured))
    header, *rows = parser.rows
    assert header == ["calls", "self", "%", "total", "function"]
    return {row[4].split(" (", 1)[0]: row for row in rows}


def cell_magic(ip: InteractiveShell, line: str, code: str) -> CapturedIO:
    with capture_output() as captured:
        ip.run_cell_magic("pulsetrace", line, code)
    return captured


def test_importing_pulsetrace_does_not_import_ipython() -> None:
    code = "import sys, pulsetrace; assert 'IPython' not in sys.modules; pulsetrace.load_ipython_extension"
    done = subprocess.run(
        [sys.executable, "-c", code], env={"PYTHONPATH": str(SRC)}, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_the_cell_runs_traced_and_its_function_tops_the_table(ip: InteractiveShell) -> None:
    captured = cell_magic(ip, "", FIB)
    assert ip.user_ns["answer"] == 55 and callable(ip.user_ns["fib"])
    table = table_of(captured)
    assert table["fib"][0] == f"{FIB_CALLS:,}"
    assert table["<module>"][0] == "1"
    assert list(table)[0] == "fib"  # most self time
    assert re.fullmatch(r"fib \(In\[\d+\]:2\)", table["fib"][4])  # the cell's line, under %%pulsetrace
    # From the cell down only: nothing of IPython's machinery, nothing of pulsetrace's.
    trace = ip.user_ns["_pulsetrace"]
    assert isinstance(trace, Trace)
    files = {f.filename for f in trace.process().functions if f.filename}
    assert len(files) == 1 and "pulsetrace" not in next(iter(files)), files
    html = html_of(captured)
    assert "1 thread" in html and "_pulsetrace" in html
    text = [output.data["text/plain"] for output in captured.outputs][0]
    assert "fib (" in text and "calls in" in text  # a terminal IPython shows the text table
    assert captured.stderr == ""


def test_the_table_has_the_numbers_of_the_terminal_summary(ip: InteractiveShell) -> None:
    captured = cell_magic(ip, "--top 3", FIB)
    stats = CallStats.of(ip.user_ns["_pulsetrace"].process(), callers=False)
    ranked = stats.by_self_time()[:3]
    assert [row[0] for row in table_of(captured).values()] == [f"{f.calls:,}" for f in ranked]


def test_the_cell_keeps_its_output_result_and_namespace(ip: InteractiveShell) -> None:
    with capture_output() as captured:
        result = ip.run_cell(
            "%%pulsetrace\nprint('hello from the cell')\nsquares = [i * i for i in range(5)]\nsum(squares)\n"
        )
    assert result.success and result.result == 30
    assert ip.user_ns["squares"] == [0, 1, 4, 9, 16]
    assert "hello from the cell" in captured.stdout
    with capture_output():
        quiet = ip.run_cell("%%pulsetrace\nsum([1, 2])  ;\n")
    assert quiet.success and quiet.result is None  # a trailing ';' silences the value, as without the magic
    assert VALUE_NAME not in ip.user_ns  # where the value passed through is gone again


def test_an_exception_propagates_and_the_table_is_still_shown(ip: InteractiveShell) -> None:
    code = "def boom():\n    raise ValueError('bad cell')\n\nreached = False\nboom()\nreached = True\n"
    with pytest.raises(ValueError, match="bad cell"):
        cell_magic_raising(ip, code)
    assert ip.user_ns["reached"] is False
    with capture_output() as captured:
        result = ip.run_cell("%%pulsetrace\n" + code)
    assert isinstance(result.error_in_exec, ValueError)
    assert table_of(captured)["boom"][0] == "1"
    assert "ValueError" in captured.stdout + captured.stderr  # IPython's own traceback


def cell_magic_raising(ip: InteractiveShell, code: str) -> None:
    shown: List[Any] = []
    with capture_output() as captured:
        try:
            ip.run_cell_magic("pulsetrace", "", code)
        finally:
            shown.extend(captured.outputs)
    assert shown  # the table came before the exception went on


def test_output_file_is_written_and_readable(ip: InteractiveShell, tmp_path: Path) -> None:
    target = tmp_path / "cell.pulse"
    captured = cell_magic(ip, f"-o {target}", FIB)
    trace = read_trace(target)
    stats = CallStats.of(trace.process(), callers=False)
    assert {f.name: f.calls for f in stats.functions.values()}["fib"] == FIB_CALLS
    assert f"trace saved to <code>{target}</code>" in html_of(captured)


def test_lines_shows_the_cells_hottest_lines(ip: InteractiveShell) -> None:
    captured = cell_magic(ip, "--lines --top 2", FIB)
    lines = ip.user_ns["_pulsetrace"].process().lines
    assert lines is not None
    (cell_file,) = [name for name, numbers in lines.files.items() if len(numbers) == 3]
    assert sorted(stat.hits for stat in lines.files[cell_file].values()) == [1, 1, FIB_CALLS]
    shown = [output.data["text/plain"] for output in captured.outputs if "text/plain" in output.data]
    assert len(shown) == 1
    table = shown[0].splitlines()
    title = table.index("pulsetrace: top 2 of 3 lines by self time")
    assert table[title + 2].split()[0] == str(FIB_CALLS)
    assert table[title + 2].endswith("return n if n < 2 else fib(n - 1) + fib(n - 2)")
    assert "top 2 of 3 lines by self time" in html_of(captured)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--max-stack-depth x", r"max_stack_depth \(in %%pulsetrace option --max-stack-depth\): 'x' is not"),
        ("--no-such-flag", "unrecognized arguments: --no-such-flag"),
        ("--include-files a --exclude-files b", "cannot be combined"),
        ("--core nothing", "invalid choice"),
        ("-o 'unclosed", "cannot read the options"),
        ("-o trace.unknown-format", "unknown-format"),
        ("-o cell.heatmap.html", "needs line statistics: record with --lines"),
        ("--top 0", "--top must be at least 1"),
        ("print(1)", "takes only options on its line"),
    ],
)
def test_a_bad_option_is_a_usage_error(ip: InteractiveShell, line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ip.run_cell_magic("pulsetrace", line, "ran = True\n")
    with capture_output() as captured:
        ip.run_cell(f"%%pulsetrace {line}\nran = True\n")
    assert captured.stderr.startswith("UsageError: ") and "Traceback" not in captured.stderr
    assert "ran" not in ip.user_ns


def inline_page(captured: CapturedIO) -> Optional[str]:
    """The viewer page the displayed HTML shows inline (its iframe's srcdoc), or None."""
    found = re.search(r'<iframe class="pulsetrace-viewer"[^>]* srcdoc="([^"]*)"></iframe>', html_of(captured))
    return html.unescape(found.group(1)) if found else None


def test_the_viewer_is_shown_inline_with_the_cell_s_trace(ip: InteractiveShell) -> None:
    captured = cell_magic(ip, "", FIB)
    page = inline_page(captured)
    assert page is not None and page.startswith("<!doctype html>")
    embedded = re.search(r'id="pulsetrace-trace">([A-Za-z0-9+/=]*)</script>', page)
    assert embedded is not None
    trace = parse_trace(zlib.decompress(base64.b64decode(embedded.group(1))))
    assert "fib" in {f.name for f in trace.processes[0].functions}
    # no line statistics: no heatmap
    assert 'id="pulsetrace-heatmap" data-files=' not in page
    assert "<iframe" not in [output.data["text/plain"] for output in captured.outputs][0]


def test_with_lines_the_inline_viewer_opens_on_the_cell_s_heatmap(ip: InteractiveShell) -> None:
    captured = cell_magic(ip, "--lines", FIB)
    page = inline_page(captured)
    assert page is not None
    element = re.search(
        r'id="pulsetrace-heatmap" data-files="([^"]*)" data-open="([^"]*)">([^<]*)</script>', page
    )
    assert element is not None
    cell_file = html.unescape(element.group(2))
    assert cell_file.startswith("<") and json.loads(html.unescape(element.group(1))) == [cell_file]
    heatmap = zlib.decompress(base64.b64decode(element.group(3))).decode()
    assert json.dumps("answer = fib(10)") in heatmap  # the cell's source is in the heatmap's data


def test_no_viewer_and_the_size_cap(ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch) -> None:
    captured = cell_magic(ip, "--no-viewer", FIB)
    assert inline_page(captured) is None and "pulsetrace-viewer" not in html_of(captured)
    assert table_of(captured)["fib"][0] == f"{FIB_CALLS:,}"
    monkeypatch.setattr(inline, "INLINE_LIMIT", 10_000)
    captured = cell_magic(ip, "", FIB)
    assert inline_page(captured) is None
    assert "The trace viewer is not shown here" in html_of(captured) and "-o trace.html" in html_of(captured)


def test_help(ip: InteractiveShell) -> None:
    with capture_output() as captured:
        ip.run_cell_magic("pulsetrace", "--help", "ran = True\n")
    assert "--ignore-c-function" in captured.stdout and "--lines" in captured.stdout
    assert "ran" not in ip.user_ns
    doc = ip.find_line_magic("pulsetrace").__doc__
    assert "_pulsetrace" in doc and "--include-files" in doc


def test_line_magic(ip: InteractiveShell) -> None:
    with capture_output():
        ip.run_cell(FIB)
    with capture_output() as captured:
        ip.run_cell("value = %pulsetrace --ignore-c-function fib(6) + len('ab')")
    assert ip.user_ns["value"] == 10
    table = table_of(captured)
    assert table["fib"][0] == "25" and "len" not in "".join(table)  # C functions left out
    with capture_output() as captured:
        ip.run_cell("negative = %pulsetrace -- -fib(4)")
    assert ip.user_ns["negative"] == -3 and table_of(captured)["fib"][0] == "9"
    with pytest.raises(UsageError, match="needs a statement"):
        ip.run_line_magic("pulsetrace", "--ignore-c-function")


@pytest.mark.parametrize(
    ("line", "words", "statement"),
    [
        ("f(1)", [], "f(1)"),
        ("  -o 'my trace.json'  f(-1, '-o x')", ["-o", "my trace.json"], "f(-1, '-o x')"),
        ("--top=3 --ignore-c-function x = y", ["--top=3", "--ignore-c-function"], "x = y"),
        ("-qo out.json g()", ["-qo", "out.json"], "g()"),
        ("-oout.json g()", ["-oout.json"], "g()"),
        ("--log-args --include-files b,c h()", ["--log-args", "--include-files", "b,c"], "h()"),
        ("-q -- -x + 1", ["-q"], "-x + 1"),
        ("--no-such 1", ["--no-such"], "1"),  # argparse then reports the unknown flag
        ("-q", ["-q"], ""),
    ],
)
def test_options_end_where_the_statement_starts(line: str, words: List[str], statement: str) -> None:
    assert split_statement(make_parser(cell=False), line) == (words, statement)


def test_line_magic_sees_the_local_namespace(ip: InteractiveShell) -> None:
    code = "def outer():\n    local = 20\n    value = %pulsetrace -q local + 1\n    return value\n"
    code += "result = outer()\n"
    with capture_output() as captured:
        ip.run_cell(code)
    assert ip.user_ns["result"] == 21
    assert not [output for output in captured.outputs if "text/html" in output.data]  # -q: nothing shown


def test_threads_of_the_cell_are_shown_and_older_threads_are_not(ip: InteractiveShell) -> None:
    stop = threading.Event()

    def older_thread_work() -> None:
        while not stop.wait(0.001):
            pass

    older = threading.Thread(target=older_thread_work)
    older.start()
    try:
        code = textwrap.dedent(
            """\
            import threading
            def in_cell_thread():
                return sum(range(100))
            worker = threading.Thread(target=in_cell_thread)
            worker.start()
            worker.join()
            """
        )
        captured = cell_magic(ip, "--top 100", code)
    finally:
        stop.set()
        older.join()
    table = table_of(captured)
    assert table["in_cell_thread"][0] == "1"
    assert "older_thread_work" not in table
    html = html_of(captured)
    assert "; 2 threads" in html
    recorded = len(ip.user_ns["_pulsetrace"].process().threads)  # sys.monitoring sees the older thread too
    assert recorded == 2 or f"not in this table: {recorded - 2} thread" in html


def test_cannot_record_while_another_tracer_records(ip: InteractiveShell) -> None:
    with pulsetrace.Tracer():
        with pytest.raises(UsageError, match="another pulsetrace Tracer is already recording"):
            ip.run_cell_magic("pulsetrace", "", "ran = True\n")
    assert "ran" not in ip.user_ns


def test_top_level_await_is_a_clear_error(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="awaits at its top level"):
        ip.run_cell_magic("pulsetrace", "", "import asyncio\nawait asyncio.sleep(0)\n")


def test_a_syntax_error_is_reported_as_without_the_magic(ip: InteractiveShell) -> None:
    with pytest.raises(SyntaxError):
        ip.run_cell_magic("pulsetrace", "", "def broken(:\n")


def test_unload_and_reload(ip: InteractiveShell) -> None:
    ip.run_line_magic("unload_ext", "pulsetrace")
    try:
        assert ip.find_cell_magic("pulsetrace") is None and ip.find_line_magic("pulsetrace") is None
        with pytest.raises(UsageError, match="not found"):
            ip.run_cell_magic("pulsetrace", "", "ran = True\n")
    finally:
        ip.run_line_magic("load_ext", "pulsetrace")
    ip.run_line_magic("reload_ext", "pulsetrace")
    ip.run_line_magic("load_ext", "pulsetrace")  # already loaded: nothing happens
    captured = cell_magic(ip, "", FIB)
    assert table_of(captured)["fib"][0] == f"{FIB_CALLS:,}"
