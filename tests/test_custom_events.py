"""Custom events end to end: the API and the log_* options, read back from the Trace, from the native
file (save + load) and from the Chrome JSON, on every core where a core records."""

from __future__ import annotations

import builtins
import gc
import gzip
import io
import json
import logging
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import pulsetrace
from corpus.harness import CoreChoice
from pulsetrace.custom import log as custom_log
from pulsetrace.custom.exceptions import exception_sink
from pulsetrace.custom.printing import traced_print
from pulsetrace.custom.sparse import bind_arguments
from pulsetrace.model import Instant, ProcessTrace, Trace
from pulsetrace.model.native import read_trace
from pulsetrace.writers import save

# -- helpers ---------------------------------------------------------------------------------------


class Views:
    """One trace three ways: as recorded, loaded back from a native file, and as Chrome JSON."""

    def __init__(self, trace: Trace, tmp_path: Path) -> None:
        self.trace = trace
        native = tmp_path / "trace.pulse"
        result = save(trace, native)
        assert result.custom_events == trace.custom_event_count
        self.loaded = read_trace(native)
        chrome = tmp_path / "trace.json"
        save(trace, chrome)
        with open(chrome, encoding="utf-8") as file:
            self.chrome: Dict[str, Any] = json.load(file)
        zipped = tmp_path / "trace.json.gz"
        save(trace, zipped)
        with gzip.open(zipped, "rt", encoding="utf-8") as file:
            assert json.load(file) == self.chrome

    @property
    def process(self) -> ProcessTrace:
        return self.trace.processes[0]

    def models(self) -> Iterator[ProcessTrace]:
        """The recorded process, then the one read back from the native file (must be equal)."""
        recorded, loaded = self.trace.processes[0], self.loaded.processes[0]
        assert loaded.instants == recorded.instants
        assert loaded.counters == recorded.counters
        assert loaded.objects == recorded.objects
        assert [t.instants for t in loaded.threads] == [t.instants for t in recorded.threads]
        assert [t.spans for t in loaded.threads] == [t.spans for t in recorded.threads]
        assert [t.args for t in loaded.threads] == [t.args for t in recorded.threads]
        assert [t.retvals for t in loaded.threads] == [t.retvals for t in recorded.threads]
        yield recorded
        yield loaded

    def chrome_events(self, phase: str, **fields: Any) -> List[Dict[str, Any]]:
        return [
            e
            for e in self.chrome["traceEvents"]
            if e["ph"] == phase and all(e.get(key) == value for key, value in fields.items())
        ]

    def ts_of(self, ns: int) -> float:
        """The Chrome ts (µs, three decimals) of a monotonic ns of the only process."""
        return round((ns - self.process.start_ns) / 1000, 3)


def thread_named(process: ProcessTrace, name: str) -> Any:
    matches = [t for t in process.threads if t.name == name]
    assert len(matches) == 1, [t.name for t in process.threads]
    return matches[0]


def main_thread(process: ProcessTrace) -> Any:
    return thread_named(process, threading.main_thread().name)


def record(tracer: pulsetrace.Tracer, work: Any) -> Trace:
    tracer.start()
    try:
        work()
    finally:
        trace = tracer.stop()
    return trace


# -- instants --------------------------------------------------------------------------------------


def test_instants_of_every_scope(core: CoreChoice, tmp_path: Path) -> None:
    def work() -> None:
        pulsetrace.instant("plain")
        pulsetrace.instant("with args", {"n": 3, "items": [1, "two", None], "obj": object(), 4: 2.5})
        pulsetrace.instant("proc", scope="process")
        pulsetrace.instant("glob", {"why": "all"}, scope="global")

    before = time.monotonic_ns()
    views = Views(record(pulsetrace.Tracer(), work), tmp_path)
    native_id = threading.get_native_id()
    for process in views.models():
        thread = main_thread(process)
        assert [(i.name, i.category, i.scope, i.tid) for i in thread.instants] == [
            ("plain", "instant", "thread", native_id),
            ("with args", "instant", "thread", native_id),
        ]
        args = thread.instants[1].args
        assert args["n"] == 3 and args["items"] == [1, "two", None] and args["4"] == 2.5
        assert args["obj"].startswith("<object object at 0x")  # not JSON: kept as its repr
        assert [(i.name, i.scope, i.args) for i in process.instants] == [
            ("proc", "process", {}),
            ("glob", "global", {"why": "all"}),
        ]
        stamps = [i.ns for i in thread.instants] + [i.ns for i in process.instants]
        assert before <= min(stamps) and max(stamps) <= process.stop_ns
        assert process.call_count == sum(t.call_count for t in process.threads)  # function slices only
        assert process.custom_event_count == 4
    by_name = {e["name"]: e for e in views.chrome_events("i")}
    scopes = {name: e["s"] for name, e in by_name.items()}
    assert scopes == {"plain": "t", "with args": "t", "proc": "p", "glob": "g"}
    assert by_name["glob"]["args"] == {"why": "all"} and by_name["plain"]["cat"] == "instant"
    assert by_name["plain"]["tid"] == native_id and by_name["plain"]["pid"] == views.process.pid
    assert by_name["plain"]["ts"] == views.ts_of(main_thread(views.process).instants[0].ns)


