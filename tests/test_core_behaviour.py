"""What every core records, checked on the corpus programs and on small cases of the Tracer API.

Each test runs once per core and backend (the ``core`` fixture). ``run_traced`` traces one call and
``all_slices`` reads the trace back, checking the record contract (ordering, nesting, balance) for
every thread on the way; the tests then assert what the program did.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from typing import Any, List

import pytest

import pulsetrace
from corpus import harness
from corpus.harness import CoreChoice, Slice, all_slices, kinds, load, named, of, run_traced
from pulsetrace import cores
from pulsetrace import events as ev
from pulsetrace.model import Trace
from pulsetrace.pycore import PythonCore, c_function_name

CALL, RESUME, C_CALL = "call", "resume", "c_call"
RETURN, YIELD, UNWIND = "return", "yield", "unwind"


def qual(qualname: str) -> str:
    """The recorded name of a Python function: its qualname (from the source before 3.11)."""
    return qualname


def main_thread(run: harness.Run) -> List[Slice]:
    return all_slices(run.process)[threading.main_thread().name]


def trace_program(core: CoreChoice, name: str) -> harness.Run:
    return run_traced(core, load(name).main)


# -- the corpus -------------------------------------------------------------------------------------


def test_recursion_makes_one_slice_per_call(core: CoreChoice) -> None:
    run = trace_program(core, "recursion")
    assert run.result == 55
    slices = main_thread(run)
    fib = named(slices, "fib")
    assert len(fib) == load("recursion").FIB_CALLS == 177
    assert set(kinds(fib)) == {(CALL, RETURN)}
    assert [s.name for s in slices[:2]] == ["main", "fib"]
    assert max(s.depth for s in fib) == 10  # main, then fib(10) down to fib(1)
    assert all(s.parent is not None and s.parent.name in ("main", "fib") for s in fib)


def test_generators_resume_in_separate_slices(core: CoreChoice) -> None:
    run = trace_program(core, "generators")
    assert run.result == (6, ["a", "b"], [2, 1, 1])
    slices = main_thread(run)
    countdown, echo, chain = named(slices, "countdown"), named(slices, "echo"), named(slices, "chain")
    assert [s.enter_kind for s in countdown].count(ev.ENTER_CALL) == 3
    assert len(countdown) == 4 + 3 + 2  # each: a slice per value, plus the one that returns
    assert [ev.KIND_NAMES[s.enter_kind] for s in echo] == [CALL, RESUME, RESUME, RESUME]
    assert [ev.KIND_NAMES[s.enter_kind] for s in chain] == [CALL, RESUME, RESUME, RESUME]
    # sum() pulls the first countdown from C; next()/send() resume echo; chain delegates to countdowns.
    assert {s.parent_name for s in countdown[:4]} == {"builtins.sum"}
    assert [s.parent_name for s in echo] == [
        "builtins.next",
        "generator.send",
        "generator.send",
        "generator.send",
    ]
    assert all(s.parent in chain for s in countdown[4:])
    assert [s.exit_kind for s in countdown].count(ev.EXIT_RETURN) >= 3
    assert echo[-1].exit_kind == ev.EXIT_RETURN


def test_generator_suspensions_are_yield_exits(core: CoreChoice) -> None:
    slices = main_thread(trace_program(core, "generators"))
    assert kinds(named(slices, "echo")) == [(CALL, YIELD), (RESUME, YIELD), (RESUME, YIELD), (RESUME, RETURN)]
    assert kinds(named(slices, "chain")) == [(CALL, YIELD)] + [(RESUME, YIELD)] * 2 + [(RESUME, RETURN)]
    countdown = [exit for _, exit in kinds(named(slices, "countdown"))]
    assert countdown == [YIELD] * 3 + [RETURN] + [YIELD] * 2 + [RETURN] + [YIELD, RETURN]


def test_throw_into_generators_nesting(core: CoreChoice) -> None:
    run = trace_program(core, "gen_throw")
    assert run.result == ["closed", "abandoned"]
    slices = main_thread(run)
    fragile, cleanup, delegating = (
        named(slices, "fragile"),
        named(slices, "with_cleanup"),
        named(slices, "delegating"),
    )
    started_thrown_closed = ["builtins.next", "generator.throw", "generator.close"]
    assert [s.parent_name for s in named(slices, "guarded")] == started_thrown_closed
    assert [s.parent_name for s in named(slices, "swallowing")] == started_thrown_closed
    assert [s.parent_name for s in fragile[:2]] == ["builtins.next", "generator.throw"]
    assert [s.parent_name for s in cleanup] == ["builtins.next", "generator.close"]
    assert [s.parent_name for s in delegating] == ["builtins.next", "generator.throw"]
    # delegating() passes next() on to fragile(); its throw() goes to fragile() first, directly.
    assert len(fragile) == 4 and fragile[2].parent is delegating[0]
    assert fragile[3].parent is delegating[1].parent
    assert slices.index(fragile[3]) < slices.index(delegating[1])
    assert [c.name for c in cleanup[1].children] == ["list.append"]  # the finally block, during close()
    # The abandoned generator is closed by the interpreter while main() runs: no C call in between.
    abandoned = named(slices, "abandoned")
    assert [s.parent_name for s in abandoned] == ["main", "main"]
    assert [c.name for c in abandoned[1].children] == ["list.append"]
    # 3.13 closes a generator with no handler around its yield without resuming it.
    resumed_to_close = 0 if sys.version_info >= (3, 13) else 1
    assert [s.parent_name for s in named(slices, "bare")] == ["main"] * (1 + resumed_to_close)


def test_throw_into_generators_kinds(core: CoreChoice, known_gap: Any) -> None:
    known_gap("throw-exit")
    slices = main_thread(trace_program(core, "gen_throw"))
    closed = [(RESUME, UNWIND)]  # close(): GeneratorExit is not caught
    assert kinds(named(slices, "guarded")) == [(CALL, YIELD), (RESUME, YIELD)] + closed  # caught: yields 1
    assert kinds(named(slices, "swallowing")) == [(CALL, YIELD), (RESUME, YIELD)] + closed  # yields None
    assert kinds(named(slices, "fragile")) == [(CALL, YIELD), (RESUME, UNWIND)] * 2
    assert kinds(named(slices, "with_cleanup")) == [(CALL, YIELD), (RESUME, UNWIND)]
    assert kinds(named(slices, "delegating")) == [(CALL, YIELD), (RESUME, UNWIND)]
    throw_calls = named(slices, "generator.throw")
    assert [s.exit_kind for s in throw_calls] == [ev.EXIT_RETURN] * 2 + [ev.EXIT_UNWIND] * 2


def test_generator_closed_by_the_interpreter_kinds(core: CoreChoice, known_gap: Any) -> None:
    known_gap("throw-exit", "close-from-c")
    slices = main_thread(trace_program(core, "gen_throw"))
    assert kinds(named(slices, "abandoned")) == [(CALL, YIELD), (RESUME, UNWIND)]  # leaves by its finally
    closed = [] if sys.version_info >= (3, 13) else [(RESUME, UNWIND)]
    assert kinds(named(slices, "bare")) == [(CALL, YIELD)] + closed  # leaves from its yield point


def test_coroutines_suspend_at_await(core: CoreChoice) -> None:
    run = trace_program(core, "async_tasks")
    assert run.result == (["a", "b"], ["a:start", "b:start", "a:end", "b:end", "caught"])
    slices = main_thread(run)
    step, failing, orchestrate = named(slices, "step"), named(slices, "failing"), named(slices, "orchestrate")
    assert [ev.KIND_NAMES[s.enter_kind] for s in step] == [CALL, CALL, RESUME, RESUME]
    assert [ev.KIND_NAMES[s.enter_kind] for s in failing] == [CALL, RESUME]
    assert [ev.KIND_NAMES[s.enter_kind] for s in orchestrate] == [CALL, RESUME, RESUME]
    for piece in step + failing + orchestrate:
        assert any(a.name.endswith("run_until_complete") for a in piece.ancestors())
    assert [s.exit_kind for s in step[2:]] == [ev.EXIT_RETURN] * 2


def test_coroutines_suspend_at_await_kinds(core: CoreChoice) -> None:
    slices = main_thread(trace_program(core, "async_tasks"))
    assert kinds(named(slices, "step")) == [(CALL, YIELD)] * 2 + [(RESUME, RETURN)] * 2
    assert kinds(named(slices, "failing")) == [(CALL, YIELD), (RESUME, UNWIND)]
    assert kinds(named(slices, "orchestrate")) == [(CALL, YIELD), (RESUME, YIELD), (RESUME, RETURN)]


def test_cancelled_task(core: CoreChoice) -> None:
    run = trace_program(core, "async_cancel")
    assert run.result == ["sleeping", "cancelled"]
    slices = main_thread(run)
    canceller, sleeper = named(slices, "canceller"), named(slices, "sleeper")
    sleep, sleep0 = named(slices, "sleep"), named(slices, "__sleep0")
    assert [ev.KIND_NAMES[s.enter_kind] for s in canceller] == [CALL, RESUME, RESUME]
    assert [ev.KIND_NAMES[s.enter_kind] for s in sleeper] == [CALL, RESUME]
    assert [s.parent_name for s in sleep[:3]] == ["canceller", "sleeper", "canceller"]
    assert [s.parent for s in sleep0[:3]] == sleep[:3]
    # The task's C code throws CancelledError into the coroutine; it reaches the innermost generator
    # first, so __sleep0, sleep and sleeper resume one after the other, side by side.
    thrown = slices.index(sleep0[3])
    assert slices[thrown : thrown + 3] == [sleep0[3], sleep[3], sleeper[1]]
    assert sleep0[3].parent is sleep[3].parent is sleeper[1].parent is not None
    assert len(sleep0) == len(sleep) == 4


def test_cancelled_task_kinds(core: CoreChoice, known_gap: Any) -> None:
    known_gap("throw-exit", "throw-from-c")
    slices = main_thread(trace_program(core, "async_cancel"))
    assert kinds(named(slices, "canceller")) == [(CALL, YIELD), (RESUME, YIELD), (RESUME, RETURN)]
    assert kinds(named(slices, "sleeper")) == [(CALL, YIELD), (RESUME, UNWIND)]
    suspended_then_cancelled = [(CALL, YIELD), (CALL, YIELD), (RESUME, RETURN), (RESUME, UNWIND)]
    assert kinds(named(slices, "sleep")) == suspended_then_cancelled
    assert kinds(named(slices, "__sleep0")) == suspended_then_cancelled


def test_exception_unwinds_several_frames(core: CoreChoice) -> None:
    run = trace_program(core, "exceptions")
    assert run.result == [2, "negative: -1"]
    slices = main_thread(run)
    for name, parent in (("innermost", "middle"), ("middle", "outer"), ("outer", "main")):
        pieces = named(slices, name)
        assert len(pieces) == 2 and {s.parent_name for s in pieces} == {parent}
    assert [c.name for c in slices[0].children] == ["outer", "outer", "list.append"]


def test_exception_unwinds_several_frames_kinds(core: CoreChoice) -> None:
    slices = main_thread(trace_program(core, "exceptions"))
    for name in ("innermost", "middle", "outer"):
        assert kinds(named(slices, name)) == [(CALL, RETURN), (CALL, UNWIND)], name
    assert kinds(named(slices, "main")) == [(CALL, RETURN)]


def test_sys_exit_deep_in_the_stack(core: CoreChoice) -> None:
    run = trace_program(core, "deep_exit")
    assert run.exit_code == 3
    slices = main_thread(run)
    assert [s.name for s in slices] == ["main", "level1", "level2", "level3", "sys.exit"]
    assert [s.depth for s in slices] == [0, 1, 2, 3, 4]
    assert kinds(slices[-1:]) == [(C_CALL, UNWIND)]


def test_sys_exit_deep_in_the_stack_kinds(core: CoreChoice) -> None:
    slices = main_thread(trace_program(core, "deep_exit"))
    assert kinds(slices[:-1]) == [(CALL, UNWIND)] * 4


def test_recursion_limit(core: CoreChoice) -> None:
    if core.core == "python" and core.backend == "setprofile":
        # The documented limitation: the interpreter drops a Python profile function whose call
        # raises, and at the recursion limit calling it raises RecursionError.
        with pytest.warns(RuntimeWarning, match="profile hook .* was removed"):
            run = trace_program(core, "recursion_limit")
        slices = main_thread(run)
        assert len(named(slices, "dive")) > 100
        assert named(slices, "recovered") == []
        assert {s.exit_kind for s in named(slices, "dive")} == {ev.EXIT_STOP}
        return
    run = trace_program(core, "recursion_limit")
    assert run.result == len("still recording")
    slices = main_thread(run)
    dive = named(slices, "dive")
    assert sys.getrecursionlimit() - len(dive) < 200  # the test runner's own frames use the rest
    assert max(s.depth for s in dive) == len(dive)  # one chain: main, then dive inside dive
    [recovered] = named(slices, "recovered")
    assert recovered.parent is slices[0] and [c.name for c in recovered.children] == ["builtins.len"]


def test_recursion_limit_kinds(core: CoreChoice) -> None:
    if core.core == "python" and core.backend == "setprofile":
        pytest.skip("the Python core's profile hook is removed at the recursion limit (see above)")
    slices = main_thread(trace_program(core, "recursion_limit"))
    assert {s.exit_kind for s in named(slices, "dive")} == {ev.EXIT_UNWIND}


def test_c_functions_that_raise(core: CoreChoice) -> None:
    run = trace_program(core, "c_raise")
    assert run.result[:3] == (12, None, 2.0) and math.isnan(run.result[3]) and run.result[4:] == (1, None)
    slices = main_thread(run)
    assert kinds(named(slices, "math.sqrt")) == [(C_CALL, RETURN), (C_CALL, UNWIND)]
    assert kinds(named(slices, "dict.pop")) == [(C_CALL, RETURN), (C_CALL, UNWIND)]
    assert all(s.children == [] for s in named(slices, "parse"))  # int() is a class: not a C function
    names = {f.name for f in run.process.functions}
    assert not names & {"int", "builtins.int", "float", "builtins.float"}


def test_calls_from_c_back_into_python(core: CoreChoice) -> None:
    run = trace_program(core, "callbacks")
    assert run.result == (["a", "bb", "ccc"], [1, 4, 9], 10)
    slices = main_thread(run)
    [sorter] = named(slices, "builtins.sorted")
    assert [c.name for c in sorter.children] == ["key_length"] * 3
    assert all([g.name for g in c.children] == ["builtins.len"] for c in sorter.children)
    assert [s.parent_name for s in named(slices, "square")] == ["main"] * 3
    [reducer] = named(slices, "_functools.reduce")
    assert [c.name for c in reducer.children] == ["add"] * 3
    assert [c.name for c in slices[0].children] == ["builtins.sorted"] + ["square"] * 3 + [
        "_functools.reduce"
    ]


def test_threads_are_recorded_under_their_current_names(core: CoreChoice) -> None:
    program = load("threads")
    run = run_traced(core, program.main)
    assert run.result == [sum(i * i for i in range(10 + k)) for k in range(program.WORKERS)]
    by_thread = all_slices(run.process)
    workers = {"worker-0": 10, program.RENAMED: 11, "worker-2": 12}
    assert set(workers) | {threading.main_thread().name} <= set(by_thread)
    assert "worker-1" not in by_thread
    genexpr = qual("crunch.<locals>.<genexpr>")
    for name, n in workers.items():
        slices = by_thread[name]
        [worker] = named(slices, "worker")
        [crunch] = named(slices, "crunch")
        assert worker in crunch.ancestors()
        assert len(named(slices, genexpr)) == n + 1  # one per value, plus the one that returns
    assert named(by_thread[threading.main_thread().name], "worker") == []
    threads = {t.name: t for t in run.process.threads}
    assert threads[threading.main_thread().name].ident == threading.main_thread().ident
    assert threads[threading.main_thread().name].native_id == threading.get_native_id()
    assert len({threads[name].native_id for name in workers}) == len(workers)


def test_classes_and_methods(core: CoreChoice) -> None:
    program = load("classes")
    run = run_traced(core, program.main)
    assert run.result == (["square: 4.0", "square: 1.0"], 8, 4)
    slices = main_thread(run)
    square, shape = program.Square, program.Shape
    expected = [
        (square.__init__, 2),
        (shape.__init__, 2),
        (shape.describe, 2),
        (square.area, 2),
        (square.perimeter.fget, 1),
        (square.unit.__func__, 1),
        (square.sides, 1),
    ]
    for func, count in expected:
        pieces = of(slices, func)
        assert len(pieces) == count and {s.name for s in pieces} == {qual(func.__qualname__)}, func
    square_init = of(slices, square.__init__)
    assert [s.parent for s in of(slices, shape.__init__)] == square_init  # through super()
    assert [s.parent_name for s in of(slices, square.area)] == [qual("Shape.describe")] * 2
    names = {f.name for f in run.process.functions}
    assert not names & {"Square", "Shape", "super", "builtins.super"}  # class calls are not entries


def test_methods_of_c_types(core: CoreChoice) -> None:
    run = trace_program(core, "c_methods")
    assert run.result[0] == "alpha, beta, gamma"
    slices = main_thread(run)
    c_slices = [s for s in slices if s.is_c]
    assert all(s.parent is slices[0] and s.enter_kind == ev.ENTER_C for s in c_slices)
    assert len(named(slices, "dict.get")) == 4
    assert len(named(slices, "str.join")) == 1
    # Under sys.monitoring the CALL sees the descriptor list.append; the profile hook sees a bound
    # method, named after the instance's type (rule 3 of c_function_name).
    tags_append = "list.append" if core.backend == "monitoring" else "Tags.append"
    assert [s.name for s in c_slices if s.name.endswith(".append")] == ["list.append"] * 4 + [tags_append]


def test_c_function_names(core: CoreChoice) -> None:
    import functools
    import operator

    calls = [
        (len, ("abc",), "builtins.len"),
        (math.floor, (2.5,), "math.floor"),
        (functools.reduce, (operator.add, [1, 2]), "_functools.reduce"),
        (operator.add, (1, 2), "_operator.add"),
        (dict.fromkeys, ("ab",), "dict.fromkeys"),
        ([].append, (1,), "list.append"),
        (" ".join, (["a", "b"],), "str.join"),
        (str.upper, ("a",), "str.upper"),
        (os.getpid, (), "posix.getpid" if os.name == "posix" else "nt.getpid"),
    ]

    def call_all() -> None:
        for func, args, _ in calls:
            func(*args)

    run = run_traced(core, call_all)
    c_names = [s.name for s in main_thread(run) if s.is_c]
    assert c_names == [name for _, _, name in calls]
    assert [c_function_name(func) for func, _, _ in calls] == c_names


def test_open_slices_are_closed_at_stop(core: CoreChoice) -> None:
    tracer = core.tracer()
    traces: List[Trace] = []

    def stop_here(item: int) -> int:
        traces.append(tracer.stop())
        return item

    def innermost() -> List[int]:
        return sorted([1], key=stop_here)

    def outer() -> List[int]:
        return innermost()

    tracer.start()
    outer()
    process = traces[0].processes[0]
    slices = all_slices(process)[threading.main_thread().name]
    assert [s.name.rsplit(".", 1)[-1] for s in slices] == ["outer", "innermost", "sorted", "stop_here"]
    assert [s.exit_kind for s in slices] == [ev.EXIT_STOP] * 4
    tail = [process.functions[e.func].name for e in process.threads[0].events()][-4:]
    assert tail == [s.name for s in reversed(slices)]  # innermost first
    assert {s.end_ns for s in slices} == {process.stop_ns}


def test_open_slices_of_other_threads_are_closed_at_stop(core: CoreChoice) -> None:
    gate, parked = threading.Event(), threading.Event()
    seen_after_stop: List[Any] = []

    def waiting() -> None:
        parked.set()
        gate.wait()
        seen_after_stop.append(sys.getprofile())

    tracer = core.tracer()
    tracer.start()
    thread = threading.Thread(target=waiting, name="parked")
    thread.start()
    parked.wait()
    trace = tracer.stop()
    gate.set()
    thread.join()
    slices = all_slices(trace.processes[0])["parked"]
    [waiting_slice] = named(
        slices, qual("test_open_slices_of_other_threads_are_closed_at_stop.<locals>.waiting")
    )
    assert waiting_slice.exit_kind == ev.EXIT_STOP
    assert all(s.exit_kind == ev.EXIT_STOP for s in waiting_slice.ancestors())
    assert seen_after_stop == [None]  # a profile hook took itself out of the thread


def test_start_twice_raises(core: CoreChoice) -> None:
    tracer = core.tracer()
    tracer.start()
    try:
        with pytest.raises(pulsetrace.TracerError, match="already recording"):
            tracer.start()
        with pytest.raises(pulsetrace.TracerError, match="another pulsetrace Tracer"):
            core.tracer().start()
        assert pulsetrace.running_tracer() is tracer
    finally:
        tracer.stop()
    with pytest.raises(pulsetrace.TracerError, match="not recording"):
        tracer.stop()


def first(values: List[int]) -> int:
    return values[0]


def second(values: List[int]) -> int:
    return values[1]


def test_reuse_after_stop(core: CoreChoice) -> None:
    tracer = core.tracer()
    tracer.start()
    first([1, 2])
    trace_one = tracer.stop()
    tracer.start()
    second([1, 2])
    second([1, 2])
    trace_two = tracer.stop()
    one = all_slices(trace_one.processes[0])[threading.main_thread().name]
    two = all_slices(trace_two.processes[0])[threading.main_thread().name]
    assert [s.name for s in one] == ["first"]
    assert [s.name for s in two] == ["second", "second"]
    assert trace_one.processes[0].stop_ns <= trace_two.processes[0].start_ns
    assert tracer.trace is trace_two


def test_context_manager(core: CoreChoice) -> None:
    fib = load("recursion").fib
    with core.tracer() as tracer:
        assert tracer.running and pulsetrace.running_tracer() is tracer
        fib(5)
    assert not tracer.running and pulsetrace.running_tracer() is None
    slices = all_slices(tracer.trace.processes[0])[threading.main_thread().name]
    assert [s.name for s in slices] == ["fib"] * 15
    assert tracer.trace.processes[0].metadata["core"] == core.core


def test_core_and_backend_as_requested(core: CoreChoice) -> None:
    with pulsetrace.Tracer() as tracer:  # chosen through PULSETRACE_CORE / PULSETRACE_BACKEND
        pass
    metadata = tracer.trace.processes[0].metadata
    assert (metadata["core"], metadata["backend"]) == (core.core, core.backend)
    assert metadata["core_reason"]
    assert tracer.trace.event_count == 0  # the tracer's own start/stop path is never recorded


def test_no_pulsetrace_internals_in_the_trace(core: CoreChoice) -> None:
    package = os.path.dirname(pulsetrace.__file__)
    run = trace_program(core, "gen_throw")
    with core.tracer() as tracer:
        load("callbacks").main()
    for process in (run.process, tracer.trace.processes[0]):
        for info in process.functions:
            assert not info.filename.startswith(package), info
            assert not (info.kind == ev.FUNC_C and ("Recorder" in info.name or "pulsetrace" in info.name)), (
                info
            )


def test_timestamps_measure_time(core: CoreChoice) -> None:
    run = run_traced(core, lambda: time.sleep(0.02))
    [sleep] = named(main_thread(run), "time.sleep")
    assert 20_000_000 <= sleep.end_ns - sleep.start_ns < 2_000_000_000
    assert run.process.start_ns <= sleep.start_ns and sleep.end_ns <= run.process.stop_ns


# -- backend specifics ------------------------------------------------------------------------------


def test_thread_running_before_start_is_recorded(core: CoreChoice) -> None:
    if core.backend != "monitoring":
        pytest.skip("the profile hook reaches only the starting thread and threads started later")
    go, done = threading.Event(), threading.Event()

    def after_start() -> int:
        return 1

    def early() -> None:
        go.wait()
        after_start()
        done.set()

    thread = threading.Thread(target=early, name="early-bird")
    thread.start()
    tracer = core.tracer()
    tracer.start()
    go.set()
    done.wait()
    trace = tracer.stop()
    thread.join()
    slices = all_slices(trace.processes[0])["early-bird"]
    assert [s.name for s in slices if s.name.endswith("after_start")] == [qual(after_start.__qualname__)]


def test_monitoring_tool_ids_of_other_tools_are_left_alone(core: CoreChoice) -> None:
    if core.backend != "monitoring":
        pytest.skip("sys.monitoring backend only")
    monitoring = sys.monitoring  # type: ignore[attr-defined]
    taken = []
    try:
        for tool_id in (4, 3):
            if monitoring.get_tool(tool_id) is None:
                monitoring.use_tool_id(tool_id, "other-tool")
                taken.append(tool_id)
        assert taken, "tool ids 3 and 4 are busy already"
        monitoring.set_events(taken[0], monitoring.events.PY_START)
        with core.tracer() as tracer:
            assert tracer.core.tool_id not in (3, 4)  # type: ignore[union-attr]
            assert monitoring.get_tool(tracer.core.tool_id) == "pulsetrace"  # type: ignore[union-attr]
        assert [monitoring.get_tool(t) for t in taken] == ["other-tool"] * len(taken)
        assert monitoring.get_events(taken[0]) == monitoring.events.PY_START
        for tool_id in range(6):
            if monitoring.get_tool(tool_id) is None:
                monitoring.use_tool_id(tool_id, "other-tool")
                taken.append(tool_id)
        with pytest.raises(pulsetrace.TracerError, match="tool id"):
            core.tracer().start()
        assert [monitoring.get_tool(t) for t in taken] == ["other-tool"] * len(taken)
    finally:
        for tool_id in taken:
            monitoring.set_events(tool_id, 0)
            monitoring.free_tool_id(tool_id)


def test_setprofile_restores_previous_hooks(core: CoreChoice) -> None:
    if core.backend != "setprofile":
        pytest.skip("profile hook backend only")
    calls: List[str] = []

    def previous(frame: Any, event: str, arg: Any) -> None:
        calls.append(event)

    def previous_for_threads(frame: Any, event: str, arg: Any) -> None:
        pass

    threading.setprofile(previous_for_threads)
    sys.setprofile(previous)
    try:
        with core.tracer() as tracer:
            assert sys.getprofile() is not previous
            first([1])
        assert getattr(threading, "_profile_hook", None) is previous_for_threads
        # The contract asks only that our hook is gone; the Python core also gives the thread back
        # the profile function it had.
        assert sys.getprofile() is previous or (core.core == "c" and sys.getprofile() is None)
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    slices = all_slices(tracer.trace.processes[0])[threading.main_thread().name]
    assert [s.name for s in slices] == ["sys.getprofile", "first"]


def test_python_core_contract() -> None:
    with pytest.raises(cores.CoreError, match="not available"):
        PythonCore("no-such-backend")
    python_core = PythonCore(cores.BACKENDS[0])
    assert (python_core.name, python_core.running, python_core.tool_id) == ("python", False, -1)
    with pytest.raises(cores.CoreError, match="not recording"):
        python_core.stop()
    python_core.start()
    try:
        assert python_core.running
        with pytest.raises(cores.CoreError, match="already recording"):
            python_core.start()
    finally:
        recording = python_core.stop()
    assert not python_core.running and recording.core == "python"
    assert recording.start_ns <= recording.stop_ns


def test_leak_guard_sees_a_running_tracer(core: CoreChoice) -> None:
    tracer = core.tracer()
    tracer.start()
    try:
        assert "a pulsetrace Tracer is still recording" in harness.leaked_state()
    finally:
        tracer.stop()
    assert harness.leaked_state() == []
