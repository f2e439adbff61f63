"""``pulsetrace live``: run a program and watch its lines, expressions and stacks in the browser."""

from __future__ import annotations

import argparse
import os
import re
from typing import List, Optional

from .. import runner
from ..live import files as selectors
from ..live.report import write_report
from ..live.session import DEFAULT_PORT, LiveError, LiveSession
from ..runner import SCRIPT, Target
from ..writers import OutputError, check_output_path
from .base import CLIError, Command
from .run import add_program_arguments, parse_program_command_line

USAGE = (
    "pulsetrace live [options] script.py [args ...]\n"
    "       pulsetrace live [options] -m module [args ...]\n"
    "       pulsetrace live [options] -c code [args ...]"
)


class LiveCommand(Command):
    """Run a Python program and watch it live in the browser: lines, expressions, stacks.

    The page shows every traced file with its live totals; a file's page shows each line's hits
    and time, bars for the lines hit in the last seconds, the expression each frame in that file
    is executing, and the stack of every thread. It is served on 127.0.0.1 (the address is printed
    on stderr; --port 0 picks a free port). By default the project's own files are traced (the
    script's directory, or the current one for -m and -c; not the standard library, not
    site-packages). The program runs exactly as under python. The server stops when the program
    ends, unless --keep-serving keeps the final page up until Ctrl-C.
    """

    name = "live"

    def prepare_parser(self, parser: argparse.ArgumentParser) -> None:
        parser.usage = USAGE
        serving = parser.add_argument_group("the page")
        serving.add_argument(
            "--port", type=int, default=DEFAULT_PORT, metavar="N",
            help=f"port to serve on; 0 picks a free one (default: {DEFAULT_PORT})",
        )
        serving.add_argument(
            "--host", default="127.0.0.1",
            help="address to listen on (default: 127.0.0.1); any other needs the token printed at start",
        )
        serving.add_argument("--open", action="store_true", help="open the page in a browser tab")
        serving.add_argument(
            "--keep-serving", action="store_true",
            help="after the program ends, keep the final page up until Ctrl-C",
        )
        serving.add_argument("-o", "--output", metavar="PATH", help="write the line report (HTML) at exit")
        chosen = parser.add_argument_group("which files are traced (default: the project's own files)")
        chosen.add_argument(
            "--files", action="append", default=[], metavar="TEXT",
            help="files whose path contains TEXT (repeat for several)",
        )
        chosen.add_argument(
            "--files-regex", action="append", default=[], metavar="REGEX",
            help="files whose source text contains a match of REGEX",
        )
        chosen.add_argument("--all-files", action="store_true", help="every file, standard library included")
        add_program_arguments(parser, "the script to run")

    def parse_args(self, parser: argparse.ArgumentParser, args: List[str]) -> argparse.Namespace:
        namespace = parse_program_command_line(parser, args)
        if not 0 <= namespace.port <= 65535:
            parser.error(f"argument --port: {namespace.port} is not a port number (0 to 65535)")
        return namespace

    def run(self, args: argparse.Namespace) -> int:
        target: Target = args.target
        if args.output:
            try:
                check_output_path(args.output)
            except OutputError as exc:
                raise CLIError(str(exc), 2) from None
        try:
            selector = _selector(args, target)
        except ValueError as exc:
            raise CLIError(str(exc), 2) from None
        try:
            program = runner.load_program(target)
        except runner.LaunchError as exc:
            raise CLIError(exc.message, exc.exit_code) from None
        session = LiveSession(
            selector,
            host=args.host,
            port=args.port,
            open_browser=args.open,
            keep_serving=args.keep_serving,
            output=os.path.abspath(args.output) if args.output else None,
            report_writer=write_report,
            title=target.describe(),
        )
        try:
            session.listen()
        except LiveError as exc:
            raise CLIError(str(exc), 1) from None
        try:
            return runner.run_program(program, _ProgramHooks(session))
        except runner.LaunchError as exc:
            raise CLIError(exc.message, exc.exit_code) from None


class _ProgramHooks:
    """The live session as the runner starts it: just before the program's first line."""

    def __init__(self, session: LiveSession) -> None:
        self.session = session

    def start(self) -> None:
        try:
            self.session.start()
        except LiveError as exc:
            self.session.say(f"could not start the live view, running the program without it: {exc}")
            return
        self.session.finish_at_exit()  # after the program's last non-daemon thread, like python's exit

    def abandon(self) -> None:
        self.session.stop_quietly()


def _selector(args: argparse.Namespace, target: Target) -> selectors.FileSelector:
    """The files to trace, from the flags; the project's own files without any."""
    chosen: List[selectors.FileSelector] = []
    if args.all_files:
        chosen.append(selectors.all)
    if args.files:
        chosen.append(selectors.path_contains(*args.files))
    for pattern in args.files_regex:
        try:
            chosen.append(selectors.contains_regex(pattern))
        except re.error as exc:
            raise ValueError(
                f"argument --files-regex: {pattern!r} is not a regular expression: {exc}"
            ) from None
    if chosen:
        return chosen[0] if len(chosen) == 1 else selectors.any_of(*chosen)
    return selectors.project(_project_root(target))


def _project_root(target: Target) -> Optional[str]:
    if target.kind == SCRIPT:
        path = os.path.abspath(target.value)
        return path if os.path.isdir(path) else os.path.dirname(path)
    return os.getcwd()  # -m and -c: the current directory is the project

