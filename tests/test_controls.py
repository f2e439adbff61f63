"""The tracing controls on every core and backend, through the Tracer API: file filters, frozen
modules, @ignore_function (per thread), max_stack_depth, ignore_c_function, min_duration and
pause()/resume() (per thread). Each test reads the trace back (checking the record contract on the
way) and asserts which calls were recorded."""

from __future__ import annotations

import gc
import importlib
import importlib.util
import itertools
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Dict, List, Tuple

import pytest

import pulsetrace
from corpus.harness import CoreChoice, Slice, all_slices, named
from pulsetrace import events as ev

MAIN = threading.main_thread().name

INCLUDED_SOURCE = """
def leaf(x):
    return abs(x) + 1


def calls_back(cb):
    return cb(3)
"""

OTHER_SOURCE = """
def run(cb):
    total = len([1, 2])
    return total + cb(-2)


def helper():
    return 1


def wrapper(first, second):
    return helper() + first(second)
"""

_counter = itertools.count()


def load_file(path: Path) -> ModuleType:
    name = f"pulsetrace_controls_{path.stem}_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Files:
    """Two modules in two directories of tmp_path: ``inc`` (pkg_in/inc.py) and ``other``."""

    def __init__(self, root: Path) -> None:
        (root / "pkg_in").mkdir()
        (root / "pkg_out").mkdir()
        self.root = root
        self.inc_path = root / "pkg_in" / "inc.py"
        self.other_path = root / "pkg_out" / "other.py"
        self.inc_path.write_text(INCLUDED_SOURCE)
        self.other_path.write_text(OTHER_SOURCE)
        self.inc = load_file(self.inc_path)
        self.other = load_file(self.other_path)


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return Files(tmp_path)


def record(
    core: CoreChoice, body: Callable[[pulsetrace.Tracer], Any], **options: Any
) -> Tuple[Dict[str, List[Slice]], Any]:
    """Trace ``body(tracer)`` with these options; the checked slices of every thread, and its result."""
    gc.collect()
    gc.disable()  # no finalizer of unrelated garbage may run in the middle of the trace
    try:
        tracer = pulsetrace.Tracer(core=core.core, backend=core.backend, **options)
        tracer.start()
        try:
            result = body(tracer)
        finally:
            trace = tracer.stop() if tracer.running else tracer.trace
    finally:
        gc.enable()
    return all_slices(trace.process()), result


def names(slices: List[Slice]) -> List[str]:
    return [s.name for s in slices]


def tree(slices: List[Slice]) -> List[Tuple[int, str]]:
    """(depth, name) of each slice in entry order."""
    return [(s.depth, s.name) for s in slices]


# -- include_files / exclude_files --------------------------------------------------------------------


def test_include_files_records_only_those_files_even_when_called_back(core: CoreChoice, files: Files) -> None:
    def body(tracer: pulsetrace.Tracer) -> int:
        return int(files.other.run(files.inc.leaf)) + int(
            files.other.wrapper(files.inc.calls_back, files.inc.leaf)
        )

    slices, result = record(core, body, include_files=[str(files.inc_path)])
    assert result == (2 + 3) + (1 + 4)
    # run/wrapper/helper and len() (called by run) are skipped; the included callbacks are recorded
    # wherever they are called from, with the C calls they make.
    assert tree(slices[MAIN]) == [
        (0, "leaf"),
        (1, "builtins.abs"),
        (0, "calls_back"),
        (1, "leaf"),
        (2, "builtins.abs"),
    ]


SKIPPED_SOURCE = """
def through_c(items, key):
    return sorted(items, key=key) + list(map(twice, items))


def twice(x):
    return len([x, x])


def gen(cb):
    try:
        while True:
            cb((yield))
    except ValueError:
        yield "thrown"


def raises(cb):
    cb(1)
    raise ValueError("from a skipped frame")
"""


