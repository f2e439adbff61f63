"""Arguments, return values and the exception sink on every core and backend.

log_args / log_retval are read back from the Trace (``ThreadTrace.args`` / ``.retvals``, keyed by
record index); the exception sink is the core's contract (``CoreConfig.exception_sink``), so those
tests build the core from ``Tracer.core_config()`` with a sink that collects what it is given.
"""

from __future__ import annotations

import dataclasses
import gc
import sys
import threading
from types import CodeType
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

import pulsetrace
from corpus.harness import CoreChoice, thread_slices
from pulsetrace import cores
from pulsetrace import events as ev
from pulsetrace.model import ProcessTrace, ThreadTrace

MAIN = threading.main_thread().name


@dataclasses.dataclass
class Call:
    name: str
    is_c: bool
    enter_kind: int
    exit_kind: int
    args: Optional[str]
    retval: Optional[str]


def calls(process: ProcessTrace, thread: ThreadTrace) -> List[Call]:
    """Each slice of the thread in entry order with its recorded values, after checking that every
    args key is a Python ENTER_CALL record and every retvals key a Python EXIT_RETURN record."""
    thread_slices(process, thread)
    found: List[Call] = []
    stack: List[Call] = []
    enter_calls, python_returns = set(), set()
    for index, event in enumerate(thread.events()):
        info = process.functions[event.func]
        if event.is_enter:
            if event.kind == ev.ENTER_CALL:
                enter_calls.add(index)
            call = Call(info.name, info.kind == ev.FUNC_C, event.kind, -1, thread.args.get(index), None)
            found.append(call)
            stack.append(call)
        else:
            call = stack.pop()
            call.exit_kind = event.kind
            call.retval = thread.retvals.get(index)
            if event.kind == ev.EXIT_RETURN and info.kind == ev.FUNC_PYTHON:
                python_returns.add(index)
    assert set(thread.args) <= enter_calls, "args keyed by a record that is not a Python call's entry"
    assert set(thread.retvals) <= python_returns, "a return value keyed by another record than a return"
    return found


def record(core: CoreChoice, body: Any, **options: Any) -> Tuple[Dict[str, List[Call]], Any]:
    gc.collect()
    gc.disable()
    try:
        tracer = pulsetrace.Tracer(core=core.core, backend=core.backend, **options)
        tracer.start()
        try:
            result = body()
        finally:
            trace = tracer.stop()
    finally:
        gc.enable()
    process = trace.process()
    return {thread.name: calls(process, thread) for thread in process.threads}, result


def of(found: List[Call], name: str) -> List[Call]:
    return [c for c in found if c.name == name]


# -- log_args / log_retval ----------------------------------------------------------------------------


def signature(a, b=2, /, c=3, *rest, key, opt=None, **extra):  # type: ignore[no-untyped-def]
    inner = a
    return (inner, c)


def raises(value: int) -> int:
    raise KeyError(value)


class Point:
    def __init__(self, x: int) -> None:
        self.x = x

    def __repr__(self) -> str:
        return f"Point({self.x})"

    def moved(self, by: int) -> Point:
        return Point(self.x + by)


def test_log_args_and_retval(core: CoreChoice) -> None:
    def body() -> Any:
        first = signature(1, "two", 3, 4, 5, key=[6], z=None)
        second = signature(0, key=b"k")
        try:
            raises(9)
        except KeyError:
            pass
        moved = Point(1).moved(by=2)
        return first, second, moved.x, len("abc")

    found, result = record(core, body, log_args=True, log_retval=True)
    assert result == ((1, 3), (0, 3), 3, 3)
    main = found[MAIN]
    assert [(c.args, c.retval) for c in of(main, "signature")] == [
        ("a=1, b='two', c=3, rest=(4, 5), key=[6], opt=None, extra={'z': None}", "(1, 3)"),
        ("a=0, b=2, c=3, rest=(), key=b'k', opt=None, extra={}", "(0, 3)"),
    ]
    (raised,) = of(main, "raises")
    assert (raised.args, raised.retval, raised.exit_kind) == ("value=9", None, ev.EXIT_UNWIND)
    assert [c.args for c in of(main, "Point.__init__")] == [
        "self=<repr failed: AttributeError>, x=1",
        "self=<repr failed: AttributeError>, x=3",
    ]
    (moved,) = of(main, "Point.moved")
    assert (moved.args, moved.retval) == ("self=Point(1), by=2", "Point(3)")
    for call in main:
        if call.is_c:  # C calls never get values
            assert call.args is None and call.retval is None
    assert of(main, "builtins.len")


def test_only_the_options_asked_for(core: CoreChoice) -> None:
    found, _ = record(core, lambda: signature(1, key=2), log_args=True)
    (call,) = of(found[MAIN], "signature")
    assert call.args is not None and call.retval is None
    found, _ = record(core, lambda: signature(1, key=2), log_retval=True)
    (call,) = of(found[MAIN], "signature")
    assert call.args is None and call.retval == "(1, 3)"
    found, _ = record(core, lambda: signature(1, key=2))
    assert all(c.args is None and c.retval is None for c in found[MAIN])


