"""``pulsetrace combine``: put several traces into one file, each process on its own track."""

from __future__ import annotations

import argparse
import sys
from typing import List

from ..model import Trace
from ..model.combine import ALIGNMENTS, combination_step, combine, has_wall_clock
from ..progress import Progress
from ..writers import OutputError, check_writable, known_extensions, save
from .base import CLIError, Command
from .reading import read_trace


class CombineCommand(Command):
    """Combine traces into one, each process on its own track.

    `pulsetrace combine A B ... -o OUT` reads every TRACE (a native .pulse file, a .html page
    pulsetrace wrote, or Chrome Trace Event JSON, plain or gzipped, including JSON written by other
    tools) and writes one trace in the format of OUT's extension.

    --align wall (the default) places processes by their wall-clock times: right for traces taken on
    one machine or on hosts with synchronised clocks. A trace without wall-clock times (JSON from
    another tool) starts with the earliest process of the other traces, or with the other such
    traces when none has them. --align start moves each trace as a whole so that every trace's first
    process starts at the same moment; the processes of one trace keep their places.

    A process whose pid an earlier one already has (two runs of one program, or other tools' files
    that all use pid 1) gets the first free pid above it, and its name keeps the old one:
    "python prog.py (run 2, pid 1234)".
    """

    name = "combine"

    def prepare_parser(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "traces", nargs="*", metavar="TRACE",
            help="the traces to combine (.pulse, .html, or Chrome JSON: .json, .json.gz)",
        )  # fmt: skip
        parser.add_argument(
            "-o", "--output", metavar="PATH",
            help=f"write the combined trace here, format by extension ({', '.join(known_extensions())})",
        )  # fmt: skip
        parser.add_argument(
            "--align", choices=ALIGNMENTS, default="wall",
            help="wall: place processes by their wall-clock times (default); start: start traces together",
        )  # fmt: skip

    def run(self, args: argparse.Namespace) -> int:
        if not args.traces:
            raise CLIError("give the traces to combine: pulsetrace combine A B ... -o OUT")
        if args.output is None:
            raise CLIError(f"give the output file with -o (extensions: {', '.join(known_extensions())})")
        try:
            check_writable(args.output)
        except OutputError as exc:
            raise CLIError(str(exc)) from None
        traces = [read_trace(path) for path in args.traces]
        if args.align == "wall":
            _note_unanchored(args.traces, traces)
        with Progress("combining", sys.stderr):
            combined = combine(traces, args.align, sources=args.traces)
        for process in combined.processes:
            step = combination_step(process)
            if "pid" in step:
                _note(f"{step['source']}: pid {step['pid']} is taken, this process is now pid {process.pid}")
        try:
            with Progress(f"writing {args.output}", sys.stderr) as progress:
                save(combined, args.output, on_write=progress.update)
        except OutputError as exc:
            raise CLIError(str(exc), 1) from None
        processes = len(combined.processes)
        files = len(traces)
        sys.stderr.write(
            f"pulsetrace: combined {processes} process{'' if processes == 1 else 'es'} "
            f"from {files} file{'' if files == 1 else 's'} into {args.output}\n"
        )
        return 0




def _note_unanchored(paths: List[str], traces: List[Trace]) -> None:
    """Say which traces have no wall-clock times, since --align wall can only guess where they go."""
    unanchored = [
        path
        for path, trace in zip(paths, traces)
        if trace.processes and not any(has_wall_clock(p) for p in trace.processes)
    ]
    if not unanchored:
        return
    if len(unanchored) == sum(1 for trace in traces if trace.processes):
        _note("no trace has wall-clock times (JSON from other tools): they all start together")
        return
    for path in unanchored:
        _note(
            f"{path} has no wall-clock times (JSON from another tool): it starts with the earliest "
            "process of the other traces (--align start starts every trace together)"
        )


def _note(text: str) -> None:
    sys.stderr.write(f"pulsetrace: note: {text}\n")
