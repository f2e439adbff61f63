"""The entry point of a traced child process: the program a rewritten command line runs.

A traced program that starts this interpreter gets, instead of ``python [options] PROGRAM ARGS``,
``python [options] -c BOOTSTRAP run --child-of DIR PROGRAM ARGS`` (pulsetrace.children), where
PROGRAM is ``-- script``, ``-m module`` or ``-c code``. The bootstrap imports this module and calls
``child_main``, which reads that line directly: it was written by pulsetrace, not by a person, so
the command-line interface (argparse, pyproject.toml, the other subcommands) is not loaded, and a
child starts as quickly as it can.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

from . import childhooks, runner
from .children import CHILD_OF_FLAG, FORKSERVER_OF_FLAG, ROOT_OF_FLAG, ChildTracing
from .pycommand import CODE, MODULE, SCRIPT
from .session import start_descendant


def child_main() -> int:
    """Run the program of ``sys.argv[1:]`` (``run --child-of DIR PROGRAM ARGS``) as python would,
    traced into DIR's run; its exit status (or its exception, for python to handle).
    ``run --forkserver-of DIR -c CODE`` runs multiprocessing's forkserver (``run_forkserver``)."""
    words = sys.argv[1:]
    if len(words) == 5 and words[:2] == ["run", FORKSERVER_OF_FLAG] and words[3] == "-c":
        return run_forkserver(words[4], words[2])
    if len(words) >= 7 and words[:2] == ["run", ROOT_OF_FLAG]:
        return run_child(target_of(words[5:]), words[2], root_output=words[3], quiet=words[4] == "1")
    if len(words) < 5 or words[:2] != ["run", CHILD_OF_FLAG]:
        sys.stderr.write(f"pulsetrace: error: not a child-process command line: {words!r}\n")
        return 2
    return run_child(target_of(words[3:]), words[2])


def target_of(program: List[str]) -> runner.Target:
    """The program of a rewritten command line: ``-- script ARGS``, ``-m module ARGS`` or ``-c code ARGS``."""
    kind = {"--": SCRIPT, "-m": MODULE, "-c": CODE}[program[0]]
    return runner.Target(kind, program[1], program[2:])


def run_child(
    target: runner.Target, directory: str, *, root_output: Optional[str] = None, quiet: bool = True
) -> int:
    """Run a child process of a traced program, traced into that program's run.

    The child is the program's own: it gets python's messages and exit statuses, and pulsetrace says
    nothing unless something of its own goes wrong. With ``root_output``, the program is what the
    run's root replaced itself by (os.exec*): it takes the root's place, and saves the run's trace
    there when it ends, saying so unless ``quiet``.
    """
    run = ChildTracing.load(directory)
    root: Optional[runner.TraceSession] = None
    if run is not None and root_output is not None:
        # Named as the run's other processes are (with its arguments), also when it cannot start.
        options = run.options.updated({"process_name": target.describe()}, "exec")
        root = runner.TraceSession(root_output, options=options, quiet=quiet, children_of=run)
    try:
        program = runner.load_program(target)
    except runner.LaunchError as exc:
        sys.stderr.write(f"{sys.executable}: {exc.message}\n")
        if root is not None:  # the run, with what came before the exec, is this process's to save
            root.start()
            root.finish()
        return exc.exit_code
    session: runner.TraceSession
    if run is None:  # the program that started this one has ended: nothing would collect the trace
        session = runner.UntracedSession()
    elif root is not None:
        session = root
    else:
        slot = run.new_slot(target.describe())
        session = runner.TraceSession(
            slot.trace_path, options=run.options, quiet=True, children_of=run, slot=slot
        )
    try:
        return runner.run_program(program, session)
    except runner.LaunchError as exc:  # runpy found no such module
        sys.stderr.write(f"{sys.executable}: {exc.message}\n")
        return exc.exit_code


def run_forkserver(code: str, directory: str) -> int:
    """Run multiprocessing's forkserver (``code``) untraced, with the hooks that trace every process it
    forks into the run of ``directory``.

    The server runs none of the program's code but its imports (it preloads ``__main__``'s), and it
    lives until the program has ended: a track of its own would show nothing, and waiting for it
    would wait for ever. Its children are the program's processes (``ForkServerProcess-1``,
    ``ForkServerPoolWorker-2``): each starts recording in the fork handler, as a child of the
    process that started the server, and saves when it ends (the forkserver ends them with
    ``os._exit``, which the session saves before)."""
    run = ChildTracing.load(directory)
    if run is not None:
        server_parent = os.getppid()

        def trace_forked_child() -> None:
            _start_forked_child(run, server_parent)

        childhooks.install(run, trace_forked_child)
    return runner.run_program(runner.load_program(runner.Target(CODE, code, [])), runner.UntracedSession())


def _start_forked_child(run: ChildTracing, parent_pid: int) -> None:
    """In a process the forkserver forked: record it into a slot of the run (nothing if the run is over)."""
    start_descendant(
        run, "a process of multiprocessing's forkserver", started_by="forkserver", parent_pid=parent_pid
    )