def echo(limit: int) -> Iterator[int]:
    received = yield 0
    for i in range(limit):
        received = yield (received or 0) + i
    return None


def test_generators_get_args_once_and_no_retval_on_yield(core: CoreChoice) -> None:
    def body() -> List[int]:
        gen = echo(2)
        values = [next(gen), gen.send(10), gen.send(20)]
        try:
            gen.send(30)
        except StopIteration:
            pass
        return values

    found, result = record(core, body, log_args=True, log_retval=True)
    assert result == [0, 10, 21]
    slices = of(found[MAIN], "echo")
    assert [c.enter_kind for c in slices] == [ev.ENTER_CALL] + [ev.ENTER_RESUME] * 3
    assert [c.args for c in slices] == ["limit=2", None, None, None]
    assert [c.exit_kind for c in slices] == [ev.EXIT_YIELD] * 3 + [ev.EXIT_RETURN]
    assert [c.retval for c in slices] == [None, None, None, "None"]


def test_repr_limit_and_huge_values(core: CoreChoice) -> None:
    huge = list(range(1_000_000))

    def takes(value: Any) -> Any:
        return value

    def body() -> int:
        return len(takes(huge)) + len(takes("s" * 100_000))

    found, result = record(core, body, log_args=True, log_retval=True, repr_limit=12)
    assert result == 1_100_000
    assert [
        (c.args, c.retval) for c in of(found[MAIN], "test_repr_limit_and_huge_values.<locals>.takes")
    ] == [
        # the first repr_limit (12) characters of repr(), then "..."
        ("value=[0, 1, 2, 3,...", "[0, 1, 2, 3,..."),
        ("value='sssssssssss...", "'sssssssssss..."),
    ]


class Counted:
    calls = 0

    def __repr__(self) -> str:
        Counted.calls += 1
        return "c"


def spy() -> int:
    return 1


class Loud:
    """A repr that runs Python code: that code must never be recorded."""

    def __repr__(self) -> str:
        return f"Loud{spy()}"


class Broken:
    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")


def consume(*items: Any) -> int:
    return len(items)


def test_reprs_that_fail_or_run_code_never_disturb_the_program(core: CoreChoice) -> None:
    many = [Counted() for _ in range(100_000)]

    def body() -> Tuple[int, Any, Any]:
        total = consume(Broken(), Loud()) + consume(many)
        try:
            raise KeyError("pending")
        except KeyError as pending:
            total += consume(Broken())  # a repr fails while the program handles an exception
            still = sys.exc_info()[1]
            assert still is pending
        return total, Broken(), Loud()

    Counted.calls = 0
    found, (total, broken, loud) = record(core, body, log_args=True, log_retval=True)
    assert total == 2 + 1 + 1 and isinstance(broken, Broken) and isinstance(loud, Loud)
    main = found[MAIN]
    assert [c.args for c in of(main, "consume")] == [
        "items=<repr failed: RuntimeError>",
        "items=([" + ", ".join(["c"] * 33) + ",...",  # repr()'s first 100 characters
        "items=<repr failed: RuntimeError>",
    ]
    assert main[0].retval == "<repr failed: RuntimeError>"
    assert 0 < Counted.calls < 100, "the huge argument was rendered only as far as the limit"
    assert not of(main, "spy") and not of(main, "Loud.__repr__") and not of(main, "Broken.__repr__")


def test_values_of_hidden_and_short_calls_are_dropped(core: CoreChoice) -> None:
    @pulsetrace.ignore_function
    def hidden(x: int) -> int:
        return signature(x, key=x)[0]

    def body() -> int:
        return hidden(1) + signature(2, key=0)[0]

    found, result = record(core, body, log_args=True, log_retval=True, min_duration="1s")
    assert result == 3
    # Everything was shorter than 1 s and removed with its values (calls() checks the keys).
    assert MAIN not in found or not of(found[MAIN], "signature")


def test_values_in_threads(core: CoreChoice) -> None:
    def body() -> List[Any]:
        out: List[Any] = []
        worker = threading.Thread(target=lambda: out.append(signature("w", key=1)), name="values-worker")
        worker.start()
        worker.join()
        return out

    found, result = record(core, body, log_args=True, log_retval=True)
    assert result == [("w", 3)]
    (call,) = of(found["values-worker"], "signature")
    assert (call.args, call.retval) == ("a='w', b=2, c=3, rest=(), key=1, opt=None, extra={}", "('w', 3)")


# -- the exception sink -------------------------------------------------------------------------------


Seen = Tuple[str, str, int, str, bool]  # type, function, line, thread, traceback has one entry