def test_instant_checks_its_arguments_whether_or_not_tracing() -> None:
    for tracing in (False, True):
        tracer = pulsetrace.Tracer(trace_only=True)
        if tracing:
            tracer.start()
        try:
            with pytest.raises(ValueError, match="scope must be one of thread, process, global, not 'thred'"):
                pulsetrace.instant("x", scope="thred")
            with pytest.raises(TypeError, match="args must be a mapping"):
                pulsetrace.instant("x", args=[1, 2])  # type: ignore[arg-type]
        finally:
            if tracing:
                tracer.stop()


# -- counters --------------------------------------------------------------------------------------


def test_counters(core: CoreChoice, tmp_path: Path) -> None:
    queue = pulsetrace.counter("queue")

    def work() -> None:
        queue.update({"waiting": 3, "done": 0})
        queue.update({"done": 2.5})
        pulsetrace.counter("other").update({"v": -1})

    views = Views(record(pulsetrace.Tracer(), work), tmp_path)
    for process in views.models():
        assert [(c.name, c.values) for c in process.counters] == [
            ("queue", {"waiting": 3, "done": 0}),
            ("queue", {"done": 2.5}),
            ("other", {"v": -1}),
        ]
        assert all(c.tid == threading.get_native_id() for c in process.counters)
        assert [c.ns for c in process.counters] == sorted(c.ns for c in process.counters)
    chrome = views.chrome_events("C")
    assert [(e["name"], e["args"], e["cat"]) for e in chrome] == [
        ("queue", {"waiting": 3, "done": 0}, "counter"),
        ("queue", {"done": 2.5}, "counter"),
        ("other", {"v": -1}, "counter"),
    ]
    assert chrome[0]["ts"] == views.ts_of(views.process.counters[0].ns)


@pytest.mark.parametrize(
    "values, error, message",
    [
        ({"a": "3"}, TypeError, "counter 'c': the value of 'a' must be a number (int or float), not str"),
        ({"a": True}, TypeError, "the value of 'a' must be a number (int or float), not bool"),
        ({"a": None}, TypeError, "not NoneType"),
        ({"a": float("nan")}, ValueError, "the value of 'a' must be finite, not nan"),
        ({"a": float("inf")}, ValueError, "must be finite, not inf"),
        ({1: 2}, TypeError, "series names must be strings, not int"),
        ([("a", 1)], TypeError, "update() takes a mapping of series name to number, not list"),
    ],
)
def test_counter_values_are_checked(values: Any, error: type, message: str) -> None:
    for tracing in (False, True):  # the same error traced or not: a program must not fail only when traced
        tracer = pulsetrace.Tracer(trace_only=True)
        if tracing:
            tracer.start()
        try:
            with pytest.raises(error) as caught:
                pulsetrace.counter("c").update(values)
            assert message in str(caught.value)
        finally:
            if tracing:
                trace = tracer.stop()
                assert trace.processes[0].counters == []


# -- spans -----------------------------------------------------------------------------------------


