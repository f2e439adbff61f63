"""The Pygments runs shipped in the heatmap data (reports/highlight.py), decoded back to text."""

from __future__ import annotations

from typing import List, Tuple

from pulsetrace.reports.heatmap import source_lines
from pulsetrace.reports.highlight import SHARED_CLASSES, ClassTable, highlight_runs, source_runs


def decoded(text: str) -> List[List[Tuple[str, str]]]:
    """Every line's coloured pieces as (class name, text), read back from its runs."""
    lines = source_lines(text)
    table = ClassTable()
    out = []
    for line, runs in zip(lines, highlight_runs(lines, table)):
        encoded = line.encode("utf-16-le")  # lengths count UTF-16 units, as the page's JavaScript does
        pieces, at = [], 0
        for index in range(0, len(runs), 2):
            length, code = runs[index], runs[index + 1]
            if code:
                pieces.append((table.names[code], encoded[2 * at : 2 * (at + length)].decode("utf-16-le")))
            at += length
        assert at * 2 <= len(encoded)  # the plain tail is left out, never overrun
        out.append(pieces)
    return out


def test_keywords_strings_comments_and_names_get_pygments_short_classes() -> None:
    lines = decoded('import os\n\n@cache\ndef run(n=3):  # go\n    return len("ab") + 0x1F\n')
    assert lines[0] == [("kn", "import"), ("nn", "os")]
    assert lines[1] == []
    assert lines[2] == [("nd", "@cache")]
    assert lines[3] == [("k", "def"), ("nf", "run"), ("mi", "3"), ("c1", "# go")]
    assert lines[4] == [("k", "return"), ("nb", "len"), ("s2", '"ab"'), ("mh", "0x1F")]


def test_a_docstring_spanning_lines_is_cut_at_each_line_break() -> None:
    lines = decoded('def f():\n    """First\n\n    last."""\n    x = 1\n')
    assert lines[1] == [("sd", '"""First')]
    assert lines[2] == []  # an empty line inside the docstring
    assert lines[3] == [("sd", '    last."""')]  # its indent is part of the string
    assert lines[4] == [("mi", "1")]


def test_plain_text_is_merged_and_the_plain_tail_left_out() -> None:
    lines = source_lines("value = other + thing\nx = 'a'  \n")
    runs = highlight_runs(lines, ClassTable())
    assert runs[0] == []  # names, operators and spaces only
    assert runs[1] == [4, 0, 3, 1]  # "x = " plain, then the string; the trailing spaces are not written


def test_lengths_count_utf16_units_for_characters_outside_the_bmp() -> None:
    lines = decoded('s = "\U0001f600é"  # \U0001f600\n')
    assert lines[0] == [("s2", '"\U0001f600é"'), ("c1", "# \U0001f600")]


def test_one_table_for_every_file_and_one_list_per_line() -> None:
    table = ClassTable()
    first = highlight_runs(source_lines("if x:\n    pass\n"), table)
    second = highlight_runs(source_lines("while y:\n    pass\n\n"), table)
    assert len(first) == 2 and len(second) == 3
    assert table.names[0] == "" and table.names.count("k") == 1
    assert first[0][1] == second[0][1] == table.names.index("k")
    assert highlight_runs([], table) == []


def test_source_that_does_not_parse_is_still_coloured_line_by_line() -> None:
    lines = decoded('def broken(:\n    """never closed\n    more\n')
    assert lines[0][0] == ("k", "def")
    assert lines[1] == [("s2", '"""never closed')] and lines[2] == [("s2", "    more")]


def test_runs_of_a_text_are_remembered_and_index_the_shared_table() -> None:
    text = 'class Remembered:\n    """Doc."""\n'
    first = source_runs(text)
    assert source_runs(text) is first  # a live view's next snapshot does not lex the file again
    assert [SHARED_CLASSES.names[code] for code in first[0][1::2] if code] == ["k", "nc"]
    assert [SHARED_CLASSES.names[code] for code in first[1][1::2] if code] == ["sd"]
