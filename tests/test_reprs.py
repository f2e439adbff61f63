"""pulsetrace.reprs: the text of recorded arguments and return values (the C core must match it)."""

from __future__ import annotations

import collections
import tracemalloc
from types import CodeType
from typing import Any, Dict, List

import pytest

from pulsetrace.reprs import (
    DEFAULT_REPR_LIMIT,
    argument_names,
    bounded_repr,
    failed_repr,
    format_arguments,
)


class Counted:
    """An element whose repr() counts its calls, to see how far a container was rendered."""

    calls = 0

    def __init__(self, number: int) -> None:
        self.number = number

    def __repr__(self) -> str:
        Counted.calls += 1
        return f"C{self.number}"

    def __hash__(self) -> int:
        return self.number

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Counted) and other.number == self.number


@pytest.fixture(autouse=True)
def reset_counts() -> None:
    Counted.calls = 0


SHORT_VALUES: List[Any] = [
    0,
    -12,
    3.5,
    None,
    True,
    "",
    "plain",
    "it's",
    'say "hi"',
    "both ' and \"",
    "line\nbreak\t\x00\u00e9\U0001f600",
    b"",
    b"\x00\xffab'",
    [],
    (),
    (1,),
    ((),),
    {},
    set(),
    frozenset(),
    {3},
    frozenset({"a"}),
    [1, "two", (3.0, None), {"k": [b"v"]}],
    {1: {2: {3: ()}}},
    {"a": 1, "b": [1, 2], (1, 2): frozenset({1})},
    range(3),
    object,
    len,
    ValueError("boom"),
]


@pytest.mark.parametrize("value", SHORT_VALUES, ids=repr)
def test_equals_repr_when_short(value: Any) -> None:
    assert bounded_repr(value) == repr(value)
    assert bounded_repr(value, len(repr(value))) == repr(value)


LONG_VALUES: List[Any] = [
    "x" * 500,
    b"y" * 500,
    "\n" * 300,
    "\u00e9\U0001f600" * 200,
    list(range(200)),
    tuple(range(200)),
    set(range(200)),
    frozenset(range(200)),
    {i: str(i) * 3 for i in range(200)},
    [[i, (i, [i])] for i in range(100)],
    {"k" * 99: "v" * 1000},
    ["a" * 60, "b" * 60],
    [{"x": "y" * 40}] * 10,
    list(range(30)),  # exactly around the limit: see test_limit_boundaries
]


@pytest.mark.parametrize("value", LONG_VALUES, ids=lambda v: f"{type(v).__name__}{len(repr(v))}")
@pytest.mark.parametrize("limit", [1, 7, 20, 100])
def test_prefix_and_ellipsis_when_long(value: Any, limit: int) -> None:
    full = repr(value)
    expected = full if len(full) <= limit else full[:limit] + "..."
    assert bounded_repr(value, limit) == expected


def test_limit_boundaries() -> None:
    value = "a" * 8  # repr is 10 characters
    assert bounded_repr(value, 10) == "'aaaaaaaa'"
    assert bounded_repr(value, 9) == "'aaaaaaaa..."
    assert bounded_repr(list(range(4)), 12) == "[0, 1, 2, 3]"
    assert bounded_repr(list(range(4)), 11) == "[0, 1, 2, 3..."
    assert bounded_repr(list(range(4)), 0) == "..."
    assert bounded_repr("x" * 10**6, DEFAULT_REPR_LIMIT) == "'" + "x" * 99 + "..."


def test_long_string_quotes_come_from_its_prefix() -> None:
    """The documented difference from repr(): the quotes of a cut string follow its first part."""
    value = "a" * 50 + "'"  # repr() switches to double quotes because of the last character
    assert repr(value).startswith('"')
    assert bounded_repr(value, 10) == "'aaaaaaaaa..."
    assert bounded_repr(value, 60) == repr(value)  # complete: exactly repr()


@pytest.mark.parametrize(
    "make",
    [
        lambda n: [Counted(i) for i in range(n)],
        lambda n: tuple(Counted(i) for i in range(n)),
        lambda n: {Counted(i) for i in range(n)},
        lambda n: frozenset(Counted(i) for i in range(n)),
        lambda n: {i: Counted(i) for i in range(n)},
        lambda n: {Counted(i): i for i in range(n)},
        lambda n: [[Counted(i)] for i in range(n)],
    ],
    ids=["list", "tuple", "set", "frozenset", "dict-values", "dict-keys", "nested"],
)
def test_huge_containers_stop_early(make: Any) -> None:
    value = make(100_000)
    Counted.calls = 0
    text = bounded_repr(value, 50)
    assert text.endswith("...") and len(text) == 53
    # Each element repr is at least 2 characters plus ", ": at most ~50 / 4 + 1 were rendered.
    assert 1 <= Counted.calls <= 14