def test_spans_as_context_manager_and_decorator(core: CoreChoice, tmp_path: Path) -> None:
    @pulsetrace.span("step", {"kind": "decorated"})
    def step(n: int) -> int:
        if n == 0:
            raise KeyError(n)
        return n * 2

    def work() -> None:
        with pulsetrace.span("outer", args={"file": "a.txt"}):
            with pulsetrace.span("inner"):
                assert step(2) == 4
            with pytest.raises(KeyError):
                step(0)
        reused = pulsetrace.span("again")
        with reused:
            with reused:  # the same object entered inside itself
                pass

    views = Views(record(pulsetrace.Tracer(), work), tmp_path)
    for process in views.models():
        spans = main_thread(process).spans
        assert [(s.name, s.category, s.args) for s in spans] == [
            ("step", "span", {"kind": "decorated"}),
            ("inner", "span", {}),
            ("step", "span", {"kind": "decorated", "exit": "exception"}),
            ("outer", "span", {"file": "a.txt"}),
            ("again", "span", {}),
            ("again", "span", {}),
        ]
        step_ok, inner, step_failed, outer, again_inner, again_outer = spans
        assert outer.start_ns <= inner.start_ns <= step_ok.start_ns <= step_ok.end_ns <= inner.end_ns
        assert inner.end_ns <= step_failed.start_ns <= step_failed.end_ns <= outer.end_ns
        assert again_outer.start_ns <= again_inner.start_ns <= again_inner.end_ns <= again_outer.end_ns
    chrome = [e for e in views.chrome_events("X") if e["cat"] == "span"]
    spans = main_thread(views.process).spans
    assert [(e["name"], e["args"]) for e in chrome] == [(s.name, s.args) for s in spans]
    outer = main_thread(views.process).spans[3]
    assert chrome[3]["ts"] == views.ts_of(outer.start_ns)
    assert chrome[3]["dur"] == round(outer.duration_ns / 1000, 3)


def test_span_decorator_keeps_the_function() -> None:
    @pulsetrace.span("s")
    def documented(a: int, *, b: int = 2) -> int:
        """Doc."""
        return a + b

    assert documented(1) == 3 and documented.__name__ == "documented" and documented.__doc__ == "Doc."


# -- object snapshots ------------------------------------------------------------------------------


@pulsetrace.snapshot("position", "speed", methods=["step"], when="both")
class Body:
    def __init__(self, position: int) -> None:
        self.position = position
        self.speed = 1

    def step(self) -> int:
        self.position += self.speed
        return self.position


@pulsetrace.snapshot("value", methods=["bump"], name="Slotted thing")
class Slotted:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = [1, 2]

    def bump(self) -> None:
        self.value = self.value + ["x" * 500]


def test_object_snapshots(core: CoreChoice, tmp_path: Path) -> None:
    kept: List[Any] = []

    def work() -> None:
        body = Body(10)
        assert body.step() == 11 and body.step() == 12
        body_id = id(body)
        del body
        gc.collect()
        slotted = Slotted()
        slotted.bump()
        kept.extend([body_id, slotted])

    trace = record(pulsetrace.Tracer(repr_limit=20), work)
    views = Views(trace, tmp_path)
    body_id, slotted = kept
    for process in views.models():
        body_events = [(e.phase, e.snapshot) for e in process.objects if e.id == body_id and e.name == "Body"]
        assert body_events == [
            ("N", {}),
            ("O", {"position": "10", "speed": "1"}),  # after __init__
            ("O", {"position": "10", "speed": "1"}),  # before step
            ("O", {"position": "11", "speed": "1"}),  # after step
            ("O", {"position": "11", "speed": "1"}),
            ("O", {"position": "12", "speed": "1"}),
            ("D", {}),  # collected: Body supports weak references
        ]
        slotted_events = [(e.phase, e.snapshot) for e in process.objects if e.name == "Slotted thing"]
        assert slotted_events == [  # no "D": a __slots__ class without __weakref__ cannot be watched
            ("N", {}),
            ("O", {"value": "[1, 2]"}),
            ("O", {"value": "[1, 2, '" + "x" * 12 + "..."}),  # bounded to repr_limit=20
        ]
        assert all(e.id == id(slotted) for e in process.objects if e.name == "Slotted thing")
    chrome = [e for e in views.chrome_events("O") if e["name"] == "Body"]
    assert chrome[1]["args"] == {"snapshot": {"position": "10", "speed": "1"}}
    assert chrome[0]["id"] == hex(body_id) and chrome[0]["cat"] == "object"
    assert len(views.chrome_events("N", id=hex(body_id))) == 1
    assert len(views.chrome_events("D", id=hex(body_id))) == 1
    assert views.chrome_events("D", name="Slotted thing") == []


