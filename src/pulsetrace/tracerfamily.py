"""``Tracer(trace_children=True)``: a Tracer used from Python traces its process's children too.

``pulsetrace run`` traces a program's children through its session (pulsetrace.session); a Tracer
started by the program itself does the same for the part of the program it records. From start()
on, the Tracer is the root of a run (pulsetrace.children): the children the process starts are
traced with the Tracer's options (the same hooks, pulsetrace.childhooks), each into a file of the
run's private directory; stop() waits up to ``children_timeout`` seconds for those still running and
returns one trace with every process in it, the Tracer's own first. Children that did not make it
are listed in the root process's metadata (``children_lost``).

A forked child is a copy of the recording process: there the copy of the Tracer's recording is
dropped (the parent's to save), the Tracer stops, and a descendant session records the child until
it ends (pulsetrace.session.start_descendant). The program's own ``with`` block or stop() in the
child then finds the Tracer stopped, and saves nothing over the parent's output.

Before the process replaces itself (os.exec*): by a Python program of this interpreter, with an
output set, the Tracer saves its part and the new program saves the run's trace there at its end,
as ``pulsetrace run`` does; by any other program, it stops and saves the run's trace to its output
(if it has one). Without an output, a replaced process leaves no trace: nothing said where to.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, List, Optional

from . import childhooks
from .children import ChildTracing, Collected, save_replaced_part, with_descendants
from .model import Trace
from .pycommand import PythonCommand

if TYPE_CHECKING:
    from .tracer import Tracer


class TracerFamily:
    """The run that a ``Tracer(trace_children=True)`` shares with the child processes it records."""

    def __init__(self, tracer: Tracer, run: ChildTracing) -> None:
        self.tracer = tracer
        self.run = run
        self.pid = os.getpid()  # the Tracer's own process: only it collects and saves the run
        self.collected: Optional[Collected] = None

    @classmethod
    def begin(cls, tracer: Tracer) -> TracerFamily:
        """The run of ``tracer``, which starts recording now: its directory and the hooks (OSError when
        the directory cannot be made)."""
        family = cls(tracer, ChildTracing.create(tracer.options))
        childhooks.install(
            family.run,
            family._after_fork_in_child,
            family._before_exec,
            family._before_other_exec,
        )
        return family

    def end(self, trace: Trace) -> Trace:
        """In the Tracer's process, when it stops: ``trace`` with the descendants' processes, after
        waiting for those still running; the run's directory is removed."""
        childhooks.uninstall()  # children started from here on are not waited for
        try:
            self.collected = self.run.collect(wait_seconds=self.tracer.options.children_timeout)
            return with_descendants(trace, self.collected)
        finally:
            self.run.remove()

    def abandon(self) -> None:
        """The Tracer stops in a process that is not its own (a forked child): leave the run alone."""
        if os.getpid() == self.pid:
            childhooks.uninstall()
            self.run.remove()

    # -- the hooks' callbacks ---------------------------------------------------------------------

    def _after_fork_in_child(self) -> None:
        """In a forked child: drop the copy of the parent's recording and record this process as a
        descendant of the run until it ends."""
        from .session import start_descendant

        tracer = self.tracer
        if not tracer.running:
            return
        try:
            name = tracer.leave_to_forked_child()
        except BaseException:  # nothing may escape a fork handler: python would print it
            name = "python"
        start_descendant(self.run, f"{name} (fork of pid {self.pid})", started_by="fork", parent_pid=self.pid)

    def _before_exec(self, argv: Any, command: PythonCommand) -> Optional[List[Any]]:
        """The Tracer's process replaces itself by a Python program of this interpreter: with an output,
        save this part and let the new program save the run's trace there; without, stop tracing
        children and run it as it is."""
        tracer = self.tracer
        if os.getpid() != self.pid or not tracer.running:
            return None  # not the Tracer's process (a child of os.spawn*): the new program is a descendant
        output = tracer.output
        if output is None:
            tracer.stop()
            return list(argv)
        save_replaced_part(self.run, tracer.stop_without_children(), command)
        childhooks.install(self.run, lambda: None)  # the hooks stay, for the exec itself
        return self.run.rewrite_as_root(argv[0], command, os.path.abspath(output), True)

    def _before_other_exec(self) -> bool:
        """The Tracer's process replaces itself by another program: the run ends here; its trace goes
        to the Tracer's output, if it has one."""
        tracer = self.tracer
        if os.getpid() != self.pid:
            return True  # a child of os.spawn*: whatever Python it execs is part of the run
        if tracer.running:
            tracer.stop()
            if tracer.output is not None:
                tracer.save(tracer.output)
        return False
