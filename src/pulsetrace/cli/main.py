"""``pulsetrace``'s entry point: find the subcommand, let it parse its arguments, run it."""

from __future__ import annotations

import argparse
import sys
from typing import Dict, List, Optional, Sequence, Tuple, Type

from .. import __version__
from .base import CLIError, Command
from .combine import CombineCommand
from .live import LiveCommand
from .report import ReportCommand
from .run import RunCommand
from .view import ViewCommand

# The subcommands, in the order `pulsetrace -h` lists them.
COMMANDS: List[Type[Command]] = [RunCommand, LiveCommand, ViewCommand, ReportCommand, CombineCommand]


def build_parser(
    commands: Sequence[Command],
) -> Tuple[argparse.ArgumentParser, Dict[str, argparse.ArgumentParser]]:
    """The top-level parser and one sub-parser per command, prepared by the command itself."""
    parser = argparse.ArgumentParser(
        prog="pulsetrace",
        description="See a Python program run: every call on a timeline.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"pulsetrace {__version__}")
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    parsers: Dict[str, argparse.ArgumentParser] = {}
    for command in commands:
        sub = subparsers.add_parser(
            command.name,
            help=command.help(),
            description=command.description(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=False,  # options are matched exactly: the run command splits its line by them
        )
        command.prepare_parser(sub)
        parsers[command.name] = sub
    return parser, parsers


def _status(code: object) -> int:
    """The exit status argparse meant with its SystemExit (it exits for --help, --version and errors)."""
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``pulsetrace`` command line; return its exit status.

    ``pulsetrace run`` ends the way the traced program ends: if the program raises SystemExit,
    KeyboardInterrupt or another exception, that exception propagates from here so that Python ends
    the process exactly as it would have for the program.
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    commands = [command_class() for command_class in COMMANDS]
    by_name = {command.name: command for command in commands}
    parser, parsers = build_parser(commands)
    # The first word that is not an option names the command; the rest of the line is the command's.
    index = next((i for i, word in enumerate(args_list) if not word.startswith("-")), len(args_list))
    try:
        parser.parse_args(args_list[:index])
        if index == len(args_list):
            parser.error(f"missing command (choose from: {', '.join(by_name)})")
        name = args_list[index]
        command = by_name.get(name)
        if command is None:
            parser.error(f"unknown command {name!r} (choose from: {', '.join(by_name)})")
        args = command.parse_args(parsers[name], args_list[index + 1 :])
    except SystemExit as exc:
        return _status(exc.code)
    try:
        return command.run(args)
    except CLIError as exc:
        sys.stderr.write(f"pulsetrace: error: {exc.message}\n")
        sys.stderr.flush()
        return exc.code
