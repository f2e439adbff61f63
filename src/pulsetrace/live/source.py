"""A source file as the file page shows it: one HTML fragment per line, highlighted by Pygments."""

from __future__ import annotations

import html
from typing import List

try:
    from pygments.lexers import PythonLexer
    from pygments.token import STANDARD_TYPES
except ImportError:  # a dependency; without it the page shows plain text
    PythonLexer = None  # type: ignore[assignment,misc]


def _css_class(token: object) -> str:
    """Pygments' short class for a token type (``k``, ``nf``, ...), from the nearest known parent."""
    while token is not None:
        name = STANDARD_TYPES.get(token)
        if name is not None:
            return str(name)
        token = getattr(token, "parent", None)
    return ""


def highlighted_lines(text: str) -> List[str]:
    """The HTML of each line of ``text`` (without the newline), tokens in ``<span class=...>``."""
    raw_lines = text.splitlines()
    if PythonLexer is None:
        return [html.escape(line) for line in raw_lines]
    lexer = PythonLexer(stripnl=False, ensurenl=False, tabsize=0)
    lines: List[str] = [""]
    for token, value in lexer.get_tokens(text):
        css = _css_class(token)
        pieces = value.split("\n")
        for index, piece in enumerate(pieces):
            if index:
                lines.append("")
            if piece:
                escaped = html.escape(piece, quote=False)
                lines[-1] += f'<span class="{css}">{escaped}</span>' if css else escaped
    # keep exactly the file's own line count (a final newline opens no extra line)
    while len(lines) > len(raw_lines) and lines[-1] == "":
        lines.pop()
    return lines

