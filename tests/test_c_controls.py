"""C-core specifics of the tracing controls: the C bounded repr against reprs.py, which sys.monitoring
events the C core registers, Recorder-level values and pause, and the Chrome JSON twins with args."""

from __future__ import annotations

import io
import random
import sys
import threading
from typing import Any, Dict, List, Optional

import pytest

from pulsetrace import codec, reprs
from pulsetrace.cores import CoreConfig, choose_core
from pulsetrace.events import ENTER_C, ENTER_CALL, EXIT_RETURN, EXIT_STOP, EXIT_UNWIND, RECORD, pack
from pulsetrace.extension import c_extension

_core = c_extension()
pytestmark = pytest.mark.skipif(_core is None, reason="the C extension pulsetrace._core is not built")
needs_monitoring = pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring needs 3.12+")


# -- the C bounded repr is reprs.bounded_repr ---------------------------------------------------------


class Broken:
    def __repr__(self) -> str:
        raise ValueError("no repr")


class NotAString:
    def __repr__(self) -> Any:
        return 5


class Long:
    def __repr__(self) -> str:
        return "L" * 500


class MyList(list):  # type: ignore[type-arg]
    pass


class MyStr(str):
    pass


class MyDict(dict):  # type: ignore[type-arg]
    pass


def _values() -> List[Any]:
    looped: List[Any] = [1, 2]
    looped.append(looped)
    mapping: Dict[str, Any] = {"a": 1}
    mapping["self"] = mapping
    nested: List[Any] = []
    current = nested
    for _ in range(300):
        deeper: List[Any] = []
        current.append(deeper)
        current = deeper
    pair: List[Any] = [[1], 2]
    tuple_loop = ([pair],)
    pair.append(tuple_loop)
    rng = random.Random(7)
    return [
        None,
        True,
        False,
        0,
        -1,
        7,
        2**62,
        -(2**63),
        2**64,
        10**50,
        -(10**30),
        3.5,
        -0.0,
        float("inf"),
        float("nan"),
        1e300,
        1e-7,
        1j,
        "",
        "abc",
        "it's",
        'say "hi"',
        "both ' and \"",
        "back\\slash",
        "tab\tnl\n",
        "\x00\x7f\x80",
        "ünïcode",
        "日本語" * 50,
        "\ud800 lone surrogate",
        "😀" * 200,
        "x" * 1000,
        "'" * 300,
        '"' * 300,
        "é" * 99,
        b"",
        b"bytes",
        b"it's",
        b"both ' and \"",
        b"\x00\xff" * 100,
        b"q" * 1000,
        [],
        (),
        {},
        set(),
        frozenset(),
        [1],
        (1,),
        (1, 2),
        {1},
        frozenset({1, 2}),
        {"k": "v", 1: [2, 3]},
        list(range(100_000)),
        tuple(range(10_000)),
        set(range(1000)),
        {i: str(i) for i in range(1000)},
        [rng.random() for _ in range(100)],
        [rng.randrange(-(10**9), 10**9) for _ in range(100)],
        [[1, 2], [3, [4, 5]]],
        looped,
        mapping,
        nested,
        tuple_loop,
        [Broken()],
        Broken(),
        NotAString(),
        [NotAString()],
        Long(),
        [Long(), 1],
        {"a": Broken()},
        {1: (2, "x" * 200)},
        MyList([1, 2]),
        MyStr("sub"),
        MyDict(a=1),
        [MyList([3])],
        [b"x" * 300, "y" * 300],
        ["a" * 40, "b" * 40, "c" * 40],
        ("é" * 60, 1),
        {"x" * 95: 1},
        {"x" * 97: "y" * 10},
        {"k" * 98: "v"},
        {"k" * 99: "v"},
        {"k" * 100: "v"},
        [1.5] * 50,
        [None, True, 2.5, "s"] * 30,
        range(10),
        object,
        len,
        type,
        threading.Lock,
        {frozenset({1}): {(): []}},
    ]


LIMITS = [0, 1, 2, 3, 5, 10, 12, 50, 99, 100, 101, 200, 1000]


@pytest.mark.parametrize("limit", LIMITS)
def test_c_repr_equals_reprs_bounded_repr(limit: int) -> None:
    assert _core is not None
    for value in _values():
        assert _core.bounded_repr(value, limit) == reprs.bounded_repr(value, limit), (type(value), limit)


def test_c_repr_keeps_the_pending_exception() -> None:
    assert _core is not None
    try:
        raise KeyError("pending")
    except KeyError as pending:
        assert _core.bounded_repr(Broken(), 10) == "<repr failed: ValueError>"
        assert sys.exc_info()[1] is pending


