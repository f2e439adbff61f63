"""Tracing a program's child processes into its own trace (``pulsetrace run``, option trace_children).

Every traced process of one run shares a directory (a fresh temporary one, created by the first
process, the *root*). Each descendant records itself and leaves its trace there as a native file;
when the root ends it waits for the descendants still running, reads their traces and saves one
trace holding every process. How a child comes to be traced (a fork handler, rewritten command
lines, the environment) is in ``childhooks.py`` and ``childenv.py``; how a traced child starts, in
``childrun.py``. The root is ``pulsetrace run``'s session, or a ``Tracer(trace_children=True)``
(``tracerfamily.py``). Descendants that did not make it into the trace are listed in the root
process's metadata (``children_lost``).

Each traced descendant marks itself running with a file of its own (``<pid>-<token>.running``) and
removes the mark once its trace (``<pid>-<token>.pulse``) is written, so the root knows which ones
it is still waiting for, and which ended without saving (killed by SIGKILL). A child may not have
got that far when the root ends (an interpreter takes a while to start), so the parent also notes
each child it starts (``<pid>.started``): the root waits for those as long as they run, up to the
option children_timeout.

A rewritten command line gives the new interpreter its part in the run (pulsetrace.childrun):
``run --child-of DIR`` a descendant, ``run --root-of DIR OUTPUT QUIET`` the program the root
replaced itself by (os.exec*), which saves the run's trace in its place, and ``run --forkserver-of
DIR`` multiprocessing's forkserver, which records nothing but traces every process it forks.
Directories that a root killed by SIGKILL left behind are removed by the next run (``root_pid`` in
``session.json`` has ended).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager, Dict, List, Optional, Sequence, Set, Tuple

from .childenv import write_boot_file
from .model import ProcessTrace, Trace
from .model.build import SourceTexts, source_files
from .model.combine import HISTORY, give_unique_pids
from .options import SPECS, TraceOptions
from .pycommand import CODE, SCRIPT, PythonCommand, parse_python_command

DIRECTORY_PREFIX = "pulsetrace-children-"
SPEC_FILE = "session.json"
TRACE_SUFFIX = ".pulse"
MARK_SUFFIX = ".running"
STARTED_SUFFIX = ".started"
# How long the root waits for descendants still running when it ends (option children_timeout).
DEFAULT_WAIT_SECONDS = TraceOptions().children_timeout
WAIT_VARIABLE = "PULSETRACE_CHILDREN_WAIT"  # seconds, where the option children_timeout is not set
CHILD_OF_FLAG = "--child-of"  # run --child-of DIR: how the rewritten command line reads (childrun.py)
ROOT_OF_FLAG = "--root-of"  # run --root-of DIR OUTPUT QUIET PROGRAM: the root replaced itself (os.exec*)
FORKSERVER_OF_FLAG = "--forkserver-of"  # run --forkserver-of DIR -c CODE: multiprocessing's forkserver

# Options that belong to the root alone: the output file, and the name it gives its own process.
_ROOT_ONLY = ("output", "process_name")

# multiprocessing's helper processes read a pipe until the program has ended: waiting for them would
# wait for ever, and they run none of the program's code. The forkserver is one of them, but the
# processes it forks run the program's code: it runs with the hooks only (see ``forkserver_command``).
_FORKSERVER_CODE_PREFIX = "from multiprocessing.forkserver import"
_HELPER_CODE_PREFIXES = (
    "from multiprocessing.resource_tracker import",
    _FORKSERVER_CODE_PREFIX,
    "from multiprocessing.semaphore_tracker import",
)

# How multiprocessing's spawn start method starts a child (describe_program's words).
_SPAWN_COMMAND = "python -c from multiprocessing.spawn import spawn_main"

# The code a rewritten command runs with ``-c``: load pulsetrace from the root's installation without
# touching sys.path (the program must find the sys.path it would have), then run the command line.
_BOOTSTRAP = (
    "import importlib.util as u,sys\n"
    "s=u.spec_from_file_location('pulsetrace',{init!r},submodule_search_locations=[{package!r}])\n"
    "m=u.module_from_spec(s);sys.modules['pulsetrace']=m;s.loader.exec_module(m)\n"
    "from pulsetrace.childrun import child_main\n"
    "raise SystemExit(child_main())\n"
)
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def bootstrap_code() -> str:
    """The ``-c`` code that starts ``pulsetrace run`` in a child from this installation of pulsetrace."""
    return _BOOTSTRAP.format(init=os.path.join(_PACKAGE_DIR, "__init__.py"), package=_PACKAGE_DIR)


# -- the options children record with ---------------------------------------------------------------


def _options_to_json(options: TraceOptions) -> Dict[str, Any]:
    values = options.as_dict()
    for name in _ROOT_ONLY:
        values.pop(name, None)
    for name, value in values.items():
        if isinstance(value, tuple):
            values[name] = list(value)
    return values


def _options_from_json(values: Dict[str, Any]) -> TraceOptions:
    converted = {
        name: tuple(value) if SPECS[name].kind == "files" else value
        for name, value in values.items()
        if name in SPECS
    }
    return TraceOptions().replaced(converted, {name: "the parent process" for name in converted})


# -- the shared directory ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ChildSlot:
    """Where one traced descendant leaves its trace, and its mark while it runs."""

    directory: str
    stem: str  # "<pid>-<token>"
    command: str  # which process this is, for the root's messages

    @property
    def trace_path(self) -> str:
        return os.path.join(self.directory, self.stem + TRACE_SUFFIX)

    @property
    def mark_path(self) -> str:
        return os.path.join(self.directory, self.stem + MARK_SUFFIX)

    def mark_running(self) -> None:
        """Tell the root that this process records and will leave its trace here."""
        _write_mark(self.mark_path, os.getpid(), self.command)

    def still_wanted(self) -> bool:
        """False once the root has collected the traces and removed the directory."""
        return os.path.isdir(self.directory)

    def release(self) -> None:
        """Remove the mark: the trace is written (or will never be)."""
        try:
            os.unlink(self.mark_path)
        except OSError:
            pass


@dataclass
class Collected:
    """What the root found of its descendants when it ended."""

    traces: List[Trace] = field(default_factory=list)  # one per descendant that saved
    still_running: List[Tuple[int, str]] = field(default_factory=list)  # (pid, command)
    ended_unsaved: List[Tuple[int, str]] = field(default_factory=list)  # killed before saving
    never_recorded: List[Tuple[int, str]] = field(default_factory=list)  # ended before recording
    unreadable: List[str] = field(default_factory=list)  # messages


class ChildTracing:
    """One run's shared directory and the options every descendant records with."""

    def __init__(self, directory: str, options: TraceOptions) -> None:
        self.directory = directory
        self.options = options

    @classmethod
    def create(cls, options: TraceOptions) -> ChildTracing:
        """The root's: a new directory holding the options for its descendants."""
        remove_stale_directories()
        directory = tempfile.mkdtemp(prefix=DIRECTORY_PREFIX)  # private to this user (mode 700)
        values = _options_to_json(options)
        with open(os.path.join(directory, SPEC_FILE), "w", encoding="utf-8") as file:
            json.dump({"options": values, "root_pid": os.getpid()}, file)
        write_boot_file(directory)
        return cls(directory, _options_from_json(values))

    @classmethod
    def load(cls, directory: str) -> Optional[ChildTracing]:
        """A descendant's view of the run started by ``directory``'s root (None: the root has ended)."""
        try:
            with open(os.path.join(directory, SPEC_FILE), encoding="utf-8") as file:
                spec = json.load(file)
            return cls(directory, _options_from_json(spec["options"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def new_slot(self, command: str) -> ChildSlot:
        """A place for this process's trace; ``command`` says which process it is in messages."""
        return ChildSlot(self.directory, f"{os.getpid()}-{time.monotonic_ns()}", command)

    # -- rewriting the commands that start this interpreter ---------------------------------------

    def command_for(self, argv: Sequence[Any]) -> Optional[List[Any]]:
        """``argv`` rewritten to run its program under ``pulsetrace run --child-of``, or None when it is
        not a Python program that this run traces (argv[0] stays: the executable is chosen apart)."""
        command = traced_program(argv)
        return None if command is None else self.rewrite(argv[0], command)

    def rewrite(self, argv0: Any, command: PythonCommand) -> List[Any]:
        """The command line that runs ``command``'s program under ``pulsetrace run --child-of``."""
        return self._rewrite(argv0, command, [CHILD_OF_FLAG, self.directory])

    def rewrite_as_root(self, argv0: Any, command: PythonCommand, output: str, quiet: bool) -> List[Any]:
        """The command line that runs ``command``'s program as this run's root, in place of the root
        that execs it: it saves the run's trace to ``output`` when it ends."""
        return self._rewrite(argv0, command, [ROOT_OF_FLAG, self.directory, output, "1" if quiet else "0"])

    def _rewrite(self, argv0: Any, command: PythonCommand, role: List[str]) -> List[Any]:
        program = command.program_words()
        if command.kind == SCRIPT:  # after "--", a script named like an option is still the script
            program = ["--", *program]
        return [
            argv0,
            *command.interpreter_options,
            "-c",
            bootstrap_code(),
            "run",
            *role,
            *program,
            *command.arguments,
        ]

    def forkserver_command(self, argv: Sequence[Any]) -> Optional[List[Any]]:
        """``argv`` rewritten to run multiprocessing's forkserver under ``pulsetrace run --forkserver-of``,
        or None when it does not start a forkserver. The server itself records nothing and nobody
        waits for it (it lives until the program has ended), but every process it forks is traced
        (pulsetrace.childrun.run_forkserver)."""
        if not argv:
            return None
        command = parse_python_command(list(argv[1:]))
        if command is None or command.kind != CODE or command.arguments:
            return None
        if not str(command.value).lstrip().startswith(_FORKSERVER_CODE_PREFIX):
            return None
        words = [bootstrap_code(), "run", FORKSERVER_OF_FLAG, self.directory, "-c", command.value]
        return [argv[0], *command.interpreter_options, "-c", *words]

    # -- the root's end -----------------------------------------------------------------------------

    def collect(
        self,
        *,
        wait_seconds: Optional[float] = None,
        waiting: Optional[Callable[[int], ContextManager[Any]]] = None,
    ) -> Collected:
        """The traces the descendants left, after waiting up to ``wait_seconds`` (default: the
        environment's PULSETRACE_CHILDREN_WAIT, else the option children_timeout's default) for those
        still running (``waiting(count)`` wraps the wait, for a progress line)."""
        if wait_seconds is None:
            wait_seconds = wait_from_environment()
        running = self._running()
        if running:
            deadline = time.monotonic() + wait_seconds
            context = waiting(len(running)) if waiting is not None else contextlib.nullcontext()
            with context:
                while running and time.monotonic() < deadline:
                    time.sleep(0.02)
                    running = self._running()
        found = Collected(still_running=running)
        for stem, pid, command in self._marks(MARK_SUFFIX):
            if not os.path.exists(os.path.join(self.directory, stem + TRACE_SUFFIX)) and not _alive(pid):
                found.ended_unsaved.append((pid, command))
        seen = self._pids_seen()
        for _, pid, command in self._marks(STARTED_SUFFIX):
            if pid not in seen and not _alive(pid):  # ended (SIGTERM while starting up?) before recording
                found.never_recorded.append((pid, command))
        from .model.native import TraceFileError, read_trace

        for name in sorted(os.listdir(self.directory), key=_by_start_then_pid):
            if not name.endswith(TRACE_SUFFIX) or name.startswith("."):
                continue
            try:
                found.traces.append(read_trace(os.path.join(self.directory, name)))
            except (TraceFileError, OSError) as exc:
                found.unreadable.append(str(exc))
        return found

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def _marks(self, suffix: str) -> List[Tuple[str, int, str]]:
        """(stem, pid, command) of every mark with ``suffix``: MARK_SUFFIX (running, recording) or
        STARTED_SUFFIX (started by a traced parent)."""
        marks = []
        try:
            names = os.listdir(self.directory)
        except OSError:
            return []
        for name in names:
            if not name.endswith(suffix):
                continue
            stem = name[: -len(suffix)]
            try:
                with open(os.path.join(self.directory, name), encoding="utf-8") as file:
                    mark = json.load(file)
                marks.append((stem, int(mark["pid"]), str(mark["command"])))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # being written or removed right now: looked at again on the next round
        return marks

    def _running(self) -> List[Tuple[int, str]]:
        """(pid, command) of the descendants that run and have not left their trace yet: those
        recording, and those started that have not begun recording (nor ended)."""
        recording = self._marks(MARK_SUFFIX)
        seen = self._pids_seen(recording)
        starting = [mark for mark in self._marks(STARTED_SUFFIX) if mark[1] not in seen]
        return [(pid, command) for _, pid, command in recording + starting if _alive(pid)]

    def _pids_seen(self, recording: Optional[List[Tuple[str, int, str]]] = None) -> Set[int]:
        """The pids that began recording: marked running, or saved."""
        marks = self._marks(MARK_SUFFIX) if recording is None else recording
        seen = {pid for _, pid, _ in marks}
        saved = [name for name in os.listdir(self.directory) if name.endswith(TRACE_SUFFIX)]
        seen.update(_by_start_then_pid(name)[1] for name in saved)
        return seen

    def note_started(self, pid: int, command: str) -> None:
        """In the parent: child ``pid`` was started and will record itself (see the module's doc)."""
        _write_mark(os.path.join(self.directory, f"{pid}{STARTED_SUFFIX}"), pid, command)


def remove_stale_directories() -> None:
    """Remove the run directories that roots killed by SIGKILL left behind (nothing else removes them):
    this user's, whose root process has ended. A root that replaced itself (os.exec*) keeps its pid."""
    temp = tempfile.gettempdir()
    try:
        names = [name for name in os.listdir(temp) if name.startswith(DIRECTORY_PREFIX)]
    except OSError:
        return
    for name in names:
        directory = os.path.join(temp, name)
        try:
            if os.lstat(directory).st_uid != os.getuid():
                continue
            with open(os.path.join(directory, SPEC_FILE), encoding="utf-8") as file:
                root_pid = int(json.load(file)["root_pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # being created right now, or not one of ours
        if root_pid > 0 and not _alive(root_pid):
            shutil.rmtree(directory, ignore_errors=True)


def _write_mark(path: str, pid: int, command: str) -> None:
    """A mark the root reads (``ChildTracing._marks``): which process, and what it runs."""
    try:
        with open(path, "w", encoding="utf-8") as file:
            json.dump({"pid": pid, "command": command}, file)
    except OSError:
        pass  # the root has ended and removed the directory: nothing waits for this process


def as_descendant(process: ProcessTrace, slot: ChildSlot, started_by: str, parent_pid: int) -> None:
    """Make a descendant's own trace ready for its slot: its name, who started it and how, and only the
    source text that the root cannot read from the files itself (see ``with_descendants``)."""
    process.name = descendant_name(process, slot, started_by)
    process.metadata["parent_pid"] = parent_pid
    process.metadata["started_by"] = started_by
    keep_sources_unreadable_elsewhere(process)


def keep_sources_unreadable_elsewhere(process: ProcessTrace) -> None:
    """Keep with a part that the root collects only the source text the root cannot read from the
    files itself (see ``with_descendants``)."""
    process.sources = SourceTexts([name for name in source_files(process) if not os.path.isfile(name)])


def save_replaced_part(run: ChildTracing, trace: Trace, command: PythonCommand) -> ChildSlot:
    """The root is about to replace itself by ``command`` (os.exec*), which takes the run over: its
    recording so far goes into a slot of ``run``, marked ``replaced_by``; the slot."""
    from .writers import save

    slot = run.new_slot(command.describe())
    process = trace.process()
    process.metadata["replaced_by"] = command.describe()
    keep_sources_unreadable_elsewhere(process)
    save(trace, slot.trace_path)
    return slot


def descendant_name(process: ProcessTrace, slot: ChildSlot, started_by: str) -> str:
    """How a traced child process is named: its multiprocessing name (``Process-1``,
    ``ForkPoolWorker-2``), else its command line (cut to 60 characters), marked ``(fork)`` for a
    plain fork."""
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is not None:
        try:
            name = str(multiprocessing.current_process().name)
        except Exception:
            name = "MainProcess"
        if name != "MainProcess":
            return name
    if started_by == "fork":
        return f"{process.name} (fork)"
    command = slot.command
    if command.startswith(_SPAWN_COMMAND):  # ended before multiprocessing gave it its name
        return "multiprocessing spawn child"
    return command if len(command) <= 60 else command[:59] + "…"


def with_descendants(trace: Trace, collected: Collected) -> Trace:
    """The root's trace with its descendants' processes after its own, all on the root's clock anchors:
    the processes of one machine share its monotonic clock, so this places them exactly. The source
    text of their files is read here, when a writer asks for it, as the root's own is: the files are
    the same, and the processes share most of them."""
    root = trace.processes[0]
    processes: List[ProcessTrace] = list(trace.processes)
    for child_trace in collected.traces:
        for process in child_trace.processes:
            process.wall_anchor_ns, process.mono_anchor_ns = root.wall_anchor_ns, root.mono_anchor_ns
            process.sources = SourceTexts(source_files(process), known=process.sources)
            processes.append(process)
    # By start: the root first, and a process that replaced itself (os.exec*) before what it became.
    processes.sort(key=lambda process: process.start_ns)
    pids = [process.pid for process in processes]
    for process in processes:
        if pids.count(process.pid) > 1:  # one pid, two programs: the second gets a pid of its own
            process.metadata.setdefault(HISTORY, []).append({"source": "os.exec* in one process"})
    give_unique_pids(processes)
    lost = lost_children(collected)
    if lost:
        root.metadata["children_lost"] = lost
    return Trace(processes)


LOST_STILL_RUNNING = "still running when the trace was saved"
LOST_UNSAVED = "ended without saving its trace (killed by SIGKILL?)"
LOST_UNRECORDED = "ended before it began recording (killed while starting up?)"
LOST_UNREADABLE = "its trace could not be read"


def lost_children(collected: Collected) -> List[Dict[str, Any]]:
    """The descendants that are not in the trace, and why: for the root's metadata
    (``children_lost``) and the end of the run."""
    lost: List[Dict[str, Any]] = [
        {"pid": pid, "command": command, "why": LOST_STILL_RUNNING}
        for pid, command in collected.still_running
    ]
    lost += [
        {"pid": pid, "command": command, "why": LOST_UNSAVED} for pid, command in collected.ended_unsaved
    ]
    lost += [
        {"pid": pid, "command": command, "why": LOST_UNRECORDED} for pid, command in collected.never_recorded
    ]
    lost += [
        {"pid": 0, "command": "", "why": f"{LOST_UNREADABLE}: {message}"} for message in collected.unreadable
    ]
    return lost


def traced_program(argv: Sequence[Any]) -> Optional[PythonCommand]:
    """What ``argv`` (a command starting this interpreter) runs, if it is a program a run traces."""
    if not argv:
        return None
    command = parse_python_command(list(argv[1:]))
    if command is None:
        return None
    if command.kind == CODE and str(command.value).lstrip().startswith(_HELPER_CODE_PREFIXES):
        return None
    if command.kind != CODE and str(command.value) == "pulsetrace":
        return None  # `python -m pulsetrace ...` traces itself as it is told
    return command


def wait_from_environment(default: float = DEFAULT_WAIT_SECONDS) -> float:
    """How long the root waits for its descendants: PULSETRACE_CHILDREN_WAIT seconds, else ``default``."""
    try:
        seconds = float(os.environ.get(WAIT_VARIABLE, default))
    except ValueError:
        return default
    return seconds if 0 <= seconds < float("inf") else default


def _by_start_then_pid(name: str) -> Tuple[int, int]:
    stem = name.split(".", 1)[0]
    pid, _, token = stem.partition("-")
    try:
        return int(token), int(pid)
    except ValueError:
        return (0, 0)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie, ended but not yet reaped by its parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass  # another user's process: it exists
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            stat = file.read()
        return stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3] != b"Z"
    except (OSError, ValueError):
        return True  # no /proc here: it exists
