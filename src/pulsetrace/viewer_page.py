"""The viewer's HTML page, built from the files in ``pulsetrace/web``: one self-contained document.

A page opened from ``file://`` cannot reliably import sibling ES modules, so the modules are inlined
into one ``<script type="module">``: each module becomes a function scope that returns its exports,
placed after the modules it imports (``import { a } from "./x.js"`` becomes ``const { a } = <x's
exports>``). That needs only the two forms the viewer's modules use: named imports of relative
modules, and ``export`` in front of a declaration. Anything else is refused with ``ViewerBuildError``
so a module that would break the bundle is caught by the tests, not by a user.

The trace travels in a ``<script type="application/octet-stream" id="pulsetrace-trace">`` element:
either the native trace file zlib-compressed and base64-encoded inside it (the standalone HTML), or a
``data-src`` URL the page fetches the native bytes from (``pulsetrace view``). A trace with line
statistics also carries the heatmap page (``reports.heatmap_html``), compressed the same way in a
``<script id="pulsetrace-heatmap">`` element, for the viewer's Heatmap tab.
"""

from __future__ import annotations

import base64
import html
import json
import re
import zlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from .model.page_reader import TRACE_ELEMENT_ID

ENTRY_MODULE = "app.js"
TEMPLATE = "index.html"
STYLESHEETS = ("viewer.css", "views.css")  # the shell's, then the flamegraph's and function table's
CSS_MARK = "/*PULSETRACE:CSS*/"
SCRIPT_MARK = "/*PULSETRACE:SCRIPT*/"
TRACE_MARK = "<!--PULSETRACE:TRACE-->"
HEATMAP_ELEMENT_ID = "pulsetrace-heatmap"
COMPRESSION_LEVEL = 6  # zlib's own balance: the 1M-call HTML in benchmarks/RESULTS.md was measured with it
BASE64_CHUNK = 3 * 1024 * 1024  # a multiple of 3, so chunks encode independently without padding

_IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"\./([\w.-]+\.js)"\s*;?[ \t]*$', re.MULTILINE)
_EXPORT = re.compile(
    r"^export\s+((?:async\s+)?(?:function\*?|class|const|let)\s+([A-Za-z_$][\w$]*))", re.MULTILINE
)
_LEFTOVER = re.compile(r"^\s*(?:import\b(?!\s*\()|export\b)", re.MULTILINE)


class ViewerBuildError(Exception):
    """The viewer's modules cannot be bundled (an import or export form the bundler does not handle)."""


def _web_file(name: str) -> str:
    return (resources.files("pulsetrace") / "web" / name).read_text(encoding="utf-8")


def _module_variable(name: str) -> str:
    return "__pulsetrace_" + re.sub(r"\W", "_", name[: -len(".js")])


def _convert_module(name: str, source: str) -> Tuple[List[str], str]:
    """The modules ``name`` imports, and its text as a scope that returns its exports."""
    dependencies: List[str] = []

    def replace_import(match: re.Match[str]) -> str:
        names = []
        for item in match.group(1).split(","):
            parts = item.split()
            if not parts:
                continue
            names.append(f"{parts[0]}: {parts[2]}" if len(parts) == 3 and parts[1] == "as" else parts[0])
        dependencies.append(match.group(2))
        return f"const {{ {', '.join(names)} }} = {_module_variable(match.group(2))};"

    body = _IMPORT.sub(replace_import, source)
    exports = [match.group(2) for match in _EXPORT.finditer(body)]
    body = _EXPORT.sub(r"\1", body)
    leftover = _LEFTOVER.search(body)
    if leftover is not None:
        line = body[leftover.start() :].split("\n", 1)[0].strip()
        raise ViewerBuildError(
            f"web/{name}: cannot bundle {line!r} (use named imports and `export <declaration>`)"
        )
    if "</script" in body.lower():
        raise ViewerBuildError(f"web/{name}: the text '</script' would end the page's script element")
    scope = (
        f"const {_module_variable(name)} = (() => {{\n{body}\nreturn {{ {', '.join(exports)} }};\n}})();\n"
    )
    return dependencies, scope


