"""Behaviour specific to the C core: safe CALL-site DISABLE, good-neighbour tool ids, the clock."""

from __future__ import annotations

import builtins
import cProfile
import pstats
import sys
import time
import types
from typing import Any, Dict, List

import pytest

import pulsetrace
from pulsetrace.events import ENTER_C, EXIT_KINDS
from pulsetrace.model import Trace

_core = pytest.importorskip("pulsetrace._core")
needs_monitoring = pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring needs 3.12+")


def c_calls(trace: Trace) -> List[str]:
    process = trace.processes[0]
    return [
        process.functions[event.func].name
        for thread in process.threads
        for event in thread.events()
        if event.kind == ENTER_C
    ]


def py_calls(trace: Trace, name: str) -> int:
    process = trace.processes[0]
    return sum(
        1
        for thread in process.threads
        for event in thread.events()
        if event.is_enter and process.functions[event.func].name == name
    )


# Call sites of these functions get DISABLEd after their first (Python) callee; every test then
# makes the same site reach a C function and checks that call is still recorded.
def py_identity(x: Any) -> Any:
    return x


def apply(func: Any, x: Any) -> Any:
    return func(x)


def target(x: Any) -> Any:
    return x


def calls_target() -> Any:
    return target(-1)


def rebind_target_and_call() -> Any:
    global target
    target = abs
    return target(-2)


def calls_builtin_name() -> Any:
    return pulsetrace_test_shadow(-3)  # type: ignore[name-defined]  # noqa: F821


@pytest.fixture(autouse=True)
def restore_globals() -> Any:
    saved = target
    yield
    globals()["target"] = saved
    if hasattr(builtins, "pulsetrace_test_shadow"):
        del builtins.pulsetrace_test_shadow


def record(func: Any) -> Trace:
    tracer = pulsetrace.Tracer(core="c")
    tracer.start()
    try:
        func()
    finally:
        trace = tracer.stop()
    return trace


def test_parameter_call_site_sees_a_later_c_callee() -> None:
    trace = record(lambda: (apply(py_identity, 1), apply(py_identity, 2), apply(abs, -1)))
    assert c_calls(trace).count("builtins.abs") == 1
    assert py_calls(trace, "py_identity") == 2


def test_global_rebound_between_calls() -> None:
    def run() -> None:
        calls_target()
        calls_target()
        globals()["target"] = abs
        calls_target()

    trace = record(run)
    assert c_calls(trace).count("builtins.abs") == 1
    assert py_calls(trace, "target") == 2


def test_global_rebound_inside_the_running_function() -> None:
    trace = record(lambda: (calls_target(), calls_target(), rebind_target_and_call(), calls_target()))
    assert c_calls(trace).count("builtins.abs") == 2


def test_builtin_rebound() -> None:
    def run() -> None:
        builtins.pulsetrace_test_shadow = py_identity  # type: ignore[attr-defined]
        calls_builtin_name()
        calls_builtin_name()
        builtins.pulsetrace_test_shadow = abs  # type: ignore[attr-defined]
        calls_builtin_name()

    trace = record(run)
    assert c_calls(trace).count("builtins.abs") == 1


def test_same_code_under_other_globals() -> None:
    namespace: Dict[str, Any] = dict(globals())
    namespace["target"] = abs
    twin = types.FunctionType(calls_target.__code__, namespace)
    trace = record(lambda: (calls_target(), calls_target(), twin(), calls_target()))
    assert c_calls(trace).count("builtins.abs") == 1
    assert py_calls(trace, "target") == 3


def test_sites_disabled_in_one_session_report_in_the_next() -> None:
    record(lambda: (calls_target(), calls_target()))
    globals()["target"] = abs
    trace = record(calls_target)
    assert c_calls(trace).count("builtins.abs") == 1


def test_starts_inside_cprofile_and_both_record() -> None:
    profile = cProfile.Profile()
    profile.enable()
    trace = record(lambda: [py_identity(i) for i in range(10)])
    for i in range(5):  # after pulsetrace stops, cProfile must still be recording
        py_identity(i)
    profile.disable()
    assert py_calls(trace, "py_identity") == 10
    assert trace.processes[0].metadata["warnings"] == []
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    assert any(key[2] == "py_identity" and value[1] == 15 for key, value in stats.items())


def test_cprofile_starts_inside_pulsetrace() -> None:
    tracer = pulsetrace.Tracer(core="c")
    tracer.start()
    py_identity(-1)
    profile = cProfile.Profile()
    profile.enable()
    for i in range(7):
        py_identity(i)
    profile.disable()
    trace = tracer.stop()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    assert any(key[2] == "py_identity" and value[1] == 7 for key, value in stats.items())
    if sys.version_info >= (3, 12):
        # cProfile is a sys.monitoring tool from 3.12 on: it never touches our hook.
        assert py_calls(trace, "py_identity") == 8
        assert trace.processes[0].metadata["warnings"] == []
    else:
        # Before 3.12 there is one profile hook per thread: cProfile takes it, and the trace says so.
        assert py_calls(trace, "py_identity") >= 1
        assert "replaced pulsetrace's profile hook" in trace.processes[0].metadata["warnings"][0]


@needs_monitoring
def test_takes_a_free_tool_id_and_gives_it_back() -> None:
    monitoring = sys.monitoring  # type: ignore[attr-defined]
    before = [monitoring.get_tool(i) for i in range(6)]
    tracer = pulsetrace.Tracer(core="c")
    tracer.start()
    tool = tracer.core.tool_id  # type: ignore[union-attr]
    assert before[tool] is None
    assert monitoring.get_tool(tool) == "pulsetrace"
    tracer.stop()
    assert [monitoring.get_tool(i) for i in range(6)] == before


@needs_monitoring
def test_no_free_tool_id_is_a_clear_error_and_frees_nothing() -> None:
    monitoring = sys.monitoring  # type: ignore[attr-defined]
    taken = []
    for i in range(6):
        if monitoring.get_tool(i) is None:
            monitoring.use_tool_id(i, f"test-holder-{i}")
            taken.append(i)
    try:
        tracer = pulsetrace.Tracer(core="c")
        with pytest.raises(pulsetrace.TracerError, match="no free sys.monitoring tool id"):
            tracer.start()
        assert not tracer.running
        assert all(monitoring.get_tool(i) == f"test-holder-{i}" for i in taken)
    finally:
        for i in taken:
            monitoring.free_tool_id(i)


def test_timestamps_are_monotonic_ns_and_accurate() -> None:
    before = time.monotonic_ns()
    trace = record(lambda: time.sleep(0.02))
    after = time.monotonic_ns()
    process = trace.processes[0]
    events = list(process.threads[0].events())
    names = [process.functions[e.func].name for e in events]
    enter = events[names.index("time.sleep")]
    exit_ = next(e for e in events[names.index("time.sleep") + 1 :] if e.kind in EXIT_KINDS)
    assert before <= enter.ns <= exit_.ns <= after
    assert 20_000_000 <= exit_.ns - enter.ns <= after - before
    assert process.start_ns <= enter.ns and exit_.ns <= process.stop_ns


def test_chunks_hold_whole_records_and_nothing_is_lost() -> None:
    def many_calls() -> None:
        for i in range(200_000):  # 400k+ events: several 64k-record chunks
            py_identity(i)

    trace = record(many_calls)
    process = trace.processes[0]
    thread = process.threads[0]
    assert len(thread.chunks) > 1
    assert all(len(chunk) % 12 == 0 for chunk in thread.chunks)
    assert py_calls(trace, "py_identity") == 200_000
    assert process.metadata.get("lost_events", 0) == 0
