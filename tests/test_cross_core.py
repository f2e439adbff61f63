"""The C core against its Python twin: every corpus program must give the same events in each thread.

Both cores trace each program with the same backend. Threads are matched by name; in each, the
sequence of (entry or exit, function name) must be equal, and then the same with the entry and exit
kinds. Where a known gap (corpus.harness.KNOWN_GAPS) explains a kind difference, that comparison is an
expected failure; any other difference fails. Skipped when the C extension is not built. The Python
core is also compared with itself, which keeps the corpus honest: a program whose trace varies from
run to run cannot serve as a yardstick.
"""

from __future__ import annotations

import difflib
from typing import Dict, List, Optional, Tuple

import pytest

from corpus import PROGRAMS
from corpus.harness import C_BACKENDS, CoreChoice, gap_reason, load, run_traced, thread_slices
from pulsetrace import cores
from pulsetrace import events as ev
from pulsetrace.model import ProcessTrace

Step = Tuple[str, str, str, bool]  # ("enter" | "exit", kind name or "", function name, is a C function)

# Programs whose threads wait for each other: how often a lock is polled depends on timing, so only the
# program's own functions, and the C functions they call directly, are compared.
OWN_FUNCTIONS_ONLY = {"threads"}
# The Python core's callbacks use a frame of the recursion budget, so it records a frame or two fewer.
RUNS_COLLAPSED = {"recursion_limit"}
KIND_GAPS = ("throw-exit", "throw-from-c", "close-from-c")


def steps(process: ProcessTrace, with_kinds: bool, own_file: Optional[str]) -> Dict[str, List[Step]]:
    """Each thread's entries and exits, after checking the record contract (thread_slices)."""
    by_thread: Dict[str, List[Step]] = {}
    for thread in process.threads:
        thread_slices(process, thread)
        sequence: List[Step] = []
        open_kept: List[Tuple[bool, str]] = []  # (kept, filename) of each open slice
        for event in thread.events():
            info = process.functions[event.func]
            kind = ev.KIND_NAMES[event.kind] if with_kinds else ""
            if event.is_enter:
                kept = own_file is None or info.filename == own_file
                if info.kind == ev.FUNC_C and own_file is not None:
                    kept = bool(open_kept) and open_kept[-1][1] == own_file
                open_kept.append((kept, info.filename))
                if kept:
                    sequence.append(("enter", kind, info.name, info.kind == ev.FUNC_C))
            elif open_kept.pop()[0]:
                sequence.append(("exit", kind, info.name, info.kind == ev.FUNC_C))
        if sequence:
            by_thread[thread.name] = sequence
    return by_thread


def collapse_runs(sequence: List[Step]) -> List[Step]:
    return [step for i, step in enumerate(sequence) if i == 0 or step != sequence[i - 1]]


def warm_up(name: str) -> None:
    """Run the program once untraced: first-call work (lazy imports, caches) must not be compared."""
    try:
        load(name).main()
    except SystemExit:
        pass


def traced_steps(choice: CoreChoice, name: str, with_kinds: bool) -> Dict[str, List[Step]]:
    program = load(name)
    own_file = program.__file__ if name in OWN_FUNCTIONS_ONLY else None
    by_thread = steps(run_traced(choice, program.main).process, with_kinds, own_file)
    if name in RUNS_COLLAPSED:
        by_thread = {thread: collapse_runs(sequence) for thread, sequence in by_thread.items()}
    return by_thread


def differences(left: Dict[str, List[Step]], right: Dict[str, List[Step]], labels: Tuple[str, str]) -> str:
    """A readable account of how two traces differ, or "" when they do not."""
    if sorted(left) != sorted(right):
        return f"threads differ: {labels[0]} has {sorted(left)}, {labels[1]} has {sorted(right)}"
    report = []
    for thread in sorted(left):
        if left[thread] != right[thread]:
            lines = difflib.unified_diff(
                [" ".join(map(str, step[:3])) for step in left[thread]],
                [" ".join(map(str, step[:3])) for step in right[thread]],
                *labels,
                n=2,
                lineterm="",
            )
            report.append(f"thread {thread!r}:\n" + "\n".join(list(lines)[:80]))
    return "\n".join(report)


def unwinds_as_yields(by_thread: Dict[str, List[Step]]) -> Dict[str, List[Step]]:
    """The steps as every known kind gap leaves them: a Python exit by exception looks like a yield."""
    return {
        thread: [(p, "yield" if k == "unwind" and not c else k, f, c) for p, k, f, c in sequence]
        for thread, sequence in by_thread.items()
    }


def backend_params() -> List[object]:
    return [pytest.param(backend, id=backend) for backend in cores.BACKENDS]


@pytest.fixture(params=backend_params())
def backend(request: pytest.FixtureRequest) -> str:
    if not C_BACKENDS:
        pytest.skip("the C extension pulsetrace._core is not built for this interpreter")
    if request.param not in C_BACKENDS:
        pytest.skip(f"this build of the C extension has no {request.param!r} backend")
    return str(request.param)


@pytest.mark.parametrize("name", PROGRAMS)
def test_same_nesting(name: str, backend: str) -> None:
    if name == "recursion_limit" and backend == "setprofile":
        pytest.xfail("the Python core's profile hook is removed at the recursion limit (a documented limit)")
    warm_up(name)
    python = traced_steps(CoreChoice("python", backend), name, with_kinds=False)
    c = traced_steps(CoreChoice("c", backend), name, with_kinds=False)
    assert not differences(python, c, ("python", "c"))


@pytest.mark.parametrize("name", PROGRAMS)
def test_same_kinds(name: str, backend: str) -> None:
    if name == "recursion_limit" and backend == "setprofile":
        pytest.xfail("the Python core's profile hook is removed at the recursion limit (a documented limit)")
    warm_up(name)
    python_choice, c_choice = CoreChoice("python", backend), CoreChoice("c", backend)
    python = traced_steps(python_choice, name, with_kinds=True)
    c = traced_steps(c_choice, name, with_kinds=True)
    found = differences(python, c, ("python", "c"))
    if not found:
        return
    # Is the difference all explained by known gaps? Undo what they change on both sides and look again.
    reasons = [gap_reason(c_choice, g) or gap_reason(python_choice, g) for g in KIND_GAPS]
    reasons = [reason for reason in reasons if reason]
    if reasons and not differences(unwinds_as_yields(python), unwinds_as_yields(c), ("python", "c")):
        pytest.xfail("; ".join(reasons))
    pytest.fail("the cores record different kinds:\n" + found)


@pytest.mark.filterwarnings("ignore:pulsetrace. the profile hook:RuntimeWarning")
@pytest.mark.parametrize("name", PROGRAMS)
@pytest.mark.parametrize("python_backend", cores.BACKENDS)
def test_python_core_is_repeatable(name: str, python_backend: str) -> None:
    warm_up(name)
    choice = CoreChoice("python", python_backend)
    first = traced_steps(choice, name, with_kinds=True)
    second = traced_steps(choice, name, with_kinds=True)
    assert not differences(first, second, ("first run", "second run"))
