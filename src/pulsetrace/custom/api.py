"""The program's own events: ``instant``, ``counter`` and ``span``.

Each call checks its arguments the same way whether or not a Tracer records (a program must not
fail only when traced), then records nothing unless a Tracer records and the calling thread is not
paused.
"""

from __future__ import annotations

import functools
import math
from time import monotonic_ns
from types import TracebackType
from typing import Any, Callable, Dict, List, Mapping, Optional, Type, TypeVar

from ..model.custom import INSTANT, SCOPES, SPAN, CounterSample, Instant, Number, Span
from . import log as _log
from .values import is_mapping, json_args

F = TypeVar("F", bound=Callable[..., Any])


def instant(name: str, args: Optional[Mapping[str, Any]] = None, scope: str = "thread") -> None:
    """Mark a moment on the timeline: ``scope`` is "thread" (this thread's track), "process" or "global"."""
    if scope not in SCOPES:
        raise ValueError(f"instant {name!r}: scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    found = _log.recording()
    if found is None:
        if args is not None and not is_mapping(args):
            json_args(args, 0, f"instant {name!r}")  # raises the same TypeError as when tracing
        return
    log, thread = found
    ns = monotonic_ns()
    values = json_args(args, log.repr_limit, f"instant {name!r}")
    event = Instant(ns, str(name), INSTANT, scope, thread.native_id, values)
    if scope == "thread":
        thread.instants.append(event)
    else:
        log.instants.append(event)


class Counter:
    """A counter track: each ``update`` sets some of its series to new values at this moment."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = str(name)

    def update(self, values: Mapping[str, Number]) -> None:
        """Set series to numbers, e.g. ``update({"queued": 3, "done": 10})``."""
        checked = _counter_values(self.name, values)
        found = _log.recording()
        if found is not None:
            log, thread = found
            log.counters.append(CounterSample(monotonic_ns(), self.name, thread.native_id, checked))

    def __repr__(self) -> str:
        return f"Counter({self.name!r})"


def counter(name: str) -> Counter:
    """The counter track called ``name`` (drawn as a graph of its series over time)."""
    return Counter(name)


def _counter_values(name: str, values: Mapping[str, Number]) -> Dict[str, Number]:
    if not is_mapping(values):
        kind = type(values).__name__
        raise TypeError(f"counter {name!r}: update() takes a mapping of series name to number, not {kind}")
    checked: Dict[str, Number] = {}
    for key, value in values.items():
        if not isinstance(key, str):
            raise TypeError(f"counter {name!r}: series names must be strings, not {type(key).__name__}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(
                f"counter {name!r}: the value of {key!r} must be a number (int or float), "
                f"not {type(value).__name__}"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"counter {name!r}: the value of {key!r} must be finite, not {value!r}")
        checked[key] = int(value) if isinstance(value, int) else float(value)
    return checked


class span:  # noqa: N801 - used like a function: ``with pulsetrace.span("load"):``
    """A duration of your choosing on the calling thread's track.

    ``with span("load", args={"file": path}):`` records the block; ``@span("step")`` records every
    call of the decorated function. A span that ends with an exception gets ``"exit": "exception"``.
    """

    __slots__ = ("name", "args", "_starts")

    def __init__(self, name: str, args: Optional[Mapping[str, Any]] = None) -> None:
        if args is not None and not is_mapping(args):
            raise TypeError(f"span {name!r}: args must be a mapping (e.g. a dict), not {type(args).__name__}")
        self.name = str(name)
        self.args = args
        self._starts: List[int] = []  # a stack: the same span object may be entered again inside itself

    def __enter__(self) -> span:
        self._starts.append(monotonic_ns() if _log.active() is not None else -1)
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        start_ns = self._starts.pop() if self._starts else -1
        if start_ns >= 0:
            _record_span(self.name, self.args, start_ns, exc_type is not None)

    def __call__(self, func: F) -> F:
        name, args = self.name, self.args

        @functools.wraps(func)
        def spanned(*call_args: Any, **call_kwargs: Any) -> Any:
            if _log.active() is None:
                return func(*call_args, **call_kwargs)
            start_ns = monotonic_ns()
            failed = True
            try:
                result = func(*call_args, **call_kwargs)
                failed = False
                return result
            finally:
                _record_span(name, args, start_ns, failed)

        return spanned  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"span({self.name!r})"


def _record_span(name: str, args: Optional[Mapping[str, Any]], start_ns: int, failed: bool) -> None:
    end_ns = monotonic_ns()
    found = _log.recording()
    if found is None:
        return
    log, thread = found
    values = json_args(args, log.repr_limit, f"span {name!r}")
    if failed:
        values["exit"] = "exception"
    thread.spans.append(Span(start_ns, end_ns, name, SPAN, values))