@lru_cache(maxsize=1)
def bundled_script() -> str:
    """Every module reachable from app.js, inlined in dependency order as one module script."""
    converted: Dict[str, Tuple[List[str], str]] = {}
    ordered: List[str] = []
    visiting: List[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        if name in visiting:
            raise ViewerBuildError(f"web/{name}: circular import ({' -> '.join(visiting + [name])})")
        visiting.append(name)
        if name not in converted:
            try:
                converted[name] = _convert_module(name, _web_file(name))
            except FileNotFoundError:
                raise ViewerBuildError(f"web/{visiting[-2]} imports {name}, which does not exist") from None
        for dependency in converted[name][0]:
            visit(dependency)
        visiting.pop()
        ordered.append(name)

    visit(ENTRY_MODULE)
    return "\n".join(converted[name][1] for name in ordered)


@lru_cache(maxsize=1)
def _page_halves() -> Tuple[str, str]:
    """The page before and after the trace element."""
    page = _web_file(TEMPLATE).replace(CSS_MARK, "\n".join(_web_file(name) for name in STYLESHEETS))
    before, after = page.split(TRACE_MARK)
    return before, after.replace(SCRIPT_MARK, bundled_script())


def served_page(trace_url: str, heatmap: Optional[EmbeddedHeatmap] = None) -> bytes:
    """The page ``pulsetrace view`` serves: it fetches the native trace bytes from ``trace_url``
    (the heatmap, when there is one, is in the page, as in the standalone page)."""
    before, after = _page_halves()
    element = (
        f'<script type="application/octet-stream" id="{TRACE_ELEMENT_ID}" '
        f'data-src="{html.escape(trace_url)}"></script>'
    )
    return b"".join([(before + element).encode("utf-8"), *_heatmap_element(heatmap), after.encode("utf-8")])


@dataclass(frozen=True)
class EmbeddedHeatmap:
    """The heatmap page a standalone viewer carries for its Heatmap tab (``web/heatmapview.js``)."""

    page: str  # the whole heatmap page (reports.heatmap_html), data included
    files: Sequence[str]  # the files with line data: "Open in heatmap" is offered for their functions
    open_file: str = ""  # a file the tab opens on instead of the index ("" for the index)


def standalone_page_parts(native: bytes, heatmap: Optional[EmbeddedHeatmap] = None) -> Iterator[bytes]:
    """The standalone page, piece by piece: the native trace embedded compressed, base64-encoded, and
    the heatmap page the same way when the trace has line statistics."""
    before, after = _page_halves()
    yield (before + f'<script type="application/octet-stream" id="{TRACE_ELEMENT_ID}">').encode("utf-8")
    yield from _compressed_base64(native)
    yield b"</script>"
    yield from _heatmap_element(heatmap)
    yield after.encode("utf-8")


def _heatmap_element(heatmap: Optional[EmbeddedHeatmap]) -> Iterator[bytes]:
    if heatmap is None:
        return
    # JSON's \u escapes keep undecodable file names (lone surrogates) writable as UTF-8.
    files = html.escape(json.dumps(list(heatmap.files), separators=(",", ":")))
    opens = f' data-open="{html.escape(heatmap.open_file)}"' if heatmap.open_file else ""
    element = f'<script type="application/octet-stream" id="{HEATMAP_ELEMENT_ID}" data-files="{files}"'
    yield f"\n{element}{opens}>".encode("utf-8", "xmlcharrefreplace")
    yield from _compressed_base64(heatmap.page.encode("utf-8", "xmlcharrefreplace"))
    yield b"</script>"


def _compressed_base64(data: bytes) -> Iterator[bytes]:
    compressed = zlib.compress(data, COMPRESSION_LEVEL)
    for offset in range(0, len(compressed), BASE64_CHUNK):
        yield base64.b64encode(compressed[offset : offset + BASE64_CHUNK])
