"""Run corpus programs under a tracer and read the trace back as checked, nested slices."""

from __future__ import annotations

import gc
import importlib
import os
import sys
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Dict, List, Optional, Tuple

import pulsetrace
from pulsetrace import cores
from pulsetrace import events as ev
from pulsetrace.extension import c_extension
from pulsetrace.model import ProcessTrace, ThreadTrace, Trace


@dataclass(frozen=True)
class CoreChoice:
    """One core/backend combination the tests run against."""

    core: str  # "c" or "python"
    backend: str  # "monitoring" or "setprofile"

    @property
    def id(self) -> str:
        return f"{self.core}-{self.backend}"

    def tracer(self) -> pulsetrace.Tracer:
        return pulsetrace.Tracer(core=self.core, backend=self.backend)


def _c_backends() -> Tuple[str, ...]:
    """The backends of the built C extension (none when it is not built for this interpreter, or
    when PULSETRACE_TEST_CORES, e.g. "python", leaves the C core out)."""
    if "c" not in os.environ.get("PULSETRACE_TEST_CORES", "c,python").split(","):
        return ()
    module = c_extension()
    if module is None:
        return ()
    return tuple(backend for backend in module.BACKENDS if backend in cores.BACKENDS)


C_BACKENDS = _c_backends()


def core_choices() -> List[CoreChoice]:
    """Python always, C when built; each with every backend this interpreter has (default first)."""
    choices = []
    for backend in cores.BACKENDS:
        choices.append(CoreChoice("python", backend))
        if backend in C_BACKENDS:
            choices.append(CoreChoice("c", backend))
    return choices


# Where a core does not (yet) follow the record contract. A test that checks such a behaviour calls
# known_gap(name): it becomes a strict xfail for the affected core, so the gap stays visible in the
# summary and a fix turns it into a failure (XPASS) that asks for the entry here to be removed.
THROW_UNSEEN = ((3, 9), (3, 10), (3, 13))
KNOWN_GAPS = {
    "throw-exit": (
        lambda c: c.core == "c" and c.backend == "setprofile" and sys.version_info[:2] == (3, 12),
        "C core, setprofile backend on 3.12: a generator that an exception thrown in (throw(), close(), "
        "the interpreter closing it, asyncio cancelling) leaves at its yield point is recorded as "
        "EXIT_YIELD",
    ),
    "close-from-c": (
        lambda c: c.core == "python" and c.backend == "setprofile" and sys.version_info < (3, 11),
        "Python core, setprofile backend before 3.11: a freed generator that the interpreter closes, "
        "and that leaves from its yield point, looks like a resumption that yields: EXIT_YIELD",
    ),
    "throw-from-c": (
        lambda c: c.core == "python" and c.backend == "setprofile" and sys.version_info[:2] in THROW_UNSEEN,
        "Python core, setprofile backend on 3.9/3.10/3.13: an exception thrown by C code (asyncio "
        "cancelling a task) into a generator suspended at a bare yield cannot be told from a "
        "resumption, so the generator's exit is recorded as EXIT_YIELD",
    ),
}


def gap_reason(choice: CoreChoice, *names: str) -> str:
    """The reason of the first named gap that applies to ``choice``, or ""."""
    for name in names:
        applies, reason = KNOWN_GAPS[name]
        if applies(choice):
            return reason
    return ""


def load(name: str) -> ModuleType:
    return importlib.import_module(f"corpus.{name}")


@dataclass
class Run:
    """What tracing one call produced."""

    trace: Trace
    result: Any
    exit_code: Any  # SystemExit.code if the call raised SystemExit, else None

    @property
    def process(self) -> ProcessTrace:
        return self.trace.processes[0]


def run_traced(choice: CoreChoice, func: Callable[[], Any]) -> Run:
    """Trace ``func()`` and nothing else; a SystemExit it raises is caught, as a harness would."""
    gc.collect()
    gc.disable()  # no finalizer of unrelated garbage may run in the middle of the trace
    try:
        tracer = choice.tracer()
        result = exit_code = None
        tracer.start()
        try:
            result = func()
        except SystemExit as exc:
            exit_code = exc.code
        finally:
            trace = tracer.stop()
    finally:
        gc.enable()
    return Run(trace, result, exit_code)


@dataclass(eq=False)
class Slice:
    """One entry and the exit that closed it."""

    func: int
    name: str
    filename: str
    lineno: int
    is_c: bool
    enter_kind: int
    start_ns: int
    parent: Optional[Slice]
    exit_kind: int = -1
    end_ns: int = -1
    children: List[Slice] = field(default_factory=list)

    @property
    def parent_name(self) -> str:
        return "" if self.parent is None else self.parent.name

    @property
    def depth(self) -> int:
        return 0 if self.parent is None else self.parent.depth + 1

    def ancestors(self) -> List[Slice]:
        found, node = [], self.parent
        while node is not None:
            found.append(node)
            node = node.parent
        return found