def test_c_repr_of_a_huge_list_stops_early() -> None:
    assert _core is not None
    calls = []

    class Counted:
        def __repr__(self) -> str:
            calls.append(1)
            return "c"

    many = [Counted() for _ in range(100_000)]
    assert _core.bounded_repr(many, 20) == reprs.bounded_repr(many, 20)
    assert 0 < len(calls) < 50


# -- values recorded through the Recorder --------------------------------------------------------------


def _records(chunks: List[bytes]) -> List[Any]:
    data = b"".join(chunks)
    return [RECORD.unpack_from(data, i) for i in range(0, len(data), RECORD.size)]


def callee(items: List[int], label: str, *rest: Any, flag: bool = False, **extra: Any) -> int:
    return len(items)


def caller() -> int:
    return callee(list(range(50)), "it's", 1, flag=True, z=None) + callee([], "b")


@pytest.mark.parametrize(
    "backend", ["monitoring", "setprofile"] if sys.version_info >= (3, 12) else ["setprofile"]
)
def test_args_and_retvals_text_equals_reprs(backend: str) -> None:
    config = CoreConfig(log_args=True, log_retval=True, repr_limit=30)
    core = choose_core("c", backend, config=config)
    core.start()
    caller()
    recording = core.stop()
    (thread,) = [t for t in recording.threads if t.ident == threading.get_ident()]
    names = {i: f.name for i, f in enumerate(recording.functions)}
    records = _records(thread.chunks)
    entered = [
        i for i, (stamp, func) in enumerate(records) if stamp & 7 == ENTER_CALL and names[func] == "callee"
    ]
    values = [
        (list(range(50)), "it's", (1,), True, {"z": None}),
        ([], "b", (), False, {}),
    ]
    names_of = reprs.argument_names(callee.__code__)
    for index, (items, label, rest, flag, extra) in zip(entered, values):
        local = {"items": items, "label": label, "rest": rest, "flag": flag, "extra": extra}
        assert thread.args[index] == reprs.format_arguments(names_of, local.__getitem__, 30)
    returned = [
        i for i, (stamp, func) in enumerate(records) if stamp & 7 == EXIT_RETURN and names[func] == "callee"
    ]
    assert [thread.retvals[i] for i in returned] == ["50", "0"]
    assert all(names[records[i][1]] != "builtins.len" for i in list(thread.args) + list(thread.retvals))


# -- sys.monitoring registration ----------------------------------------------------------------------


@needs_monitoring
@pytest.mark.parametrize("ignore_c", [False, True])
def test_c_events_are_not_registered_with_ignore_c_function(ignore_c: bool) -> None:
    monitoring = sys.monitoring
    core = choose_core("c", "monitoring", config=CoreConfig(ignore_c_function=ignore_c))
    core.start()
    try:
        tool = core.tool_id  # type: ignore[attr-defined]
        mask = monitoring.get_events(tool)
        callbacks = {
            name: monitoring.register_callback(tool, getattr(monitoring.events, name), None)
            for name in ("CALL", "C_RETURN", "C_RAISE", "PY_START", "RAISE")
        }
        for name, callback in callbacks.items():  # put them back
            monitoring.register_callback(tool, getattr(monitoring.events, name), callback)
    finally:
        core.stop()
    c_events = monitoring.events.CALL | monitoring.events.C_RETURN | monitoring.events.C_RAISE
    assert bool(mask & c_events) is not ignore_c
    assert (callbacks["CALL"] is None) is ignore_c and (callbacks["C_RETURN"] is None) is ignore_c
    assert callbacks["PY_START"] is not None
    assert callbacks["RAISE"] is None and not mask & monitoring.events.RAISE  # no exception sink given


@needs_monitoring
def test_raise_is_registered_only_with_an_exception_sink() -> None:
    seen: List[Any] = []

    def sink(exc: BaseException, code: Any, lineno: int) -> None:
        seen.append((type(exc), code.co_name))

    def fails() -> None:
        raise KeyError(1)

    core = choose_core("c", "monitoring", config=CoreConfig(exception_sink=sink))
    core.start()
    try:
        assert sys.monitoring.get_events(core.tool_id) & sys.monitoring.events.RAISE  # type: ignore[attr-defined]
        try:
            fails()
        except KeyError:
            pass
    finally:
        core.stop()
    assert (KeyError, "fails") in seen


def test_setprofile_exception_sink_keeps_an_existing_trace_function() -> None:
    seen: List[Any] = []
    events: List[str] = []

    def other_tracer(frame: Any, event: str, arg: Any) -> Any:
        events.append(event)
        return None

    def fails() -> None:
        raise KeyError(1)

    core = choose_core("c", "setprofile", config=CoreConfig(exception_sink=lambda *a: seen.append(a)))
    previous = sys.gettrace()
    sys.settrace(other_tracer)
    try:
        core.start()
        try:
            fails()
        except KeyError:
            pass
        recording = core.stop()
        assert sys.gettrace() is other_tracer
    finally:
        sys.settrace(previous)
    assert not seen and events
    assert any("trace function" in warning for warning in recording.warnings)