def test_skipped_code_in_every_shape_and_again_after_its_first_call(core: CoreChoice, files: Files) -> None:
    """Code outside include_files: called through C functions that call back, as a generator that
    is sent to, thrown into and closed, raising through, and three times over (on sys.monitoring the
    C core stops receiving its events after the first call: what it still gets must not unbalance
    the stack). A later recording without the filter records the same code again."""
    path = files.root / "pkg_out" / "skipped.py"
    path.write_text(SKIPPED_SOURCE)
    skipped, leaf = load_file(path), files.inc.leaf
    sorting_path = files.root / "pkg_in" / "sorting.py"
    sorting_path.write_text("def via_sorted(key, items):\n    return sorted(items, key=key)\n")
    via_sorted = load_file(sorting_path).via_sorted

    def body(tracer: pulsetrace.Tracer) -> List[Any]:
        out: List[Any] = []
        for _ in range(3):
            out.append(skipped.through_c([3, -1, 2], leaf))
            gen = skipped.gen(leaf)
            next(gen)
            gen.send(5)
            out.append(gen.throw(ValueError))
            gen.close()
            try:
                skipped.raises(leaf)
            except ValueError:
                out.append("caught")
            out.append(via_sorted(skipped.twice, [2, 1]))  # recorded C -> skipped -> C
        return out

    slices, result = record(core, body, include_files=[str(files.inc_path), str(sorting_path)])
    assert result == [[-1, 2, 3, 2, 2, 2], "thrown", "caught", [2, 1]] * 3
    once = [(0, "leaf"), (1, "builtins.abs")] * 5 + [(0, "via_sorted"), (1, "builtins.sorted")]
    assert tree(slices[MAIN]) == once * 3
    assert all(s.exit_kind == ev.EXIT_RETURN for s in slices[MAIN])

    again, _ = record(core, lambda tracer: skipped.twice(1))
    assert tree(again[MAIN])[1:] == [(1, "twice"), (2, "builtins.len")]  # under the lambda


@pytest.mark.parametrize("how", ["directory", "glob", "relative"])
def test_include_files_takes_directories_and_globs(
    core: CoreChoice, files: Files, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(files.root)
    spec = {
        "directory": str(files.root / "pkg_in"),
        "glob": str(files.root / "pkg_i*" / "*.py"),
        "relative": "pkg_in",
    }[how]
    slices, _ = record(core, lambda tracer: files.other.run(files.inc.leaf), include_files=[spec])
    assert names(slices[MAIN]) == ["leaf", "builtins.abs"]


def test_exclude_files_hides_the_whole_subtree(core: CoreChoice, files: Files) -> None:
    def body(tracer: pulsetrace.Tracer) -> int:
        return int(files.other.run(files.inc.leaf)) + int(files.inc.leaf(5))

    slices, result = record(core, body, exclude_files=[str(files.other_path)])
    assert result == 2 + 3 + 6
    # run() is hidden with everything below it, the included callback too; the direct call is not.
    main = slices[MAIN]
    assert main[0].name.endswith("body")
    assert tree(main)[1:] == [(1, "leaf"), (2, "builtins.abs")]


def test_exclude_files_by_directory(core: CoreChoice, files: Files) -> None:
    def body(tracer: pulsetrace.Tracer) -> int:
        return int(files.other.wrapper(files.inc.calls_back, files.inc.leaf))

    slices, result = record(core, body, exclude_files=[str(files.root / "pkg_out")])
    assert result == 5
    assert len(slices[MAIN]) == 1 and slices[MAIN][0].name.endswith("body")


def test_include_and_exclude_together_is_an_error(core: CoreChoice) -> None:
    with pytest.raises(pulsetrace.TracerError, match="include_files and exclude_files"):
        pulsetrace.Tracer(core=core.core, include_files=["a.py"], exclude_files=["b.py"])


def test_ignore_frozen(core: CoreChoice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))

    def import_fresh(tracer: pulsetrace.Tracer) -> Any:
        name = f"pulsetrace_frozen_probe_{next(_counter)}"
        (tmp_path / f"{name}.py").write_text("VALUE = 7\n")
        importlib.invalidate_caches()
        return importlib.import_module(name).VALUE

    def frozen(slices: Dict[str, List[Slice]]) -> List[Slice]:
        return [s for s in slices[MAIN] if s.filename.startswith("<frozen ")]

    slices, value = record(core, import_fresh)
    assert value == 7 and frozen(slices), "an import runs importlib's frozen bootstrap"
    slices, value = record(core, import_fresh, ignore_frozen=True)
    assert value == 7 and not frozen(slices)
    # SKIP, not HIDE: what the frozen code calls (the module body, C functions) is still judged alone.
    assert any(s.name == "<module>" for s in slices[MAIN])


