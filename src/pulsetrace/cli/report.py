"""``pulsetrace report``: summarise a saved trace, or convert it to another format."""

from __future__ import annotations

import argparse
import sys
from typing import List

from ..model import Trace
from ..progress import Progress
from ..reports.callstats import CallStats
from ..reports.hotlines import hot_lines_table
from ..reports.summary import DEFAULT_TOP, summary_lines
from ..writers import OutputError, check_writable, known_extensions, save
from .base import CLIError, Command
from .reading import read_trace


class ReportCommand(Command):
    """Summarise a trace on the terminal, or write it in another format.

    `pulsetrace report TRACE` prints the functions with the most self time (calls, self time, share
    of the recording, total time); `--top N` shows N of them; `--lines` shows the source lines with
    the most self time instead (a trace recorded with `--lines`). `pulsetrace report TRACE -o OUT`
    writes the trace in the format of OUT's extension (.json, .json.gz, .pulse, .pstats, ...)
    instead. TRACE is a native .pulse file, a .html page pulsetrace wrote (the trace inside it), or
    Chrome Trace Event JSON (plain or gzipped), including JSON written by other tools.
    """

    name = "report"

    def prepare_parser(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "trace", help="the trace to read (.pulse, .html, or Chrome JSON: .json, .json.gz)"
        )
        parser.add_argument(
            "-o", "--output", metavar="PATH",
            help=f"write the trace here, in the format of the extension ({', '.join(known_extensions())})",
        )  # fmt: skip
        parser.add_argument(
            "--top", type=_count, default=None, metavar="N",
            help=f"how many functions (or lines) the summary shows (default: {DEFAULT_TOP})",
        )  # fmt: skip
        parser.add_argument(
            "--lines", action="store_true",
            help="show the source lines with the most self time (the trace must be recorded with --lines)",
        )  # fmt: skip

    def run(self, args: argparse.Namespace) -> int:
        if args.output is not None and (args.top is not None or args.lines):
            what = "--lines" if args.lines else "--top"
            raise CLIError(f"give -o (convert the trace) or {what} (summarise it), not both")
        if args.output is not None:
            try:
                check_writable(args.output)
            except OutputError as exc:
                raise CLIError(str(exc)) from None
        trace = read_trace(args.trace)
        if args.output is not None:
            try:
                with Progress(f"writing {args.output}", sys.stderr) as progress:
                    result = save(trace, args.output, on_write=progress.update)
            except OutputError as exc:
                raise CLIError(str(exc), 1) from None
            sys.stderr.write(f"pulsetrace: wrote {result.calls} calls to {args.output}\n")
            return 0
        top = DEFAULT_TOP if args.top is None else args.top
        if args.lines:
            return _report_lines(trace, args.trace, top)
        lines: List[str] = []
        with Progress(f"summarising {args.trace}", sys.stderr):
            for process in trace.processes:
                title = f"{process.name} (pid {process.pid})" if len(trace.processes) > 1 else ""
                lines += summary_lines(CallStats.of(process, callers=False), top, title=title)
        if not lines:
            lines = ["no calls recorded"]
        sys.stdout.write("\n".join(lines) + "\n")
        return 0


def _report_lines(trace: Trace, path: str, top: int) -> int:
    recorded = [process for process in trace.processes if process.lines is not None]
    if not recorded:
        hint = "record it with `pulsetrace run --lines -o OUT.pulse`"
        raise CLIError(f"{path} has no line statistics: {hint}", 1)
    lines: List[str] = []
    for process in recorded:
        assert process.lines is not None
        title = f"{process.name} (pid {process.pid})" if len(trace.processes) > 1 else ""
        lines += hot_lines_table(process.lines, process.sources, top, title=title) or [
            f"{title}: no lines ran" if title else "no lines ran"
        ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value
