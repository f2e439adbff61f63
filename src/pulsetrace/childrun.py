"""The entry point of a traced child process: the program a rewritten command line runs.

A traced program that starts this interpreter gets, instead of ``python [options] PROGRAM ARGS``,
``python [options] -c BOOTSTRAP run --child-of DIR PROGRAM ARGS`` (pulsetrace.children), where
PROGRAM is ``-- script``, ``-m module`` or ``-c code``. The bootstrap imports this module and calls
``child_main``, which reads that line directly: it was written by pulsetrace, not by a person, so
the command-line interface (argparse, pyproject.toml, the other subcommands) is not loaded, and a
child starts as quickly as it can.
"""

from __future__ import annotations

import sys
from typing import List

from . import runner
from .children import CHILD_OF_FLAG, ChildTracing
from .pycommand import CODE, MODULE, SCRIPT, describe_program


def child_main() -> int:
    """Run the program of ``sys.argv[1:]`` (``run --child-of DIR PROGRAM ARGS``) as python would,
    traced into DIR's run; its exit status (or its exception, for python to handle)."""
    words = sys.argv[1:]
    if len(words) < 5 or words[:2] != ["run", CHILD_OF_FLAG]:
        sys.stderr.write(f"pulsetrace: error: not a child-process command line: {words!r}\n")
        return 2
    return run_child(target_of(words[3:]), words[2])


def target_of(program: List[str]) -> runner.Target:
    """The program of a rewritten command line: ``-- script ARGS``, ``-m module ARGS`` or ``-c code ARGS``."""
    kind = {"--": SCRIPT, "-m": MODULE, "-c": CODE}[program[0]]
    return runner.Target(kind, program[1], program[2:])


def run_child(target: runner.Target, directory: str) -> int:
    """Run a child process of a traced program, traced into that program's run.

    The child is the program's own: it gets python's messages and exit statuses, and pulsetrace says
    nothing unless something of its own goes wrong.
    """
    try:
        program = runner.load_program(target)
    except runner.LaunchError as exc:
        sys.stderr.write(f"{sys.executable}: {exc.message}\n")
        return exc.exit_code
    run = ChildTracing.load(directory)
    session: runner.TraceSession
    if run is None:  # the program that started this one has ended: nothing would collect the trace
        session = runner.UntracedSession()
    else:
        slot = run.new_slot(describe_program([*program.launch_words(), *target.args]))
        session = runner.TraceSession(
            slot.trace_path, options=run.options, quiet=True, children_of=run, slot=slot
        )
    try:
        return runner.run_program(program, session)
    except runner.LaunchError as exc:  # runpy found no such module
        sys.stderr.write(f"{sys.executable}: {exc.message}\n")
        return exc.exit_code
