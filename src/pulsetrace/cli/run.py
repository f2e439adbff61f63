"""``pulsetrace run``: trace a script, a module (-m) or a code string (-c) and save the trace."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional, Tuple

from .. import cores, runner, writers
from ..runner import Target
from .base import CLIError, Command

USAGE = (
    "pulsetrace run [options] script.py [args ...]\n"
    "       pulsetrace run [options] -m module [args ...]\n"
    "       pulsetrace run [options] -c code [args ...]"
)


class RunCommand(Command):
    """Run a Python program and record every call it makes.

    The program runs as `python script.py args`, `python -m module args` or `python -c code args`
    would run it: same sys.argv, __main__, sys.path[0], output, exceptions and exit status. Options
    go before the program; everything after the script (or the -m module, or the -c code) is the
    program's. `--` ends pulsetrace's options. The trace is saved when the program ends, however it
    ends (normal exit, exception, sys.exit, Ctrl-C, SIGTERM, os._exit).
    """

    name = "run"

    def prepare_parser(self, parser: argparse.ArgumentParser) -> None:
        parser.usage = USAGE
        output = parser.add_argument_group("output")
        output.add_argument(
            "-o",
            "--output",
            metavar="PATH",
            default="result.json",
            help="where to save the trace; the format follows the extension: "
            f"{', '.join(writers.known_extensions())} (default: %(default)s)",
        )
        output.add_argument("-q", "--quiet", action="store_true", help="do not report where the trace went")
        recording = parser.add_argument_group("recording")
        recording.add_argument(
            "--core", choices=("c", "python"), help="the core that records (default: c if it was built)"
        )
        recording.add_argument(
            "--backend",
            choices=("monitoring", "setprofile"),
            help="the interpreter hook (default: monitoring on Python 3.12+, setprofile before)",
        )
        program = parser.add_argument_group("the program (the first of these ends pulsetrace's options)")
        program.add_argument(
            "-m", metavar="module", dest="module", help="run a library module, like python -m"
        )
        program.add_argument("-c", metavar="code", dest="code", help="run a code string, like python -c")
        program.add_argument(
            "script", nargs="?", help="the script to run (or a directory or zip with __main__.py)"
        )
        program.add_argument("args", nargs="*", help="arguments for the program (its sys.argv[1:])")

    def parse_args(self, parser: argparse.ArgumentParser, args: List[str]) -> argparse.Namespace:
        options, target = split_command_line(parser, args)
        namespace = parser.parse_args(options)
        if target is None:
            parser.error("missing the program to run: script.py, -m module or -c code")
        namespace.target = target
        return namespace

    def run(self, args: argparse.Namespace) -> int:
        target: Target = args.target
        _check_core(args.core, args.backend)
        try:
            writers.check_writable(args.output)
        except writers.OutputError as exc:
            raise CLIError(str(exc), 2) from None
        try:
            program = runner.load_program(target)
        except runner.LaunchError as exc:
            raise CLIError(exc.message, exc.exit_code) from None
        session = runner.TraceSession(
            args.output, core=args.core, backend=args.backend, quiet=args.quiet, stderr=sys.stderr
        )
        try:
            return runner.run_program(program, session)
        except runner.LaunchError as exc:  # raised before the program's own code ran (no such module)
            raise CLIError(exc.message, exc.exit_code) from None


def split_command_line(
    parser: argparse.ArgumentParser, words: List[str]
) -> Tuple[List[str], Optional[Target]]:
    """Split ``run``'s words into pulsetrace's options and the program with its arguments.

    Like python's own command line, option parsing stops at the script, at ``-m module`` or at
    ``-c code``; what follows belongs to the program even if it looks like a pulsetrace option.
    Which options take a value is read from the parser, so new options need no change here.
    """
    actions = parser._option_string_actions
    options: List[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            if i + 1 >= len(words):
                return options, None
            return options, Target(runner.SCRIPT, words[i + 1], words[i + 2 :])
        if word == "-":
            parser.error("reading the program from standard input ('-') is not supported")
        if not word.startswith("-"):
            return options, Target(runner.SCRIPT, word, words[i + 1 :])
        taker: Optional[argparse.Action] = None  # the option whose value is the next word
        if word.startswith("--"):
            name, has_value, _ = word.partition("=")
            action = actions.get(name)
            if action is not None and not has_value:
                taker = action
        else:
            # A cluster of short options, read as argparse reads it: "-q", "-qo out.json", "-oout.json".
            for j in range(1, len(word)):
                letter, attached = word[j], word[j + 1 :]
                if letter in ("m", "c"):
                    kind = runner.MODULE if letter == "m" else runner.CODE
                    before = [word[:j]] if j > 1 else []
                    if attached:
                        return options + before, Target(kind, attached, words[i + 1 :])
                    if i + 1 >= len(words):
                        parser.error(f"argument -{letter}: expected one argument")
                    return options + before, Target(kind, words[i + 1], words[i + 2 :])
                action = actions.get("-" + letter)
                if action is None:
                    break  # unknown: argparse reports it
                if action.nargs != 0:
                    taker = None if attached else action
                    break
        options.append(word)
        i += 1
        taken = _values_taken(taker, words[i:]) if taker is not None else 0
        options.extend(words[i : i + taken])
        i += taken
    return options, None


def _values_taken(action: argparse.Action, following: List[str]) -> int:
    """How many of the following words argparse gives ``action`` as values."""
    nargs = action.nargs
    if nargs is None:
        return min(1, len(following))
    if isinstance(nargs, int):
        return min(nargs, len(following))
    count = 0
    while count < len(following) and not following[count].startswith("-"):
        count += 1
    return min(count, 1) if nargs == "?" else count


def _check_core(core: Optional[str], backend: Optional[str]) -> None:
    """A core or backend that cannot work here is a usage error, found before the program runs."""
    try:
        cores.choose_core(core, backend)
    except cores.CoreError as exc:
        raise CLIError(str(exc), 2) from None
    except Exception:
        pass  # not a choice the user made: the run goes on and the tracer reports what is wrong
