"""The standalone HTML output: the viewer's modules bundled into one page, the trace embedded intact."""

from __future__ import annotations

import base64
import html
import json
import re
import zlib
from pathlib import Path
from typing import List, Tuple

import pytest

from helpers_cli import run_pulsetrace, summary_of, write
from pulsetrace import viewer_page
from pulsetrace.model.native import parse_trace
from pulsetrace.viewer_page import ViewerBuildError, _convert_module, bundled_script, served_page
from pulsetrace.writers import writer_for

WEB = Path(__file__).resolve().parents[1] / "src" / "pulsetrace" / "web"
PROGRAM = "def square(x):\n    return x * x\n\n\nprint(sum(square(i) for i in range(100)))\n"
EMBEDDED = re.compile(
    rb'<script type="application/octet-stream" id="pulsetrace-trace">([A-Za-z0-9+/=]*)</script>'
)


def embedded_trace(page: bytes) -> bytes:
    match = EMBEDDED.search(page)
    assert match is not None
    return zlib.decompress(base64.b64decode(match.group(1)))


def test_run_writes_result_html_by_default_with_the_trace_inside(tmp_path: Path) -> None:
    write(tmp_path / "prog.py", PROGRAM)
    result = run_pulsetrace(["run", "prog.py"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "328350\n"
    assert summary_of(result).group(3) == "result.html"
    page = (tmp_path / "result.html").read_bytes()
    assert page.startswith(b"<!doctype html>")
    assert b"http://" not in page and b"https://" not in page  # nothing to fetch: opens offline
    trace = parse_trace(embedded_trace(page))
    names = {f.name for f in trace.processes[0].functions}
    assert {"square", "<module>", "builtins.sum"} <= names
    assert trace.processes[0].sources  # the source text travels too, for the details panel


def test_the_embedded_trace_is_the_native_file_byte_for_byte(tmp_path: Path) -> None:
    write(tmp_path / "prog.py", PROGRAM)
    assert run_pulsetrace(["run", "-q", "-o", "t.pulse", "prog.py"], tmp_path).returncode == 0
    converted = run_pulsetrace(["report", "t.pulse", "-o", "t.htm"], tmp_path)
    assert converted.returncode == 0, converted.stderr
    assert embedded_trace((tmp_path / "t.htm").read_bytes()) == (tmp_path / "t.pulse").read_bytes()


HEATMAP = re.compile(
    rb'<script type="application/octet-stream" id="pulsetrace-heatmap" data-files="([^"]*)">'
    rb"([A-Za-z0-9+/=]*)</script>"
)


def embedded_heatmap(page: bytes) -> Tuple[List[str], str]:
    """The files with line data and the heatmap page a viewer page carries for its Heatmap tab."""
    match = HEATMAP.search(page)
    assert match is not None
    files = json.loads(html.unescape(match.group(1).decode()))
    return files, zlib.decompress(base64.b64decode(match.group(2))).decode()


def test_with_lines_the_viewer_carries_the_heatmap_page(tmp_path: Path) -> None:
    write(tmp_path / "prog.py", PROGRAM)
    result = run_pulsetrace(["run", "--lines", "prog.py"], tmp_path)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "result.html").read_bytes()
    files, heatmap = embedded_heatmap(page)
    assert files == [str(tmp_path / "prog.py")]
    assert heatmap.startswith("<!DOCTYPE html>") and "pulsetrace heatmap" in heatmap
    assert '"tokenClasses":["",' in heatmap  # the data, coloured by Pygments
    assert parse_trace(embedded_trace(page)).processes[0].lines is not None
    # without --lines: no heatmap
    assert run_pulsetrace(["run", "-o", "plain.html", "prog.py"], tmp_path).returncode == 0
    assert HEATMAP.search((tmp_path / "plain.html").read_bytes()) is None


def test_report_writes_the_viewer_with_heatmap_or_the_heatmap_alone(tmp_path: Path) -> None:
    write(tmp_path / "prog.py", PROGRAM)
    assert run_pulsetrace(["run", "--lines", "-o", "t.pulse", "prog.py"], tmp_path).returncode == 0
    both = run_pulsetrace(["report", "t.pulse", "-o", "report.html"], tmp_path)
    assert both.returncode == 0, both.stderr
    page = (tmp_path / "report.html").read_bytes()
    assert embedded_trace(page) == (tmp_path / "t.pulse").read_bytes()
    assert embedded_heatmap(page)[0] == [str(tmp_path / "prog.py")]
    alone = run_pulsetrace(["report", "t.pulse", "-o", "report.heatmap.html"], tmp_path)
    assert alone.returncode == 0, alone.stderr
    heatmap_page = (tmp_path / "report.heatmap.html").read_bytes()
    assert HEATMAP.search(heatmap_page) is None and EMBEDDED.search(heatmap_page) is None
    assert b"pulsetrace heatmap" in heatmap_page


def test_html_is_chosen_by_extension() -> None:
    assert writer_for("x.html").name == writer_for("X.HTM").name == "html"


def test_every_module_is_bundled_without_imports_or_exports() -> None:
    script = bundled_script()
    assert not re.search(r"^\s*(import|export)\b", script, re.MULTILINE)
    for module in sorted(WEB.glob("*.js")):
        # web/ also holds the heatmap's own page (heatmap*.js), which the viewer does not bundle
        if module.name != "app.js" and not module.name.startswith("heatmap"):
            assert f"const __pulsetrace_{module.stem} = " in script, module.name
    # except its Heatmap tab, and the one heatmap module that tab uses (links into the heatmap page)
    assert "const __pulsetrace_heatmapview = " in script and "const __pulsetrace_heatmap_common = " in script
    # Dependencies come before the modules that import them; the app (which starts the viewer) last.
    order = re.findall(r"^const (__pulsetrace_\w+) = ", script, re.MULTILINE)
    assert order.index("__pulsetrace_format") < order.index("__pulsetrace_timeline")
    assert order[-1] == "__pulsetrace_app"


def test_imports_become_bindings_of_the_imported_module() -> None:
    source = 'import { a, b as c } from "./y.js";\nexport function f() { return a + c; }\nexport const K = 1;'
    dependencies, text = _convert_module("x.js", source)
    assert dependencies == ["y.js"]
    assert "const { a, b: c } = __pulsetrace_y;" in text
    assert "return { f, K };" in text and "export" not in text


@pytest.mark.parametrize(
    "source",
    ["export default 3;\n", "export { a };\n", 'import a from "./y.js";\n', 'import * as y from "./y.js";\n'],
)
def test_forms_the_bundler_cannot_keep_are_refused(source: str) -> None:
    with pytest.raises(ViewerBuildError, match="cannot bundle"):
        _convert_module("x.js", source)


def test_script_end_tags_are_refused() -> None:
    with pytest.raises(ViewerBuildError, match="</script"):
        _convert_module("x.js", 'const s = "</script>";\n')


def test_the_served_page_fetches_its_trace() -> None:
    page = served_page("/trace?a=1&b=2")
    assert b'data-src="/trace?a=1&amp;b=2"' in page
    assert viewer_page.bundled_script().encode() in page
