"""The trace session of a run: start tracing just before the program, save however the process ends.

Where tracing stops: the session registers its atexit callback *before* the program runs, and atexit
callbacks run last-registered-first, after CPython has joined the non-daemon threads. So the trace
covers what ``python`` runs for the program: the main module, non-daemon threads until they end, and
the program's own atexit callbacks; then it is saved. Paths that skip atexit are covered separately:
SIGTERM (when the program keeps the default action) and ``os._exit`` save first, then end the process
as they would have.

Child processes (option trace_children, see ``children.py``): the session of the first process, the
root, creates the run's shared directory; every traced descendant has a session of its own that saves
its trace there, quietly. A forked child's session is the parent's, taken over by the child in the
fork handler. The root saves one trace with every process in it, its own first.
"""

from __future__ import annotations

import atexit
import operator
import os
import signal
import sys
import threading
import time
import traceback
from types import FrameType
from typing import Any, Callable, List, NoReturn, Optional, TextIO, Tuple

from . import childhooks
from .children import (
    ChildSlot,
    ChildTracing,
    Collected,
    as_descendant,
    lost_children,
    save_replaced_part,
    wait_from_environment,
    with_descendants,
)
from .config import DEFAULT_OUTPUT
from .model import Trace
from .model.lines import merged
from .options import TraceOptions
from .progress import Progress
from .pycommand import PythonCommand
from .tracer import Tracer, TracerError
from .writers import OutputError, save