# -- @ignore_function -----------------------------------------------------------------------------------


def shared_inner(x: int) -> int:
    return x + 1


@pulsetrace.ignore_function
def hidden_work(started: threading.Event, release: threading.Event) -> int:
    started.set()
    release.wait(10)
    return shared_inner(1) + len("ab")


def test_ignore_function_hides_in_the_calling_thread_only(core: CoreChoice) -> None:
    def body(tracer: pulsetrace.Tracer) -> int:
        started, release = threading.Event(), threading.Event()
        results: List[int] = []
        worker = threading.Thread(target=lambda: results.append(hidden_work(started, release)), name="hider")
        worker.start()
        assert started.wait(10)
        during = shared_inner(2)  # while "hider" is inside hidden_work
        release.set()
        worker.join()
        later = hidden_work(threading.Event(), release)  # hidden in the main thread too
        return results[0] + during + later

    slices, result = record(core, body)
    assert result == 4 + 3 + 4
    hider = slices["hider"]
    assert not named(hider, "hidden_work") and not named(hider, "shared_inner")
    (runner,) = [s for s in hider if s.name.endswith("<lambda>")]  # the thread itself is recorded
    assert names(runner.children) == ["list.append"]  # hidden_work and all it did are not
    main = slices[MAIN]
    assert [s.parent_name for s in named(main, "shared_inner")] == [main[0].name]
    assert main[0].name.endswith("body")
    # The second call, in the main thread, is hidden with its Event.wait, shared_inner and len().
    assert not named(main, "hidden_work")
    assert not [s for s in main if s.name == "builtins.len" and s.parent_name == "hidden_work"]


def test_ignore_function_applied_while_recording(core: CoreChoice) -> None:
    """`pulsetrace run` starts recording before the program defines its functions: a function
    decorated then is hidden from its first call on."""

    def body(tracer: pulsetrace.Tracer) -> int:
        @pulsetrace.ignore_function
        def defined_while_recording(x: int) -> int:
            return shared_inner(x) + len("abc")

        return defined_while_recording(1) + shared_inner(0)

    slices, result = record(core, body)
    assert result == 2 + 3 + 1
    assert [s.name for s in slices[MAIN] if "defined_while" in s.name or s.name == "builtins.len"] == []
    assert [s.name for s in slices[MAIN]].count("shared_inner") == 1  # the call made outside it


# -- max_stack_depth ----------------------------------------------------------------------------------


def descend(n: int) -> int:
    if n:
        return descend(n - 1) + 1
    return len("x")


def keyed(value: int) -> int:
    return -descend(value)


def test_max_stack_depth(core: CoreChoice) -> None:
    slices, result = record(core, lambda tracer: descend(6), max_stack_depth=3)
    assert result == 7
    main = slices[MAIN]
    assert max(s.depth for s in main) == 2
    assert tree(main) == [(0, tree(main)[0][1]), (1, "descend"), (2, "descend")]


