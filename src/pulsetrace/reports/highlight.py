"""Source text as one HTML string per line, highlighted with Pygments when it is installed.

Reports show code line by line (the heatmap colours each line's row), so a token that spans lines
(a triple-quoted string) is cut at every line break and each piece closes its own ``<span>``. The
classes are a handful of our own (``k`` keyword, ``s`` string, ...), styled by the page. Without
Pygments the text is only escaped. Line *n* of the file is item *n - 1* of the result, always: the
lexer is told to keep leading and trailing blank lines.
"""

from __future__ import annotations

from html import escape
from typing import Any, List, Optional, Tuple

try:
    from pygments.lexers import PythonLexer
    from pygments.token import Comment, Keyword, Name, Number, Operator, String

    # Most specific first: Name.Builtin before Name, and so on.
    _CLASSES: Tuple[Tuple[Any, str], ...] = (
        (Comment, "c"),
        (String, "s"),
        (Number, "n"),
        (Keyword, "k"),
        (Operator.Word, "k"),
        (Name.Builtin, "b"),
        (Name.Decorator, "d"),
        (Name.Function, "f"),
        (Name.Class, "f"),
        (Name.Exception, "b"),
    )
except ImportError:  # pragma: no cover - Pygments is optional
    PythonLexer = None
    _CLASSES = ()


def highlighted_lines(text: str, filename: str = "") -> List[str]:
    """One HTML fragment per line of ``text`` (no line break characters in them)."""
    lines = text.splitlines()
    if PythonLexer is None or not _looks_like_python(filename):
        return [escape(line) for line in lines]
    lexer = PythonLexer(stripnl=False, stripall=False, ensurenl=True, tabsize=0)
    out: List[str] = []
    current: List[str] = []
    for token_type, value in lexer.get_tokens(text):
        css = _css_class(token_type)
        pieces = value.split("\n")
        for index, piece in enumerate(pieces):
            if index:
                out.append("".join(current))
                current = []
            if piece:
                current.append(f'<span class="{css}">{escape(piece)}</span>' if css else escape(piece))
    if current:
        out.append("".join(current))
    if len(out) != len(lines):  # other line breaks (\r, \f, \x1c...) split differently: keep numbering right
        return [escape(line) for line in lines]
    return out


def _looks_like_python(filename: str) -> bool:
    return not filename.endswith((".pyx", ".pxd", ".c", ".h")) and not filename.startswith("<frozen ")


def _css_class(token_type: Any) -> Optional[str]:
    for parent, css in _CLASSES:
        if token_type in parent:
            return css
    return None