def format_size(size: int) -> str:
    """A byte count for people: 532 B, 4.1 KiB, 12.0 MiB."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024.0
        if value < 1024.0 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"


_IDLE, _RUNNING, _FINISHING, _DONE = range(4)


class TraceSession:
    """Starts the tracer just before the program and saves the trace however the process ends.

    Errors of pulsetrace itself are reported as ``pulsetrace: ...`` lines and never change the
    program's own result.
    """

    def __init__(
        self,
        output: Optional[str] = None,
        *,
        options: Optional[TraceOptions] = None,
        core: Optional[str] = None,
        backend: Optional[str] = None,
        quiet: bool = False,
        stderr: Optional[TextIO] = None,
        tracer_factory: Optional[Callable[[], Tracer]] = None,
        children_of: Optional[ChildTracing] = None,
        slot: Optional[ChildSlot] = None,
    ) -> None:
        """``options`` are the tracing options (pulsetrace.config builds them from every source);
        ``output``, ``core`` and ``backend``, when given, override theirs. The trace goes to
        ``output``, else ``options.output``, else result.html.

        A descendant of a traced process is given its run (``children_of``) and its ``slot`` there,
        where its trace goes instead of ``output``; a root with ``options.trace_children`` creates
        its run when it starts."""
        options = options if options is not None else TraceOptions()
        overrides = {name: value for name, value in (("core", core), ("backend", backend)) if value}
        if overrides:
            options = options.updated(overrides, "TraceSession()")
        output = output or options.output or DEFAULT_OUTPUT
        self.options = options
        self.output = output  # as the user gave it, for messages
        # The program may chdir: save where the user meant when they started pulsetrace.
        self.output_path = output if output == "-" else os.path.abspath(output)
        self.quiet = quiet
        self._stderr = stderr if stderr is not None else sys.stderr
        # gives_way: a program that starts a Tracer of its own must not fail only because it runs
        # under `pulsetrace run`; the run's trace then ends where the program's began.
        self._make_tracer = tracer_factory or (lambda: Tracer(options=options, gives_way=True))
        self.tracer: Optional[Tracer] = None
        self.pid = os.getpid()
        self._state = _IDLE
        self._lock = threading.Lock()
        self._terminate_after = False
        self._real_exit: Callable[[int], NoReturn] = os._exit
        self._exit_wrapper: Optional[Callable[[int], NoReturn]] = None
        self._sigterm_installed = False
        self.children = children_of
        self.slot = slot
        # A root given a run took it over from the program it replaced (os.exec*): the run holds what
        # came before, so it is saved even if this program never starts (abandon).
        self._took_over_run = children_of is not None and slot is None
        self.parent_pid = os.getppid() if slot is not None else 0
        self.started_by = "exec" if slot is not None else ""
        # The root's own part, saved before it replaced itself by a traced program (os.exec*): marked
        # if the exec fails after all (_after_failed_exec).
        self._replaced_part: Optional[Tuple[Tracer, ChildSlot]] = None

    # -- reporting ---------------------------------------------------------------------------------

    def report(self, message: str, *table: str) -> None:
        """One ``pulsetrace: ...`` line (then ``table``'s lines as they are) on the stderr pulsetrace
        started with (fd 2 if that is gone)."""
        line = "".join([f"pulsetrace: {message}\n", *(row + "\n" for row in table)])
        try:
            self._stderr.write(line)
            self._stderr.flush()
        except Exception:
            try:
                os.write(2, line.encode("utf-8", "replace"))
            except OSError:
                pass

    def _report_error(self, what: str, exc: BaseException) -> None:
        if isinstance(exc, (OutputError, TracerError)):
            detail = str(exc)  # pulsetrace's own messages say what went wrong
        else:
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        self.report(f"{what}: {detail}")
        if os.environ.get("PULSETRACE_DEBUG"):
            try:
                self._stderr.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
            except Exception:
                pass

    # -- start -------------------------------------------------------------------------------------

    def start(self) -> None:
        """Install the exit hooks, then start recording; on failure the program runs untraced."""
        # Hooks first: whatever runs after tracer.start() is recorded, and this is not the program.
        self._install_hooks()
        self._trace_children()
        try:
            tracer = self._make_tracer()
            tracer.start()
        except Exception as exc:
            self._uninstall_hooks()
            self._end_children()
            atexit.unregister(self.finish)
            self._report_error("could not start tracing, running the program untraced", exc)
            return
        self.tracer = tracer
        self._state = _RUNNING

    def _trace_children(self) -> None:
        """Have the program's children traced into this run (the root creates the run); before
        recording starts, since none of this is the program's."""
        if self.slot is not None:
            self.slot.mark_running()
        elif self.children is None and self.options.trace_children:
            try:
                self.children = ChildTracing.create(self.options)
            except OSError as exc:
                self._report_error("note: child processes will not be traced", exc)
                return
        if self.children is not None:
            childhooks.install(
                self.children,
                self._after_fork_in_child,
                self._before_exec,
                self._before_other_exec,
                self._after_failed_exec,
            )

    def _end_children(self) -> None:
        """This process's part in the run is over: release its slot, or (the root) remove the run."""
        if self.slot is not None:
            self.slot.release()
        elif self.children is not None:
            self.children.remove()

    def _after_fork_in_child(self) -> None:
        """In a forked child: drop the parent's recording (the parent saves it) and record this process
        into a slot of its own."""
        tracer, run = self.tracer, self.children
        if self._state != _RUNNING or tracer is None or run is None:
            return
        self._lock = threading.Lock()  # another thread of the parent may have held it
        parent, self.pid = self.pid, os.getpid()
        if not tracer.running:  # the run's tracer gave way to the program's own: nothing to record
            self._state = _DONE
            return
        try:
            tracer.stop()
            name = tracer.trace.process().name
        except BaseException:  # nothing may escape a fork handler: python would print it
            name = "python"
        self.parent_pid, self.started_by, self.quiet = parent, "fork", True
        self.slot = run.new_slot(f"{name} (fork of pid {parent})")
        self.slot.mark_running()
        try:
            self.tracer = Tracer(options=run.options, gives_way=True)
            self.tracer.start()
        except Exception as exc:
            self.slot.release()
            self._report_error("could not trace a forked child process", exc)
            self._state = _DONE

    def _before_exec(self, argv: Any, command: PythonCommand) -> Optional[List[Any]]:
        """Before this process replaces itself by a traced Python program (os.exec*): save what it
        recorded. A descendant saves into its slot, and the new program is a descendant of its own;
        the root saves its part of the run beside the descendants', and the new program takes its
        place (the command line to exec instead, which saves the run's trace when it ends)."""
        if os.getpid() != self.pid or self._state != _RUNNING or self.children is None:
            return None  # not recording here (a child of os.spawn*): the new program is a descendant
        if self.slot is not None:
            self.finish()
            return None
        run = self.children
        with self._lock:
            if self._state != _RUNNING:
                return None
            self._state = _FINISHING
        tracer = self.tracer
        try:
            if tracer is not None:
                if tracer.running:
                    tracer.stop()
                slot = save_replaced_part(run, tracer.trace, command)
        except BaseException as exc:
            self._report_error("could not save the trace before the program replaced itself", exc)
        self._state = _DONE
        self._uninstall_hooks()
        childhooks.install(run, lambda: None)  # the hooks stay, for the exec itself
        try:
            atexit.unregister(self.finish)
        except Exception:
            pass
        self._replaced_part = (tracer, slot) if tracer is not None else None
        return run.rewrite_as_root(argv[0], command, self.output_path, self.quiet)

    def _before_other_exec(self) -> bool:
        """Before this process replaces itself by a program that is not a Python program of this
        interpreter (os.exec*): save what it recorded, which would be gone with it. A descendant's run
        goes on (a Python the new program starts is reached, pulsetrace.childenv); the root's ends
        here: it waits for its descendants and saves the run's trace (False)."""
        if os.getpid() != self.pid or self._state != _RUNNING:
            return self.slot is not None or os.getpid() != self.pid  # not recording here (os.spawn*)
        self._replaced_part = None
        self.finish()
        return self.slot is not None

    def _after_failed_exec(self) -> None:
        """The os.exec* that this process saved its recording for failed: it goes on, so record it
        again. A descendant records into a new slot; the root goes on with the run, and the part it
        saved is marked as such (its exec failed). Once the root has saved the run's whole trace
        (another program), the rest is not recorded, and the root says so."""
        if os.getpid() != self.pid or self._state != _DONE:
            return
        part, self._replaced_part = self._replaced_part, None
        if self.slot is None and part is None:
            self.report(
                "note: the trace was saved before os.exec*, which failed: "
                "the rest of the program is not traced"
            )
            return
        if part is not None:
            tracer, slot = part
            try:
                process = tracer.trace.process()
                process.metadata["exec_failed"] = process.metadata.pop("replaced_by", "")
                save(tracer.trace, slot.trace_path)
            except BaseException as exc:
                self._report_error("could not mark the part saved before a failed os.exec*", exc)
        if self.slot is not None and self.children is not None:
            self.slot = self.children.new_slot(self.slot.command)
        self._state = _IDLE
        self.start()

    def _install_hooks(self) -> None:
        atexit.register(self.finish)
        self._real_exit = os._exit
        real_exit = self._real_exit
        session = self

        def _exit(status: int) -> NoReturn:
            status = operator.index(status)  # the same TypeError as os._exit, before anything is saved
            if os.getpid() == session.pid:
                session.finish()
            real_exit(status)

        _exit.__doc__ = real_exit.__doc__
        self._exit_wrapper = _exit
        os._exit = _exit
        if threading.current_thread() is threading.main_thread():
            try:
                if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
                    signal.signal(signal.SIGTERM, self._on_sigterm)
                    self._sigterm_installed = True
            except (ValueError, OSError):
                pass

    def _uninstall_hooks(self) -> None:
        if self.children is not None:
            childhooks.uninstall()
        if self._exit_wrapper is not None and os._exit is self._exit_wrapper:
            os._exit = self._real_exit  # type: ignore[assignment]
        if self._sigterm_installed and threading.current_thread() is threading.main_thread():
            try:
                if signal.getsignal(signal.SIGTERM) == self._on_sigterm:
                    signal.signal(signal.SIGTERM, signal.SIG_DFL)
            except (ValueError, OSError):
                pass

    # -- stop --------------------------------------------------------------------------------------

    def _on_sigterm(self, signum: int, frame: Optional[FrameType]) -> None:
        if os.getpid() == self.pid:
            if self._state == _FINISHING:  # we interrupted our own save: let it end, then die
                self._terminate_after = True
                return
            if self._state == _IDLE and self.slot is not None:
                # Ended while it starts to record (a pool worker terminated at once): nothing was
                # recorded, and the root says so (never recorded), not that a trace was lost.
                self.slot.release()
            self.finish()
        _die_by_signal(signal.SIGTERM, self._real_exit)

    def finish(self) -> None:
        """Stop recording, save the trace and say so; once, and only in the process that started it."""
        if os.getpid() != self.pid:
            return  # a forked child: the parent saves its own trace
        with self._lock:
            if self._state != _RUNNING:
                return
            self._state = _FINISHING
        tracer = self.tracer
        assert tracer is not None
        gave_way = not tracer.running
        try:
            if not gave_way:
                tracer.stop()
        except BaseException as exc:
            self._report_error("could not stop tracing", exc)
            self._end_children()
            self._done()
            return
        if self.slot is not None:
            self._save_descendant(tracer, self.slot)
            self._done()
            return
        trace = tracer.trace
        collected: Optional[Collected] = None
        if self.children is not None:
            childhooks.uninstall()  # children started from here on are not waited for
            collected = self._collect_children(self.children)
            trace = with_descendants(trace, collected)
        try:
            with Progress(f"saving {self.output}", self._stderr) as progress:
                result = save(trace, self.output_path, on_write=progress.update)
        except BaseException as exc:
            self._report_error(f"could not save the trace to {self.output}", exc)
        else:
            if collected is not None:
                self._note_children(collected)
            if not self.quiet:
                if gave_way:
                    self.report(
                        "note: the program started a pulsetrace Tracer of its own; this run's trace "
                        "ends where that one began"
                    )
                self._note_fallback(tracer)
                self._summarise(trace)
                self._summarise_lines(trace, result.format)
                self.report(
                    f"wrote {result.calls} calls ({format_size(result.bytes_written)}) to "
                    + ("standard output" if self.output == "-" else self.output)
                    + (_lost_clause(collected) if collected is not None else "")
                )
        self._end_children()
        self._done()

    def _collect_children(self, run: ChildTracing) -> Collected:
        def waiting(count: int) -> Progress:
            return Progress(f"waiting for {count} child process{'es' if count > 1 else ''}", self._stderr)

        try:
            return run.collect(wait_seconds=self._children_timeout(), waiting=waiting)
        except Exception as exc:
            self._report_error("could not read the traces of the child processes", exc)
            return Collected()

    def _children_timeout(self) -> float:
        """How long the root waits for descendants still running: the option children_timeout where it
        was set, else the environment's PULSETRACE_CHILDREN_WAIT (the older way), else the default."""
        if "children_timeout" in self.options.sources:
            return self.options.children_timeout
        return wait_from_environment(self.options.children_timeout)

    def _note_children(self, collected: Collected) -> None:
        """Say what became of the child processes: which are in the trace, which are not and why."""
        processes = [process for trace in collected.traces for process in trace.processes]
        for process in processes:
            if "replaced_by" in process.metadata and process.pid == os.getpid() and not self.quiet:
                self.report(
                    f"note: {process.name} replaced itself by {process.metadata['replaced_by']} (os.exec*)"
                )
        names = [process.name for process in processes if process.pid != os.getpid()]
        if names and not self.quiet:
            count = len(names)
            shown = ", ".join(names[:5]) + (f" and {count - 5} more" if count > 5 else "")
            self.report(f"note: {count} child process{'es' if count > 1 else ''} traced too: {shown}")
        for pid, command in collected.still_running:
            self.report(f"note: child process {pid} ({command}) was still running: it is not in the trace")
        for pid, command in collected.ended_unsaved:
            self.report(
                f"note: child process {pid} ({command}) ended without saving its trace (killed?): "
                "it is not in the trace"
            )
        for pid, command in collected.never_recorded:
            self.report(
                f"note: child process {pid} ({command}) ended before it began recording (killed while "
                "starting up?): it is not in the trace"
            )
        for message in collected.unreadable:
            self.report(f"note: a child process's trace could not be read: {message}")

    def _save_descendant(self, tracer: Tracer, slot: ChildSlot) -> None:
        """Leave this process's trace in its slot for the root to collect (nothing is said on success)."""
        try:
            if not slot.still_wanted():
                return  # the root has ended and said that this process was still running
            as_descendant(tracer.trace.process(), slot, self.started_by, self.parent_pid)
            save(tracer.trace, slot.trace_path)
        except BaseException as exc:
            self._report_error("could not save this child process's trace", exc)
        finally:
            slot.release()

    def _note_fallback(self, tracer: Tracer) -> None:
        """Say so when the Python core recorded only because the C extension is missing: the
        program ran much slower than it had to (said at the end, never among the program's output)."""
        core = tracer.core
        chose_python = tracer.options.core == "python" or os.environ.get("PULSETRACE_CORE") == "python"
        if core is not None and core.name == "python" and not chose_python:
            from .extension import load_c_extension

            self.report(
                f"note: recorded with the slower Python core: {load_c_extension()[1]} (reinstall "
                "pulsetrace where a C compiler and the Python headers are available to get the C core)"
            )

    def _summarise_lines(self, trace: Trace, format_name: str) -> None:
        """lines=True: how much was counted, and a warning when the output format cannot hold it."""
        recorded = [process.lines for process in trace.processes if process.lines is not None]
        if not recorded:
            return
        lines = merged(recorded)
        from .writers import writer_named

        kept = sum(len(numbers) for numbers in lines.files.values())
        hits = sum(stat.hits for numbers in lines.files.values() for stat in numbers.values())
        files = len(lines.files)
        message = f"line statistics: {hits} hits on {kept} lines of {files} file{'s' if files != 1 else ''}"
        if lines.functions:
            message += f", {len(lines.functions)} library functions summarised"
        self.report(message)
        writer = writer_named(format_name)
        if not (writer.keeps_lines or writer.needs_lines):  # a format that needs them shows them
            self.report(
                f"note: the {format_name} format has no place for line statistics; "
                "save to a .pulse file to keep them"
            )

    def _summarise(self, trace: Trace) -> None:
        """The terminal summary: the functions with the most self time (reports.summary), of every
        process of the trace together."""
        try:
            from .reports.callstats import CallStats
            from .reports.summary import summary_lines

            parts = [CallStats.of(process, callers=False) for process in trace.processes]
            lines = summary_lines(CallStats.combined(parts) if len(parts) > 1 else parts[0])
        except Exception as exc:  # the summary is a courtesy: it never costs the trace or the exit
            self._report_error("could not summarise the trace", exc)
            return
        if lines:
            self.report(lines[0], *lines[1:])

    def abandon(self) -> None:
        """Stop recording without saving: the program never started (e.g. no such module). A root that
        took over the run from the program it replaced (os.exec*: given the run, with no slot in it)
        goes on and saves at exit all the same (after python's message): the run holds what came
        before the exec, and its children."""
        if self._took_over_run:
            return
        with self._lock:
            if self._state != _RUNNING:
                return
            self._state = _FINISHING
        try:
            if self.tracer is not None and self.tracer.running:
                self.tracer.stop()
        except BaseException as exc:
            self._report_error("could not stop tracing", exc)
        try:
            atexit.unregister(self.finish)
        except Exception:
            pass
        self._end_children()
        self._done()

    def _done(self) -> None:
        self._state = _DONE
        self._uninstall_hooks()
        if self._terminate_after:
            _die_by_signal(signal.SIGTERM, self._real_exit)


def _lost_clause(collected: Collected) -> str:
    """The end of the run's last line when child processes are missing from the trace (the notes
    before it say why, one by one; the trace's metadata says so too, ``children_lost``)."""
    lost = lost_children(collected)
    if not lost:
        return ""
    pids = [str(entry["pid"]) for entry in lost if entry["pid"]]
    count = len(lost)
    return f"; {count} child process{'es' if count > 1 else ''} lost" + (
        f" (pid {', '.join(pids)})" if pids else ""
    )


def start_descendant(
    run: ChildTracing, command: str, *, started_by: str, parent_pid: int
) -> Optional[TraceSession]:
    """Record this process from now on into a slot of ``run`` (nothing if the run is over), as a
    descendant that ``command`` names, started by ``started_by`` (fork, exec, forkserver) from
    ``parent_pid``; it saves when the process ends. For processes that pulsetrace did not start
    itself: one forked by multiprocessing's forkserver, one reached through its environment
    (pulsetrace.childenv), the child of a fork under ``Tracer(trace_children=True)``."""
    session: Optional[TraceSession] = None
    try:
        if not os.path.isdir(run.directory):
            return None  # the program has ended and its trace is saved: nothing would collect this one
        slot = run.new_slot(command)
        session = TraceSession(slot.trace_path, options=run.options, quiet=True, children_of=run, slot=slot)
        session.parent_pid, session.started_by = parent_pid, started_by
        session.start()
        return session
    except BaseException:  # called from fork handlers and while python starts: nothing may escape
        if session is not None and session.slot is not None:
            session.slot.release()
        return None


class UntracedSession(TraceSession):
    """A session that runs the program without recording: for a child process whose run has ended."""

    def start(self) -> None:
        return None

    def abandon(self) -> None:
        return None


def _die_by_signal(signum: int, real_exit: Callable[[int], NoReturn]) -> NoReturn:
    """End the process by ``signum`` with its default action, as if pulsetrace had never caught it."""
    try:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signum, signal.SIG_DFL)
        # (elsewhere, pulsetrace's handler takes the signal in the main thread and ends up here there)
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
        os.kill(os.getpid(), signum)
        for _ in range(200):  # delivery is asynchronous when another thread takes the signal
            time.sleep(0.01)
    finally:
        real_exit(128 + signum)