def test_max_stack_depth_counts_c_calls(core: CoreChoice) -> None:
    def body(tracer: pulsetrace.Tracer) -> List[int]:
        return sorted([1, 3, 2], key=keyed)

    slices, result = record(core, body, max_stack_depth=2)
    assert result == [3, 2, 1]
    assert [(d, n) for d, n in tree(slices[MAIN])][1:] == [(1, "builtins.sorted")]
    slices, _ = record(core, body, max_stack_depth=3)
    main = slices[MAIN]
    assert tree(main)[1:] == [(1, "builtins.sorted"), (2, "keyed"), (2, "keyed"), (2, "keyed")]


def test_max_stack_depth_counts_recorded_slices_only(core: CoreChoice, files: Files) -> None:
    def body(tracer: pulsetrace.Tracer) -> int:
        # wrapper and helper (other.py) are skipped, so calls_back is the first recorded slice
        return int(files.other.wrapper(files.inc.calls_back, files.inc.leaf))

    slices, result = record(core, body, max_stack_depth=2, include_files=[str(files.inc_path)])
    assert result == 1 + 4
    assert tree(slices[MAIN]) == [(0, "calls_back"), (1, "leaf")]  # abs() would be the third


def test_max_stack_depth_is_per_thread(core: CoreChoice) -> None:
    def body(tracer: pulsetrace.Tracer) -> int:
        worker = threading.Thread(target=descend, args=(5,), name="deep")
        worker.start()
        worker.join()
        return descend(5)

    slices, result = record(core, body, max_stack_depth=4)
    assert result == 6
    assert [(d, n) for d, n in tree(slices[MAIN]) if n == "descend"] == [
        (1, "descend"),
        (2, "descend"),
        (3, "descend"),
    ]
    deep = slices["deep"]
    assert max(s.depth for s in deep) == 3  # the thread's own frames (Thread.run, ...) count too
    assert named(deep, "descend")


# -- ignore_c_function ----------------------------------------------------------------------------------


def c_heavy(tracer: pulsetrace.Tracer) -> Tuple[int, int]:
    items: List[int] = []
    for i in range(5):
        items.append(abs(-i))
    events = -1
    if sys.version_info >= (3, 12) and tracer.core is not None and tracer.core.backend == "monitoring":
        tool_id = getattr(tracer.core, "tool_id", -1)
        events = sys.monitoring.get_events(tool_id)
    return sum(sorted(items, key=shared_inner)), events


def test_ignore_c_function(core: CoreChoice) -> None:
    slices, (result, events) = record(core, c_heavy, ignore_c_function=True)
    assert result == 10
    main = slices[MAIN]
    assert not [s for s in main if s.is_c]
    assert [s.depth for s in named(main, "shared_inner")] == [1] * 5  # sorted() is not there
    if events >= 0:  # sys.monitoring: the C events are not even registered
        c_events = sys.monitoring.events.CALL | sys.monitoring.events.C_RETURN | sys.monitoring.events.C_RAISE
        assert events & c_events == 0
        assert events & sys.monitoring.events.PY_START
    slices, (_, events) = record(core, c_heavy)
    assert len(named(slices[MAIN], "builtins.abs")) == 5
    if events >= 0:
        assert events & sys.monitoring.events.CALL


# -- min_duration -------------------------------------------------------------------------------------


def quick() -> int:
    return 1


def slow() -> int:
    time.sleep(0.05)
    return quick() + len("ab")


def test_min_duration_drops_short_slices(core: CoreChoice) -> None:
    def body(tracer: pulsetrace.Tracer) -> int:
        return quick() + slow() + quick()

    slices, result = record(core, body, min_duration="20ms")
    assert result == 1 + 3 + 1
    main = slices[MAIN]
    assert [n for d, n in tree(main)][1:] == ["slow", "time.sleep"]
    assert all(s.end_ns - s.start_ns >= 20_000_000 for s in main)
    slices, _ = record(core, body)  # the same without the option: everything is there
    assert len(named(slices[MAIN], "quick")) == 3 and named(slices[MAIN], "builtins.len")