@pytest.mark.parametrize(
    "value",
    [
        "s" * 10_000_000,
        b"b" * 10_000_000,
        {"k": "v" * 10_000_000},
        {"k" * 99: "v" * 10_000_000},
        ["x" * 10_000_000],
    ],
    ids=["str", "bytes", "dict", "dict-at-limit", "list"],
)
def test_huge_strings_are_not_copied(value: Any) -> None:
    tracemalloc.start()
    try:
        text = bounded_repr(value, 100)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(text) == 103
    assert peak < 100_000  # repr() of the whole value would need ~10 MB


def test_deep_nesting_stops_at_the_limit() -> None:
    value: List[Any] = []
    for _ in range(50_000):  # far deeper than the recursion limit
        value = [value]
    assert bounded_repr(value, 30) == "[" * 30 + "..."


def test_self_referencing_containers() -> None:
    looped: List[Any] = [1]
    looped.append(looped)
    mapping: Dict[Any, Any] = {"me": None}
    mapping["me"] = mapping
    holder: List[Any] = []
    tup = (holder,)
    holder.append(tup)
    for value in (looped, mapping, tup, [looped, looped], {"a": looped, "b": mapping}):
        assert bounded_repr(value) == repr(value)
    assert bounded_repr(looped) == "[1, [...]]"
    assert bounded_repr(tup) == "([(...)],)"


class BrokenRepr:
    def __repr__(self) -> str:
        raise ValueError("no")


class NotAString:
    def __repr__(self) -> Any:
        return 42


class LongRepr:
    def __repr__(self) -> str:
        return "L" * 1000


def test_failing_reprs_never_raise() -> None:
    assert bounded_repr(BrokenRepr()) == "<repr failed: ValueError>"
    assert bounded_repr([1, BrokenRepr()]) == "<repr failed: ValueError>"
    assert bounded_repr({"k": BrokenRepr()}) == "<repr failed: ValueError>"
    assert bounded_repr(NotAString()) == "<repr failed: TypeError>"
    assert failed_repr(KeyError("x")) == "<repr failed: KeyError>"
    # Cut before the broken element: it is never rendered, so nothing failed.
    assert bounded_repr(["a" * 50, BrokenRepr()], 20) == "['" + "a" * 18 + "..."


def test_subclasses_and_other_types_use_their_repr() -> None:
    class MyList(list):  # type: ignore[type-arg]
        pass

    class MyStr(str):
        def __repr__(self) -> str:
            return f"MyStr({str.__repr__(self)})"

    ordered = collections.OrderedDict((i, i) for i in range(3))
    counter = collections.Counter("aab")
    for value in (MyList([1, 2]), MyStr("x"), ordered, counter, collections.deque([1]), LongRepr()):
        full = repr(value)
        assert bounded_repr(value, 30) == (full if len(full) <= 30 else full[:30] + "...")
    assert bounded_repr([LongRepr()], 5) == "[LLLL..."


def _positional(a, b=2):  # type: ignore[no-untyped-def]
    return a


def _everything(a, b, /, c, d=4, *rest, e, f=6, **extra):  # type: ignore[no-untyped-def]
    local = a
    return local


def _only_varargs(*args, **kwargs):  # type: ignore[no-untyped-def]
    inner = 1
    return inner


def _keyword_only(*, key):  # type: ignore[no-untyped-def]
    return key


def _nothing() -> None:
    hidden = 1
    del hidden


def _closure(x, y):  # type: ignore[no-untyped-def]
    def inner() -> Any:
        return x

    return inner


def code_of(func: Any) -> CodeType:
    code: CodeType = func.__code__
    return code


def test_argument_names_for_every_parameter_kind() -> None:
    assert argument_names(code_of(_positional)) == ("a", "b")
    assert argument_names(code_of(_everything)) == ("a", "b", "c", "d", "rest", "e", "f", "extra")
    assert argument_names(code_of(_only_varargs)) == ("args", "kwargs")
    assert argument_names(code_of(_keyword_only)) == ("key",)
    assert argument_names(code_of(_nothing)) == ()
    assert argument_names(code_of(_closure)) == ("x", "y")  # x is a cell variable
    assert argument_names(code_of(lambda self, *a: 0)) == ("self", "a")


def test_format_arguments() -> None:
    values = {"a": 1, "b": "two", "rest": (3,), "extra": {"k": BrokenRepr()}}
    text = format_arguments(("a", "b", "rest", "missing", "extra"), values.__getitem__, 100)
    assert text == "a=1, b='two', rest=(3,), extra=<repr failed: ValueError>"
    assert format_arguments(("a",), {"a": "z" * 50}.__getitem__, 5) == "a='zzzz..."
    assert format_arguments((), values.__getitem__) == ""
