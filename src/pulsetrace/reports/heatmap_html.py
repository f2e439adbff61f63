"""The heatmap as one self-contained HTML file: the page's CSS and scripts inlined, the data embedded.

The page (``web/heatmap.html``, ``web/heatmap.css`` and the ``web/heatmap*.js`` modules) is written
in this repository and needs no network: it opens from ``file://``. A file cannot import sibling
modules from ``file://``, so the modules are joined into one inline module script: each is written
to import only from the modules listed before it in ``MODULES``, and joining drops those import
lines and the ``export`` keywords. The data (``reports.heatmap``) is embedded as JSON in a
``<script type="application/json">`` element, with every ``<`` escaped so no text from the trace
(a file name, a line of source) can end the element early.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any, Mapping

# In dependency order: each module imports only from those before it.
MODULES = (
    "heatmap_common.js",
    "heatmap_highlight.js",
    "heatmap_morph.js",
    "heatmap_index.js",
    "heatmap_file.js",
    "heatmap.js",
)

_IMPORT = re.compile(r'^import\s+\{[^}]*\}\s+from\s+"\./heatmap[a-z_]*\.js";\s*$', re.MULTILINE)
_EXPORT = re.compile(r"^export\s+", re.MULTILINE)
# Characters JSON may hold raw in a string that must not reach the page raw.
_UNSAFE_IN_SCRIPT = re.compile("[<\u2028\u2029\ud800-\udfff]")


def web_file(name: str) -> str:
    """The text of one of the page's files, from the installed package."""
    return resources.files("pulsetrace").joinpath("web").joinpath(name).read_text(encoding="utf-8")


def joined_modules() -> str:
    """The page's modules as the body of a single module script."""
    parts = []
    for name in MODULES:
        text = _EXPORT.sub("", _IMPORT.sub("", web_file(name)))
        if re.search(r"^\s*import\s", text, re.MULTILINE):
            raise ValueError(f"web/{name} imports something joining cannot inline")
        parts.append(f"// ---- {name}\n{text}")
    return "\n".join(parts)


def embedded_json(document: Mapping[str, Any]) -> str:
    """``document`` as JSON that is safe inside a ``<script>`` element."""
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    # "<" never occurs in JSON syntax, only inside strings, where \u003c means the same character.
    # Lone surrogates (undecodable file names) cannot be written as UTF-8: JSON escapes say the same.
    return _UNSAFE_IN_SCRIPT.sub(lambda match: f"\\u{ord(match.group(0)):04x}", text)


def heatmap_html(document: Mapping[str, Any]) -> str:
    """The whole page for one heatmap document."""
    shell = web_file("heatmap.html")
    title = str(document.get("title") or "heatmap")
    fills = {
        "{{TITLE}}": _escape_text(f"{title} - pulsetrace heatmap"),
        "{{STYLE}}": web_file("heatmap.css"),
        "{{DATA}}": embedded_json(document),
        "{{SCRIPT}}": joined_modules().replace("</script", "<\\/script"),
    }
    # One pass, so text filled in is never searched for the next placeholder.
    return re.sub(r"\{\{[A-Z]+\}\}", lambda match: fills[match.group(0)], shell)


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
