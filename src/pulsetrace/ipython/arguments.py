"""The options of ``%%pulsetrace`` and ``%pulsetrace``: the tracing flags of ``pulsetrace run``, and a few of
the magic's own.

The flags come from ``cli.run.add_option_flags`` (so they are the same as ``pulsetrace run``'s, with
the same help), and the values go through ``config.load_options`` like the command line's:
``[tool.pulsetrace]`` in the nearest pyproject.toml and ``PULSETRACE_OUTPUT`` apply here too, and the
magic's flags override them. The one difference: without an output file from any of those the
trace is not saved (it is kept in the ``_pulsetrace`` variable).

This module does not import IPython: a mistake is a ``MagicArgumentError``, which the magic shows
as IPython's usage error (a message, no traceback).
"""

from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import dataclass
from typing import List, NoReturn, Optional, Sequence, Tuple

from .. import config
from ..cli.run import add_option_flags, command_line_settings
from ..options import TraceOptions
from ..reports.summary import DEFAULT_TOP

CELL_USAGE = "%%pulsetrace [options]  (the code to trace is the cell's body)"
LINE_USAGE = "%pulsetrace [options] [--] statement"


class MagicArgumentError(ValueError):
    """The magic's line cannot be used; the message says why and how to write it."""


class HelpRequested(Exception):
    """``-h``/``--help`` was given; the exception's text is the help to show."""


@dataclass(frozen=True)
class MagicRequest:
    """What one ``%%pulsetrace``/``%pulsetrace`` asks for."""

    options: TraceOptions
    quiet: bool  # -q: display nothing (the trace is still kept, and saved if asked)
    top: int  # how many functions the table shows
    statement: str  # the line magic's code; "" for the cell magic
    viewer: bool = True  # show the trace viewer inline under the table (off with --no-viewer)


class _MagicParser(argparse.ArgumentParser):
    """An argparse parser whose errors are exceptions, never a message on stderr and SystemExit."""

    def __init__(self, prog: str, usage: str) -> None:
        # argparse reads "%" in a usage text as a format; the magic's names are full of them.
        super().__init__(prog=prog, usage=usage.replace("%", "%%"), add_help=False, allow_abbrev=False)
        self.plain_usage = usage

    def error(self, message: str) -> NoReturn:
        raise MagicArgumentError(f"{self.prog}: {message}\nusage: {self.plain_usage}")


class _HelpAction(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show this help")

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: Optional[str] = None,
    ) -> None:
        raise HelpRequested(parser.format_help())


def make_parser(cell: bool) -> argparse.ArgumentParser:
    """The parser of the cell magic (``cell=True``) or of the line magic."""
    # allow_abbrev is off: a word of a statement must never be read as an abbreviated flag.
    parser = _MagicParser("%%pulsetrace" if cell else "%pulsetrace", CELL_USAGE if cell else LINE_USAGE)
    add_option_flags(parser, default_output="not saved; the trace is kept in _pulsetrace")
    parser._option_string_actions["--quiet"].help = "display nothing (the trace is still kept and saved)"
    own = parser.add_argument_group("the magic")
    own.add_argument("-h", "--help", action=_HelpAction)
    own.add_argument(
        "--top", type=int, default=DEFAULT_TOP, metavar="N",
        help=f"how many functions the table shows (default: {DEFAULT_TOP})",
    )  # fmt: skip
    own.add_argument(
        "--no-viewer", dest="viewer", action="store_false",
        help="show only the table, not the trace viewer under it (a notebook shows the viewer inline: "
        "timeline, flamegraph, functions, and the heatmap of the cell with --lines)",
    )  # fmt: skip
    return parser


def help_text() -> str:
    """The help of both magics, for ``%pulsetrace?``."""
    return make_parser(cell=True).format_help()


def parse_magic_line(line: str, cell: bool) -> MagicRequest:
    """The request of a magic's line: ``cell=True`` for ``%%pulsetrace`` (options only), else
    ``%pulsetrace`` (options, then the statement).

    Raises MagicArgumentError for anything that cannot be used, HelpRequested for ``-h``.
    """
    parser = make_parser(cell)
    words, statement = split_statement(parser, line)
    if cell and statement:
        raise MagicArgumentError(
            f"%%pulsetrace takes only options on its line, not {statement!r}: put the code in the cell "
            f"body\nusage: {CELL_USAGE}"
        )
    args = parser.parse_args(words)
    if args.top < 1:
        raise MagicArgumentError(f"{parser.prog}: --top must be at least 1, not {args.top}")
    if not cell and not statement:
        raise MagicArgumentError(f"%pulsetrace needs a statement to trace\nusage: {LINE_USAGE}")
    try:
        options = config.load_options(command_line_settings(args, f"{parser.prog} option"))
    except config.ConfigError as exc:
        raise MagicArgumentError(str(exc)) from None
    return MagicRequest(options, bool(getattr(args, "quiet", False)), args.top, statement, args.viewer)


# A shell-like word: runs of unquoted characters and quoted strings, without whitespace between.
_WORD = re.compile(r"""(?:[^\s'"]+|'[^']*'|"(?:[^"\\]|\\.)*")+""")


def split_statement(parser: argparse.ArgumentParser, line: str) -> Tuple[List[str], str]:
    """Split a magic's line into its option words and the statement after them, kept verbatim.

    Options end at the first word that does not start with ``-`` and is not an option's value, or at
    ``--`` (for a statement that starts with ``-``). Which flags take a value is read from the
    parser, as ``cli.run.split_command_line`` does.
    """
    option_end = len(line)
    statement = ""
    takes_value = False
    for match in _WORD.finditer(line):
        word = match.group()
        if takes_value:
            takes_value = False
            continue
        if word == "--":
            option_end, statement = match.start(), line[match.end() :].strip()
            break
        if not word.startswith("-") or word == "-":
            option_end, statement = match.start(), line[match.start() :].strip()
            break
        takes_value = _takes_value(parser, word)
    try:
        words = shlex.split(line[:option_end])
    except ValueError as exc:  # an unbalanced quote
        raise MagicArgumentError(f"{parser.prog}: cannot read the options: {exc}") from None
    return words, statement


def _takes_value(parser: argparse.ArgumentParser, word: str) -> bool:
    """Whether the word after ``word`` is its value (``-o FILE``, ``--top N``; not ``-oFILE``)."""
    actions = parser._option_string_actions
    if word.startswith("--"):
        name, has_value, _ = word.partition("=")
        action: Optional[argparse.Action] = actions.get(name)
        return action is not None and not has_value and action.nargs != 0
    for index in range(1, len(word)):  # a cluster of short flags: "-q", "-qo FILE", "-oFILE"
        action = actions.get("-" + word[index])
        if action is None:
            return False  # unknown: argparse reports it
        if action.nargs != 0:
            return index == len(word) - 1
    return False