class Sink:
    def __init__(self, fail: bool = False) -> None:
        self.seen: List[Seen] = []
        self.fail = fail

    def __call__(self, exc: BaseException, code: CodeType, lineno: int) -> None:
        tb = exc.__traceback__
        single = tb is not None and tb.tb_next is None
        self.seen.append((type(exc).__name__, code.co_name, lineno, threading.current_thread().name, single))
        if self.fail:
            raise RuntimeError("sink failure")


def run_with_sink(core: CoreChoice, body: Any, sink: Sink, **options: Any) -> Tuple[Any, Any]:
    config = pulsetrace.Tracer(core=core.core, backend=core.backend, **options).core_config()
    engine = cores.choose_core(
        core.core, core.backend, config=dataclasses.replace(config, exception_sink=sink)
    )
    engine.start()
    try:
        result = body()
    finally:
        recording = engine.stop()
    return result, recording


def raise_here() -> None:
    raise ValueError("deep")


def pass_through() -> None:
    raise_here()


RAISE_LINE = raise_here.__code__.co_firstlineno + 1
PASS_LINE = pass_through.__code__.co_firstlineno + 1


def catch() -> str:
    try:
        pass_through()
    except ValueError as exc:
        return str(exc)
    return ""


def test_exception_sink_sees_each_recorded_frame_on_the_raising_thread(core: CoreChoice) -> None:
    sink = Sink()

    def body() -> str:
        out: List[str] = []
        worker = threading.Thread(target=lambda: out.append(catch()), name="raiser")
        worker.start()
        worker.join()
        return catch() + out[0]

    result, recording = run_with_sink(core, body, sink)
    assert result == "deepdeep"
    for thread in ("raiser", MAIN):
        mine = [s for s in sink.seen if s[3] == thread and s[0] == "ValueError"]
        assert [s[:3] for s in mine] == [
            ("ValueError", "raise_here", RAISE_LINE),
            ("ValueError", "pass_through", PASS_LINE),
            ("ValueError", "catch", catch.__code__.co_firstlineno + 2),
        ]
        assert [s[4] for s in mine] == [True, False, False]  # only the raising frame has one entry
    assert not recording.warnings


def test_exception_sink_skips_hidden_paused_and_skipped_frames(core: CoreChoice) -> None:
    @pulsetrace.ignore_function
    def hidden() -> str:
        return catch()

    sink = Sink(fail=True)  # a failing sink changes nothing for the program
    tracer_box: List[Any] = []

    def body() -> Tuple[str, str]:
        return hidden(), catch()

    result, _ = run_with_sink(core, body, sink)
    assert result == ("deep", "deep")
    assert [s[1] for s in sink.seen] == ["raise_here", "pass_through", "catch"]  # the second catch() only
    del tracer_box

    sink = Sink()
    result, _ = run_with_sink(core, catch, sink, include_files=[__file__ + ".nothing"])
    assert result == "deep" and sink.seen == []  # every frame is SKIPped


def test_exception_sink_while_paused(core: CoreChoice) -> None:
    sink = Sink()
    config = pulsetrace.Tracer(core=core.core, backend=core.backend).core_config()
    engine = cores.choose_core(
        core.core, core.backend, config=dataclasses.replace(config, exception_sink=sink)
    )
    engine.start()
    try:
        engine.pause()
        paused = catch()
        engine.resume()
        running = catch()
    finally:
        engine.stop()
    assert (paused, running) == ("deep", "deep")
    assert [s[1] for s in sink.seen] == ["raise_here", "pass_through", "catch"]


def test_the_program_sees_its_exceptions_unchanged(core: CoreChoice) -> None:
    sink = Sink()
    failure = ValueError("mine")

    def body() -> None:
        raise failure

    with pytest.raises(ValueError) as caught:
        run_with_sink(core, body, sink)
    assert caught.value is failure
    assert ("ValueError", "body", body.__code__.co_firstlineno + 1, MAIN, True) in sink.seen


def test_an_existing_trace_function_is_never_displaced(core: CoreChoice) -> None:
    seen_by_other: List[str] = []

    def other_tracer(frame: Any, event: str, arg: Any) -> Any:
        seen_by_other.append(event)
        return None

    sink = Sink()
    sys.settrace(other_tracer)
    try:
        result, recording = run_with_sink(core, catch, sink)
        still = sys.gettrace()
    finally:
        sys.settrace(None)
    assert result == "deep"
    assert still is other_tracer and "call" in seen_by_other
    if core.backend == "setprofile":
        assert sink.seen == []
        assert any(
            "log_exceptions" in warning and "trace function" in warning for warning in recording.warnings
        )
    else:  # sys.monitoring's RAISE event does not need the trace function
        assert [s[1] for s in sink.seen][:3] == ["raise_here", "pass_through", "catch"]
        assert not recording.warnings