def test_setprofile_exception_sink_sees_raises_in_new_threads() -> None:
    seen: List[Any] = []

    def sink(exc: BaseException, code: Any, lineno: int) -> None:
        seen.append((threading.current_thread().name, code.co_name, lineno))

    def fails() -> None:
        raise KeyError(1)

    def run() -> None:
        try:
            fails()
        except KeyError:
            pass

    core = choose_core("c", "setprofile", config=CoreConfig(exception_sink=sink))
    core.start()
    try:
        worker = threading.Thread(target=run, name="worker")
        worker.start()
        worker.join()
        run()
    finally:
        recording = core.stop()
    assert sys.gettrace() is None
    assert ("worker", "fails", fails.__code__.co_firstlineno + 1) in seen
    assert (threading.current_thread().name, "fails", fails.__code__.co_firstlineno + 1) in seen
    assert not recording.warnings


def test_pause_and_resume_on_the_recorder_are_per_thread_and_idempotent() -> None:
    core = choose_core("c")
    core.pause()  # not recording: a no-op
    core.start()
    core.pause()
    core.pause()
    caller()
    core.resume()
    core.resume()
    caller()
    recording = core.stop()
    names = [recording.functions[func].name for _, func in _records(recording.threads[-1].chunks)]
    assert names.count("caller") == 2  # the paused call left no slice: one entry and one exit


# -- the Chrome JSON twins with args / retvals ---------------------------------------------------------


def _script() -> List[bytes]:
    ns = 1_000_000
    records = []
    stack: List[int] = []
    rng = random.Random(3)
    for _ in range(400):
        ns += rng.randrange(1, 5000)
        if stack and rng.random() < 0.45:
            kind = rng.choice([EXIT_RETURN, EXIT_RETURN, EXIT_UNWIND])
            records.append(pack(ns, kind, stack.pop()))
        else:
            func = rng.randrange(3)
            stack.append(func)
            records.append(pack(ns, ENTER_C if func == 2 else ENTER_CALL, func))
    while stack:
        records.append(pack(ns, EXIT_STOP, stack.pop()))
    return [b"".join(records[i : i + 37]) for i in range(0, len(records), 37)]


@pytest.mark.parametrize(
    "with_args, with_retvals", [(True, False), (False, True), (True, True), (False, False)]
)
def test_chrome_json_twins_agree_with_values(with_args: bool, with_retvals: bool) -> None:
    assert _core is not None
    chunks = _script()
    names = [b'"name":"f","cat":"python"', b'"name":"g \\"q\\"","cat":"python"', b'"name":"len","cat":"c"']
    records = _records(chunks)
    args: Optional[Dict[int, bytes]] = None
    retvals: Optional[Dict[int, bytes]] = None
    if with_args:
        args = {
            i: b'"args":"x=%d"' % i
            for i, (stamp, _) in enumerate(records)
            if stamp & 7 == ENTER_CALL and i % 3
        }
        args[1] = b""  # an empty fragment counts as none
    if with_retvals:
        retvals = {
            i: b'"return_value":"%d"' % i for i, (stamp, _) in enumerate(records) if stamp & 7 == EXIT_RETURN
        }
    outputs = []
    for function in (codec.chrome_json_events, _core.chrome_json_events):
        out = io.BytesIO()
        count = function(chunks, names, 7, 9, 1_000_000, out.write, False, args, retvals)
        outputs.append((count, out.getvalue()))
    assert outputs[0] == outputs[1]
    text = outputs[0][1].decode()
    if with_args:
        assert '"args":{"args":"x=' in text
    if with_retvals:
        assert '"return_value":"' in text and ',"exit":"exception"}' in text or not with_args
    import json

    events = json.loads("[" + text.lstrip(",\n") + "]")
    assert len(events) == outputs[0][0]


def test_chrome_json_without_values_is_unchanged() -> None:
    assert _core is not None
    chunks = _script()
    names = [b'"name":"f"', b'"name":"g"', b'"name":"len"']
    plain, empty = io.BytesIO(), io.BytesIO()
    _core.chrome_json_events(chunks, names, 1, 2, 0, plain.write, True)
    _core.chrome_json_events(chunks, names, 1, 2, 0, empty.write, True, {}, None)
    assert plain.getvalue() == empty.getvalue()
    with pytest.raises(ValueError):
        _core.chrome_json_events(chunks, names, 1, 2, 0, empty.write, True, {0: "not bytes"}, None)
