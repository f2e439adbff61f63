"""Python source coloured by Pygments at report time, shipped as compact runs the page turns into spans.

An HTML string per line would make the page several times bigger than its source (every token
wrapped in ``<span class="...">``), so the heatmap document carries the lexer's verdict instead:
for each line, a flat list ``[length, class, length, class, ...]`` of the runs it is made of, where
``class`` indexes a table of Pygments' short CSS class names (``"k"`` keyword, ``"s2"`` double-quoted
string, ``"sd"`` docstring, ``"c1"`` comment...) shared by the whole document. Index 0 is "no
class": plain names, operators, punctuation and spaces, which the theme leaves uncoloured, so they
are merged into their neighbours' plain runs and a line's plain tail is left out. Lengths are in
UTF-16 code units, as JavaScript counts a string's length, so the page slices the line's text
without decoding anything.

A file is lexed once, as a whole: tokens that span lines (docstrings, triple-quoted strings,
continued lines) are cut at each line break and every piece keeps the token's class, so every line
can be drawn on its own. Lexing is the slow part of writing a heatmap (Pygments takes about 1.5 s
per 10,000 lines), so ``source_runs`` remembers the runs of recent texts: the live view rebuilds
its document from a new snapshot every few seconds, with the same sources. Its runs index the
process-wide ``SHARED_CLASSES``, whose indices never change once given.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Dict, List, Sequence

from pygments.lexers.python import PythonLexer
from pygments.token import STANDARD_TYPES, _TokenType

# Classes the theme does not colour: runs of these are written as plain text (class 0).
_PLAIN = frozenset({"", "w", "n", "p", "o", "x", "g"})

LineRuns = List[int]


class ClassTable:
    """The document's table of Pygments class names; index 0 is plain text. Shared by every file
    of one document, so each name is written once."""

    def __init__(self) -> None:
        self.names: List[str] = [""]
        self._index: Dict[str, int] = {"": 0}
        self._by_type: Dict[_TokenType, int] = {}
        self._adding = threading.Lock()  # documents may be built in several threads (the live view)

    def code(self, token_type: _TokenType) -> int:
        """The table index of a token type's class (0 when the theme leaves it plain)."""
        found = self._by_type.get(token_type)
        if found is None:
            name = short_class(token_type)
            if name in _PLAIN:
                found = 0
            else:
                with self._adding:
                    found = self._index.get(name)
                    if found is None:
                        found = self._index[name] = len(self.names)
                        self.names.append(name)
            self._by_type[token_type] = found
        return found


SHARED_CLASSES = ClassTable()  # the table source_runs' runs index; documents ship a copy of its names


@lru_cache(maxsize=256)
def source_runs(text: str) -> List[LineRuns]:
    """``highlight_runs`` of a file's text (split as ``heatmap.source_lines`` splits it) with
    SHARED_CLASSES, remembered for the most recent texts. The lists are shared: read, never change them."""
    from .heatmap import source_lines  # heatmap imports this module

    return highlight_runs(source_lines(text), SHARED_CLASSES)


def short_class(token_type: _TokenType) -> str:
    """Pygments' short CSS class name of a token type, or of its nearest ancestor that has one."""
    while token_type not in STANDARD_TYPES and token_type.parent is not None:
        token_type = token_type.parent
    return str(STANDARD_TYPES.get(token_type, ""))


def _utf16_length(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def highlight_runs(lines: Sequence[str], table: ClassTable) -> List[LineRuns]:
    """The runs of every line of a Python source given as its lines (``heatmap.source_lines``):
    one list per line, ``[length, class, ...]`` with plain runs merged and a plain tail dropped."""
    out: List[LineRuns] = [[] for _ in lines]
    if not lines:
        return out
    text = "\n".join(lines) + "\n"
    lexer = PythonLexer(stripnl=False, ensurenl=False)
    code_of = table.code
    row = 0
    runs = out[0]
    plain = 0  # length of the plain run being gathered on the current line

    for _, token_type, value in lexer.get_tokens_unprocessed(text):
        code = code_of(token_type)
        pieces = value.split("\n") if "\n" in value else (value,)
        for number, piece in enumerate(pieces):
            if number:  # a line break: the plain tail of the line is left out
                row += 1
                if row >= len(out):
                    return out
                runs = out[row]
                plain = 0
            if not piece:
                continue
            length = _utf16_length(piece)
            if code == 0:
                plain += length
                continue
            if plain:
                runs.extend((plain, 0))
                plain = 0
            if runs and runs[-1] == code and len(runs) >= 2:
                runs[-2] += length  # same class as the run before: one span
            else:
                runs.extend((length, code))
    return out