def test_snapshot_rejects_bad_use() -> None:
    with pytest.raises(ValueError, match="when must be one of before, after, both"):
        pulsetrace.snapshot("x", when="later")
    with pytest.raises(TypeError, match="needs at least one attribute"):
        pulsetrace.snapshot()
    with pytest.raises(TypeError, match="has no method 'fly'"):

        @pulsetrace.snapshot("x", methods=["fly"])
        class Bird:
            pass


def test_snapshot_of_an_object_made_before_tracing_gets_its_creation_event(tmp_path: Path) -> None:
    body = Body(1)
    tracer = pulsetrace.Tracer(trace_only=True)
    tracer.start()
    body.step()
    pulsetrace.take_snapshot(body, "speed")
    trace = tracer.stop()
    events = [(e.phase, e.snapshot) for e in trace.processes[0].objects]
    assert events == [
        ("N", {}),
        ("O", {"position": "1", "speed": "1"}),
        ("O", {"position": "2", "speed": "1"}),
        ("O", {"speed": "1"}),
    ]


# -- logging ---------------------------------------------------------------------------------------


def test_log_handler(core: CoreChoice, tmp_path: Path) -> None:
    logger = logging.getLogger("pulsetrace.test.app")
    logger.setLevel(logging.DEBUG)
    handler = pulsetrace.LogHandler()
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.info("before tracing")

        def work() -> None:
            logger.warning("disk %d%% full", 93)
            logger.debug("détail")
            try:
                raise OSError("gone")
            except OSError:
                logger.exception("failed")

        views = Views(record(pulsetrace.Tracer(), work), tmp_path)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    for process in views.models():
        instants = main_thread(process).instants
        assert [(i.name, i.category, i.args["level"], i.args["logger"]) for i in instants] == [
            ("WARNING", "log", "WARNING", "pulsetrace.test.app"),
            ("DEBUG", "log", "DEBUG", "pulsetrace.test.app"),
            ("ERROR", "log", "ERROR", "pulsetrace.test.app"),
        ]
        assert instants[0].args["message"] == "disk 93% full"
        assert instants[1].args["message"] == "détail"
        assert instants[2].args["message"].startswith("failed\nTraceback")
        assert "OSError: gone" in instants[2].args["message"]
    chrome = [e for e in views.chrome_events("i") if e["cat"] == "log"]
    assert [e["args"]["message"] for e in chrome][:2] == ["disk 93% full", "détail"]


# -- log_print -------------------------------------------------------------------------------------


class WriteLog:
    """A file whose every write and flush is remembered, in order."""

    def __init__(self) -> None:
        self.calls: List[Tuple[str, Any]] = []

    def write(self, text: Any) -> int:
        self.calls.append(("write", text))
        return len(text)

    def flush(self) -> None:
        self.calls.append(("flush", None))


class CountedStr:
    """str() of it is counted: print must call it exactly once."""

    count = 0

    def __str__(self) -> str:
        CountedStr.count += 1
        return f"counted#{CountedStr.count}"


PRINT_CASES: List[Tuple[Tuple[Any, ...], Dict[str, Any]]] = [
    ((), {}),
    (("a",), {}),
    (("a", 1, None, 2.5, [1]), {}),
    (("a", "b"), {"sep": None, "end": None}),
    (("a", "b"), {"sep": "", "end": ""}),
    (("x", "y", "z"), {"sep": "-*-", "end": "!\n", "flush": True}),
    (("ünï", "\udcff"), {"end": "\r\n", "flush": 0}),
]


