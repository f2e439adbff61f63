"""Reading a ``python`` command line the way the interpreter does: its own options, then the program.

``pulsetrace run`` traces the Python child processes of a program by rewriting their command lines
(pulsetrace.childhooks); this module says what such a command line runs. ``python -u -X dev -m pkg a``
is the interpreter options ``-u -X dev`` and the program ``-m pkg`` with its arguments ``a``. Command
lines whose meaning pulsetrace cannot keep exactly (an interactive session, ``-i``, ``-x``, a program
read from standard input, options it does not know) are not programs here: they run untraced.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Set

SCRIPT = "script"
MODULE = "module"
CODE = "code"

# CPython 3.9-3.13's one-letter options: those that take nothing, those that take a value (-W arg,
# -Xopt). Any other letter (-h, -i, -V, -x, -?) ends the analysis: the command is not rewritten.
_PLAIN_LETTERS = frozenset("bBdEIOPqsSuv")
_VALUE_LETTERS = frozenset("WX")
_VALUE_LONG_OPTIONS = ("--check-hash-based-pycs",)
_ENVIRONMENT_LETTERS = frozenset("EIS")  # options that keep a Python from reading the run's variables


@dataclass(frozen=True)
class PythonCommand:
    """A ``python`` command line split into what the interpreter reads and what the program gets.

    ``interpreter_options`` and ``arguments`` are the words as given (str, bytes or path objects),
    ``kind`` is SCRIPT, MODULE or CODE and ``value`` the script path, module name or code (as text).
    """

    interpreter_options: List[Any]
    kind: str
    value: Any
    arguments: List[Any]

    def program_words(self) -> List[Any]:
        """The program as python's command line names it: ``script``, ``-m module`` or ``-c code``."""
        if self.kind == MODULE:
            return ["-m", self.value]
        if self.kind == CODE:
            return ["-c", self.value]
        return [self.value]

    def describe(self) -> str:
        """``python prog.py a b``: the program and its arguments, on one line, for messages."""
        return describe_program([*self.program_words(), *self.arguments])

    def ignores_environment(self) -> bool:
        """Whether the interpreter reads neither ``PYTHONPATH`` nor ``sitecustomize``: ``-E``, ``-I``
        (which ignore the environment) or ``-S`` (no site), alone or in a cluster (``-IS``)."""
        return bool(_option_letters(self.interpreter_options) & _ENVIRONMENT_LETTERS)


def describe_program(words: Sequence[Any]) -> str:
    """``python WORDS`` on one line (a ``-c`` program's newlines become spaces), for messages and names."""
    return " ".join(" ".join(["python", *(_text(word) or "?" for word in words)]).split())


def parse_python_command(words: Sequence[Any]) -> Optional[PythonCommand]:
    """The options and program of ``python WORDS`` (WORDS: argv without argv[0]); None if it runs no
    program that pulsetrace can trace as python would run it."""
    texts = [_text(word) for word in words]
    if any(text is None for text in texts):
        return None
    i = 0
    while i < len(texts):
        text = texts[i]
        assert text is not None
        if text in _VALUE_LONG_OPTIONS:
            i += 2
            continue
        if text == "-" or text.startswith("--"):  # standard input, --help, --version, ...
            return None
        if not text.startswith("-"):
            return PythonCommand(list(words[:i]), SCRIPT, words[i], list(words[i + 1 :]))
        for j in range(1, len(text)):
            letter, attached = text[j], text[j + 1 :]
            if letter in ("c", "m"):
                options = list(words[:i]) + ([text[:j]] if j > 1 else [])
                kind = CODE if letter == "c" else MODULE
                if attached:
                    return PythonCommand(options, kind, attached, list(words[i + 1 :]))
                if i + 1 >= len(words):
                    return None
                return PythonCommand(options, kind, texts[i + 1], list(words[i + 2 :]))
            if letter in _VALUE_LETTERS:
                i += 1 if attached else 2
                break
            if letter not in _PLAIN_LETTERS:
                return None
        else:
            i += 1
    return None  # no program: an interactive session


def _option_letters(options: Sequence[Any]) -> Set[str]:
    """The one-letter options in interpreter options that parse_python_command accepted (the value of
    ``-W``/``-X`` and of the long options left out)."""
    letters: Set[str] = set()
    texts = [_text(word) or "" for word in options]
    i = 0
    while i < len(texts):
        text = texts[i]
        i += 1
        if text in _VALUE_LONG_OPTIONS:
            i += 1
            continue
        for j in range(1, len(text)):
            if text[j] in _VALUE_LETTERS:
                i += 0 if text[j + 1 :] else 1
                break
            letters.add(text[j])
    return letters


def _text(word: Any) -> Optional[str]:
    """A command-line word as text, as the operating system would get it (None: not a word)."""
    try:
        return os.fsdecode(word)
    except TypeError:
        return None