def thread_slices(process: ProcessTrace, thread: ThreadTrace) -> List[Slice]:
    """The thread's slices in entry order, after checking the record contract on the way:
    timestamps ordered and inside the recording, every exit closing the innermost open entry,
    entry kinds matching function kinds, nothing left open, EXIT_STOP only at the stop time."""
    slices: List[Slice] = []
    stack: List[Slice] = []
    last_ns = process.start_ns
    for index, event in enumerate(thread.events()):
        where = f"thread {thread.name!r}, record {index}"
        latest = process.stop_ns
        assert last_ns <= event.ns <= latest, f"{where}: time {event.ns} before {last_ns} or after {latest}"
        last_ns = event.ns
        info = process.functions[event.func]
        if event.is_enter:
            assert (event.kind == ev.ENTER_C) == (info.kind == ev.FUNC_C), (
                f"{where}: {info} entered as {event}"
            )
            parent = stack[-1] if stack else None
            is_c = info.kind == ev.FUNC_C
            piece = Slice(
                event.func, info.name, info.filename, info.lineno, is_c, event.kind, event.ns, parent
            )
            if parent is not None:
                parent.children.append(piece)
            slices.append(piece)
            stack.append(piece)
            continue
        assert stack, f"{where}: exit of {info.name} with nothing open"
        top = stack.pop()
        assert top.func == event.func, f"{where}: exit of {info.name} closes {top.name}"
        assert not (top.is_c and event.kind == ev.EXIT_YIELD), f"{where}: C function {top.name} yielded"
        if event.kind == ev.EXIT_STOP:
            assert event.ns == process.stop_ns, f"{where}: EXIT_STOP at {event.ns}, not at {process.stop_ns}"
        top.exit_kind, top.end_ns = event.kind, event.ns
    assert not stack, f"thread {thread.name!r}: {[s.name for s in stack]} never closed"
    stopped = [s.exit_kind == ev.EXIT_STOP for s in sorted(slices, key=lambda s: s.end_ns)]
    assert stopped == sorted(stopped), f"thread {thread.name!r}: a slice closed after one closed by stop"
    return slices


def all_slices(process: ProcessTrace) -> Dict[str, List[Slice]]:
    """Checked slices of every thread, by thread name (names must be unique)."""
    by_thread: Dict[str, List[Slice]] = {}
    for thread in process.threads:
        assert thread.name not in by_thread, f"two threads named {thread.name!r}"
        by_thread[thread.name] = thread_slices(process, thread)
    return by_thread


def named(slices: List[Slice], name: str) -> List[Slice]:
    return [s for s in slices if s.name == name]


def of(slices: List[Slice], func: Any) -> List[Slice]:
    """The slices of a Python function, found by where its code is (names differ across versions)."""
    code = func.__code__
    return [s for s in slices if (s.filename, s.lineno) == (code.co_filename, code.co_firstlineno)]


def kinds(slices: List[Slice]) -> List[Tuple[str, str]]:
    """(entry kind, exit kind) names of each slice, in order."""
    return [(ev.KIND_NAMES[s.enter_kind], ev.KIND_NAMES[s.exit_kind]) for s in slices]


def leaked_state() -> List[str]:
    """What a test left behind that it should not have: a running tracer, a profile hook or a
    sys.monitoring tool id of ours. Empty when everything was cleaned up."""
    import sys
    import threading

    problems = []
    tracer = pulsetrace.running_tracer()
    if tracer is not None:
        problems.append(
            "a pulsetrace Tracer is still recording" if tracer.running else "a stale running_tracer()"
        )
    if sys.getprofile() is not None:
        problems.append(f"sys.getprofile() is {sys.getprofile()!r}")
    if getattr(threading, "_profile_hook", None) is not None:
        problems.append("threading.setprofile() hook left installed")
    if sys.gettrace() is not None and "pulsetrace" in getattr(sys.gettrace(), "__module__", ""):
        problems.append(f"sys.gettrace() is pulsetrace's {sys.gettrace()!r}")
    if sys.version_info >= (3, 12):
        ours = ("pulsetrace", "pulsetrace lines", "pulsetrace-live")
        held = [i for i in range(6) if sys.monitoring.get_tool(i) in ours]
        if held:
            problems.append(f"sys.monitoring tool ids {held} still held by pulsetrace")
    return problems