@pytest.mark.parametrize("args, kwargs", PRINT_CASES)
def test_traced_print_writes_exactly_what_print_writes(args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> None:
    original, replacement = WriteLog(), WriteLog()
    builtins.print(*args, file=original, **kwargs)
    traced_print(*args, file=replacement, **kwargs)
    assert replacement.calls == original.calls


def test_traced_print_calls_str_once_and_fails_like_print() -> None:
    CountedStr.count = 0
    out = WriteLog()
    traced_print(CountedStr(), CountedStr(), file=out)
    assert CountedStr.count == 2
    assert out.calls == [("write", "counted#1"), ("write", " "), ("write", "counted#2"), ("write", "\n")]
    for kwargs in ({"sep": 1}, {"end": b"x"}):
        with pytest.raises(TypeError) as expected:
            builtins.print("a", file=WriteLog(), **kwargs)
        with pytest.raises(TypeError) as got:
            traced_print("a", file=WriteLog(), **kwargs)
        assert str(got.value) == str(expected.value)
    with pytest.raises(TypeError, match=r"print\(\) got an unexpected keyword argument 'colour'"):
        traced_print("a", colour=1)  # type: ignore[call-arg]
    with pytest.raises(AttributeError):
        traced_print("a", file=object())
    saved = sys.stdout
    sys.stdout = None  # type: ignore[assignment]
    try:
        CountedStr.count = 0
        traced_print(CountedStr())  # like print(): no stdout, nothing evaluated, no error
        assert CountedStr.count == 0
    finally:
        sys.stdout = saved


def test_log_print(core: CoreChoice, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = builtins.print

    def program() -> None:
        print("hello", 42, sep=", ")
        print("to stderr", file=sys.stderr, end="")
        print()
        print("a\nb", flush=True)

    program()
    plain = capsys.readouterr()
    tracer = pulsetrace.Tracer(log_print=True)
    tracer.start()
    try:
        assert builtins.print is traced_print
        program()
    finally:
        trace = tracer.stop()
    traced = capsys.readouterr()
    assert builtins.print is original
    assert (traced.out, traced.err) == (plain.out, plain.err)  # byte for byte the same output
    views = Views(trace, tmp_path)
    for process in views.models():
        instants = main_thread(process).instants
        assert [(i.name, i.category, i.args) for i in instants] == [
            ("print", "print", {"text": "hello, 42"}),
            ("print", "print", {"text": "to stderr"}),
            ("print", "print", {"text": ""}),
            ("print", "print", {"text": "a\nb"}),
        ]
    texts = [e["args"]["text"] for e in views.chrome_events("i", cat="print")]
    assert texts == ["hello, 42", "to stderr", "", "a\nb"]


def test_log_print_off_leaves_print_alone() -> None:
    tracer = pulsetrace.Tracer(trace_only=True)
    tracer.start()
    try:
        assert builtins.print is not traced_print
    finally:
        trace = tracer.stop()
    assert trace.custom_event_count == 0


def test_print_replaced_by_someone_else_while_tracing_is_not_clobbered() -> None:
    tracer = pulsetrace.Tracer(trace_only=True, log_print=True)
    original = builtins.print
    tracer.start()

    def other(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)

    builtins.print = other
    try:
        tracer.stop()
        assert builtins.print is other
    finally:
        builtins.print = original


# -- log_gc ----------------------------------------------------------------------------------------


def test_log_gc(core: CoreChoice, tmp_path: Path) -> None:
    class Cycle:
        def __init__(self) -> None:
            self.me = self

    def work() -> None:
        for _ in range(10):
            Cycle()
        gc.collect()
        gc.collect(0)

    tracer = pulsetrace.Tracer(log_gc=True)
    trace = record(tracer, work)
    from pulsetrace.custom.gcevents import on_gc

    assert on_gc not in gc.callbacks
    views = Views(trace, tmp_path)
    for process in views.models():
        spans = [s for s in main_thread(process).spans if s.category == "gc"]
        assert [s.args["generation"] for s in spans[-2:]] == [2, 0]
        assert spans[-2].args["collected"] >= 10 and spans[-2].args["uncollectable"] == 0
        assert all(s.name == "gc" and s.start_ns <= s.end_ns for s in spans)
    chrome = views.chrome_events("X", cat="gc")
    assert [e["args"]["generation"] for e in chrome[-2:]] == [2, 0]


# -- log_exceptions --------------------------------------------------------------------------------


def _raise_value_error(message: str) -> None:
    raise ValueError(message)


def _passes_it_on(message: str) -> None:
    _raise_value_error(message)


class BadStr(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str for you")


def test_log_exceptions_on_the_raising_thread(core: CoreChoice, tmp_path: Path) -> None:
    caught: List[str] = []

    def in_thread() -> None:
        try:
            _passes_it_on("x" * 500)
        except ValueError:
            caught.append("worker")

    def work() -> None:
        try:
            _passes_it_on("main failure")
        except ValueError:
            caught.append("main")
        try:
            raise BadStr()
        except BadStr:
            caught.append("bad")
        worker = threading.Thread(target=in_thread, name="exc-worker")
        worker.start()
        worker.join()

    views = Views(record(pulsetrace.Tracer(log_exceptions=True, repr_limit=50), work), tmp_path)
    assert caught == ["main", "bad", "worker"]
    raise_line = _raise_value_error.__code__.co_firstlineno + 1
    where = f"{__file__}:{raise_line}"
    for process in views.models():
        main = [i for i in main_thread(process).instants if i.category == "exception"]
        # only the raising frame: not once more in _passes_it_on and in work
        assert [(i.name, i.args["type"], i.args["where"], i.args["function"]) for i in main][:1] == [
            ("ValueError", "ValueError", where, "_raise_value_error")
        ]
        assert main[0].args["message"] == "main failure"
        assert [i.args["message"] for i in main if i.name == "BadStr"] == ["<str failed: RuntimeError>"]
        assert [i.args["type"] for i in main if i.name == "BadStr"] == [f"{__name__}.BadStr"]
        assert len([i for i in main if i.name == "ValueError"]) == 1
        worker = [i for i in thread_named(process, "exc-worker").instants if i.category == "exception"]
        assert [(i.name, i.args["where"]) for i in worker] == [("ValueError", where)]
        assert worker[0].args["message"] == "x" * 50 + "..."
    assert len(views.chrome_events("i", cat="exception", name="ValueError")) == 2


def test_exception_sink_keeps_only_the_raising_frame() -> None:
    def raised() -> BaseException:
        try:
            _passes_it_on("m")
        except ValueError as exc:
            return exc
        raise AssertionError("unreachable")

    tracer = pulsetrace.Tracer(trace_only=True)
    tracer.start()
    try:
        exc = raised()  # traceback: raised -> _passes_it_on -> _raise_value_error
        exception_sink(exc, _raise_value_error.__code__, 5)
        single = ValueError("single")
        try:
            raise single
        except ValueError:
            pass
        exception_sink(single, sys._getframe().f_code, 7)
        exception_sink(ValueError("never raised"), sys._getframe().f_code, 8)
    finally:
        trace = tracer.stop()
    instants = main_thread(trace.processes[0]).instants
    assert [(i.args["message"], i.args["where"].rsplit(":", 1)[1]) for i in instants] == [("single", "7")]


def test_core_config_carries_the_sink_only_with_log_exceptions() -> None:
    assert pulsetrace.Tracer().core_config().exception_sink is None
    assert pulsetrace.Tracer(log_exceptions=True).core_config().exception_sink is exception_sink


# -- trace_only (sparse mode) ----------------------------------------------------------------------


@pulsetrace.trace_only
def sparse_add(a: int, b: int = 10, *rest: int, scale: int = 1, **extra: Any) -> int:
    return (a + b + sum(rest)) * scale


@pulsetrace.trace_only
def sparse_fail(x: Any) -> None:
    raise LookupError(x)


def _untraced_helper(n: int) -> int:
    return n + 1


def test_trace_only_records_only_decorated_functions(tmp_path: Path) -> None:
    def in_thread() -> None:
        sparse_add(1, 2)

    def work() -> None:
        assert _untraced_helper(1) == 2
        assert sparse_add(1) == 11
        assert sparse_add(1, 2, 3, 4, scale=2, tag="t") == 20
        with pytest.raises(LookupError):
            sparse_fail({"k": [1, 2]})
        worker = threading.Thread(target=in_thread, name="sparse-worker")
        worker.start()
        worker.join()

    tracer = pulsetrace.Tracer(trace_only=True)
    views = Views(record(tracer, work), tmp_path)
    label = f"sparse_add ({__file__}:{sparse_add.__wrapped__.__code__.co_firstlineno})"  # type: ignore[attr-defined]
    for process in views.models():
        assert process.functions == [] and process.event_count == 0 and process.call_count == 0
        assert process.metadata["core"] == "none"
        spans = main_thread(process).spans
        assert [(s.name, s.category, s.args) for s in spans] == [
            (label, "trace_only", {"args": "a=1, b=10, rest=(), scale=1, extra={}", "return_value": "11"}),
            (
                label,
                "trace_only",
                {"args": "a=1, b=2, rest=(3, 4), scale=2, extra={'tag': 't'}", "return_value": "20"},
            ),
            (spans[2].name, "trace_only", {"args": "x={'k': [1, 2]}", "exit": "exception"}),
        ]
        assert spans[2].name.startswith("sparse_fail (")
        worker = thread_named(process, "sparse-worker")  # a thread with custom events only still appears
        assert worker.chunks == []
        assert [s.args["args"] for s in worker.spans] == ["a=1, b=2, rest=(), scale=1, extra={}"]
    chrome = views.chrome_events("X", cat="trace_only")
    assert len(chrome) == 4 and chrome[0]["name"] == label
    assert chrome[0]["args"] == {"args": "a=1, b=10, rest=(), scale=1, extra={}", "return_value": "11"}
    assert {e["tid"] for e in views.chrome_events("M", name="thread_name")} >= {e["tid"] for e in chrome}


def test_trace_only_calls_through_when_not_sparse(core: CoreChoice) -> None:
    tracer = pulsetrace.Tracer()
    trace = record(tracer, lambda: sparse_add(2, 3))
    assert all(s.category != "trace_only" for t in trace.processes[0].threads for s in t.spans)
    assert sparse_add(2, 3) == 5  # and with no tracer at all


def test_bind_arguments_matches_inspect() -> None:
    import inspect

    def f(a: Any, b: Any = 2, /, c: Any = 3, *args: Any, d: Any, e: Any = 5, **kw: Any) -> None:
        pass

    calls: List[Tuple[Tuple[Any, ...], Dict[str, Any]]] = [
        ((1,), {"d": 4}),
        ((1, 2, 3, 4, 5), {"d": 0, "e": 1, "z": 9, "b": 8}),  # b is positional-only: it goes to **kw
        ((1,), {"c": 0, "d": 1}),
    ]
    for args, kwargs in calls:
        bound = inspect.signature(f).bind(*args, **kwargs)
        bound.apply_defaults()
        assert bind_arguments(f, f.__code__, args, kwargs) == dict(bound.arguments)


# -- pause and the cost of doing nothing -----------------------------------------------------------


def test_pause_suppresses_custom_events_of_the_paused_thread_only(tmp_path: Path) -> None:
    resumed = threading.Event()
    paused = threading.Event()

    def other() -> None:
        paused.wait()
        pulsetrace.instant("other thread, while main is paused")
        sparse_add(5)
        resumed.set()

    tracer = pulsetrace.Tracer(trace_only=True)
    tracer.start()
    try:
        worker = threading.Thread(target=other, name="unpaused")
        worker.start()
        pulsetrace.instant("before")
        tracer.pause()
        pulsetrace.instant("while paused")
        pulsetrace.counter("c").update({"v": 1})
        sparse_add(1)
        with pulsetrace.span("paused span"):
            pass
        paused.set()
        resumed.wait()
        tracer.resume()
        pulsetrace.instant("after")
        worker.join()
    finally:
        trace = tracer.stop()
    process = trace.processes[0]
    assert [i.name for i in main_thread(process).instants] == ["before", "after"]
    assert main_thread(process).spans == [] and process.counters == []
    unpaused = thread_named(process, "unpaused")
    assert [i.name for i in unpaused.instants] == ["other thread, while main is paused"]
    assert len(unpaused.spans) == 1


def test_pause_with_a_core_suppresses_custom_events(core: CoreChoice) -> None:
    tracer = pulsetrace.Tracer()
    tracer.start()
    try:
        tracer.pause()
        pulsetrace.instant("hidden")
        tracer.resume()
        pulsetrace.instant("shown")
    finally:
        trace = tracer.stop()
    assert [i.name for i in main_thread(trace.processes[0]).instants] == ["shown"]


def test_api_is_a_no_op_when_nothing_records() -> None:
    assert custom_log.active() is None and custom_log.sparse() is None
    pulsetrace.instant("nobody listens", {"a": 1}, scope="global")
    pulsetrace.counter("c").update({"v": 1})
    with pulsetrace.span("s"):
        pass
    logging.getLogger("pulsetrace.test.noop").addHandler(pulsetrace.LogHandler())
    body = Body(3)
    body.step()
    assert custom_log.active() is None
    tracer = pulsetrace.Tracer(trace_only=True)
    tracer.start()
    trace = tracer.stop()
    assert trace.custom_event_count == 0  # nothing recorded before start() leaks into the recording
    assert custom_log.active() is None


def _cost_per_call(func: Any, calls: int = 100_000) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            func(1, 2)
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def test_trace_only_costs_next_to_nothing_when_not_sparse() -> None:
    def plain(a: int, b: int) -> int:
        return a + b

    decorated = pulsetrace.trace_only(plain)
    overhead = _cost_per_call(decorated) - _cost_per_call(plain)
    assert overhead < 1e-6, f"trace_only adds {overhead * 1e9:.0f} ns per call while not tracing"
    start = time.perf_counter()
    for _ in range(100_000):
        pulsetrace.instant("x")
    assert (time.perf_counter() - start) / 100_000 < 1e-6


def test_tracer_restores_hooks_when_the_core_cannot_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from pulsetrace import cores
    from pulsetrace.custom.gcevents import on_gc

    class Broken:
        running = False

        def start(self) -> None:
            raise cores.CoreError("no tool id")

    monkeypatch.setattr(cores, "choose_core", lambda *a, **k: Broken())
    original = builtins.print
    tracer = pulsetrace.Tracer(log_print=True, log_gc=True)
    with pytest.raises(pulsetrace.TracerError, match="no tool id"):
        tracer.start()
    assert builtins.print is original and on_gc not in gc.callbacks and custom_log.active() is None


def test_custom_events_and_function_slices_share_one_clock(core: CoreChoice) -> None:
    def marked() -> None:
        pulsetrace.instant("inside")

    trace = record(pulsetrace.Tracer(), marked)
    process = trace.processes[0]
    thread = main_thread(process)
    inside = thread.instants[0].ns
    code = marked.__code__
    where = (code.co_filename, code.co_firstlineno)
    index = next(i for i, f in enumerate(process.functions) if (f.filename, f.lineno) == where)
    events = list(thread.events())
    enter = next(e.ns for e in events if e.func == index and e.is_enter)
    leave = next(e.ns for e in events if e.func == index and not e.is_enter)
    assert enter <= inside <= leave


def test_custom_event_of_a_hand_built_trace_that_is_not_json_is_an_output_error(tmp_path: Path) -> None:
    from pulsetrace.writers import OutputError

    process = ProcessTrace(1, "p", [], [], 0, 1, 0, 0)
    process.instants.append(Instant(0, "x", "instant", "process", 1, {"v": object()}))
    with pytest.raises(OutputError, match="custom events of process 1 cannot be saved"):
        save(Trace([process]), tmp_path / "t.pulse")


# -- arguments and return values through the model -------------------------------------------------


def _double(n: int) -> int:
    return n * 2


def test_args_and_retvals_reach_the_trace_and_the_native_file(core: CoreChoice, tmp_path: Path) -> None:
    trace = record(pulsetrace.Tracer(log_args=True, log_retval=True), lambda: _double(21))
    process = trace.processes[0]
    thread = main_thread(process)
    code = _double.__code__
    func = next(
        i
        for i, f in enumerate(process.functions)
        if (f.filename, f.lineno) == (code.co_filename, code.co_firstlineno)
    )
    events = list(thread.events())
    enter = next(i for i, e in enumerate(events) if e.func == func and e.is_enter)
    leave = next(i for i, e in enumerate(events) if e.func == func and not e.is_enter)
    assert thread.args[enter] == "n=21" and thread.retvals[leave] == "42"
    path = tmp_path / "t.pulse"
    save(trace, path)
    loaded = main_thread(read_trace(path).processes[0])
    assert loaded.args == thread.args and loaded.retvals == thread.retvals


def test_the_api_adds_no_function_slices_of_its_own(core: CoreChoice) -> None:
    class Plain:
        def __init__(self) -> None:
            self.x = 1

    thing = Plain()
    out = io.StringIO()  # C all the way down (a TextIOWrapper may call codecs' Python code)

    def work() -> None:
        pulsetrace.instant("i", {"a": 1})
        pulsetrace.counter("c").update({"v": 1})
        with pulsetrace.span("s"):
            print("printed", file=out)
        pulsetrace.take_snapshot(thing, "x")

    trace = record(pulsetrace.Tracer(log_print=True, log_gc=True, log_exceptions=True), work)
    process = trace.processes[0]
    names = {process.functions[e.func].name.rsplit(".", 1)[-1] for t in process.threads for e in t.events()}
    assert names == {"work"}, [
        f for f in process.functions
    ]  # no typing/abc/threading/weakref internals, no print slice
    assert out.getvalue() == "printed\n"
    thread = main_thread(process)
    mine = [e.name for e in thread.instants + thread.spans if e.category != "gc"]  # a collection may run
    assert sorted(mine) == ["i", "print", "s"] and len(process.objects) == 2