def test_min_duration_keeps_slices_open_at_stop(core: CoreChoice) -> None:
    def stopper(tracer: pulsetrace.Tracer) -> Any:
        quick()
        return tracer.stop()

    tracer = pulsetrace.Tracer(core=core.core, backend=core.backend, min_duration="10s")
    tracer.start()
    trace = stopper(tracer)
    slices = all_slices(trace.process())
    # The test function's own frame began before recording; stopper is open at stop: kept.
    kept = [s for s in slices.get(MAIN, []) if not s.is_c]
    assert [s.exit_kind for s in kept] == [ev.EXIT_STOP]
    assert kept[0].name.endswith("stopper")


# -- pause / resume -----------------------------------------------------------------------------------


def before() -> int:
    return 1


def during() -> int:
    return 2


def after() -> int:
    return 3


def test_pause_and_resume_act_on_the_calling_thread(core: CoreChoice) -> None:
    def worker(go: threading.Event, done: threading.Event) -> None:
        go.wait(10)
        during()
        done.set()

    def body(tracer: pulsetrace.Tracer) -> int:
        go, done = threading.Event(), threading.Event()
        thread = threading.Thread(target=worker, args=(go, done), name="unpaused")
        thread.start()
        total = before()
        tracer.pause()
        tracer.pause()  # already paused: nothing changes
        total += during() + len("abc")
        go.set()
        assert done.wait(10)
        tracer.resume()
        tracer.resume()  # already running: nothing changes
        total += after()
        thread.join()
        return total

    slices, result = record(core, body)
    assert result == 1 + 2 + 3 + 3
    main = slices[MAIN]
    top = main[0]
    assert top.name.endswith("body") and top.exit_kind == ev.EXIT_RETURN
    recorded = names(main)
    assert "during" not in recorded and "builtins.len" not in recorded
    assert "threading.Event.set" not in recorded and "threading.Event.wait" not in recorded
    assert named(main, "before") and named(main, "after")
    assert named(slices["unpaused"], "during"), "another thread keeps recording"


def test_pause_keeps_the_exit_of_open_slices(core: CoreChoice) -> None:
    def opened(tracer: pulsetrace.Tracer) -> int:
        tracer.pause()
        return during()

    def resumes_inside(tracer: pulsetrace.Tracer) -> int:
        tracer.resume()  # inside a call made while paused: that call stays hidden until it returns
        return after()

    def body(tracer: pulsetrace.Tracer) -> int:
        value = opened(tracer)  # entered before pause(): recorded, its exit too
        value += resumes_inside(tracer)
        return value + after()

    slices, result = record(core, body)
    assert result == 2 + 3 + 3
    main = slices[MAIN]
    assert [n.split(".")[-1] for d, n in tree(main)] == ["body", "opened", "after"]
    opened_slice = [s for s in main if s.name.endswith("opened")][0]
    assert opened_slice.children == [] and opened_slice.exit_kind == ev.EXIT_RETURN


def test_pause_needs_a_recording_tracer(core: CoreChoice) -> None:
    tracer = pulsetrace.Tracer(core=core.core, backend=core.backend)
    with pytest.raises(pulsetrace.TracerError):
        tracer.pause()
    with pytest.raises(pulsetrace.TracerError):
        tracer.resume()


# -- combinations -------------------------------------------------------------------------------------


def test_exclude_with_ignore_c_and_min_duration(core: CoreChoice, files: Files) -> None:
    def body(tracer: pulsetrace.Tracer) -> int:
        total = int(files.other.run(files.inc.leaf))  # excluded: hidden
        total += slow() + quick()
        return total

    slices, result = record(
        core, body, exclude_files=[str(files.other_path)], ignore_c_function=True, min_duration="20ms"
    )
    assert result == 5 + 3 + 1
    assert [n.split(".")[-1] for d, n in tree(slices[MAIN])] == ["body", "slow"]
