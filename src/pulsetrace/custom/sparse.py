"""``@trace_only``: sparse mode, where only the decorated functions are recorded.

With ``Tracer(trace_only=True)`` no core runs at all; a call of a decorated function is recorded as
one slice (a ``Span`` of category "trace_only", named like a function slice, ``qualname
(file:line)``) whose args hold ``args`` (reprs.format_arguments text, the same as log_args gives)
and ``return_value`` (reprs.bounded_repr), or ``"exit": "exception"`` when the call raised. When no
Tracer records in sparse mode, the decorated function costs one global read and a call.
"""

from __future__ import annotations

import functools
from time import monotonic_ns
from types import CodeType
from typing import Any, Callable, Dict, Tuple, TypeVar

from ..model.custom import TRACE_ONLY, Span
from ..reprs import argument_names, bounded_repr, format_arguments
from . import log as _log

F = TypeVar("F", bound=Callable[..., Any])
_VARARGS = 0x04
_VARKEYWORDS = 0x08


def trace_only(func: F) -> F:
    """Decorator: in sparse mode (``Tracer(trace_only=True)``) record each call of ``func`` with its args."""
    code = getattr(func, "__code__", None)
    if not isinstance(code, CodeType):
        raise TypeError(f"trace_only decorates a Python function, not {type(func).__name__}")
    qualname = getattr(func, "__qualname__", code.co_name)
    label = f"{qualname} ({code.co_filename}:{code.co_firstlineno})"
    names = argument_names(code)

    @functools.wraps(func)
    def traced(*args: Any, **kwargs: Any) -> Any:
        log = _log.sparse()
        if log is None or log.thread().paused:
            return func(*args, **kwargs)
        limit = log.repr_limit
        values = bind_arguments(func, code, args, kwargs)
        record: Dict[str, Any] = {"args": format_arguments(names, values.__getitem__, limit)}
        start_ns = monotonic_ns()
        try:
            result = func(*args, **kwargs)
        except BaseException:
            end_ns = monotonic_ns()
            record["exit"] = "exception"
            _append(label, record, start_ns, end_ns)
            raise
        end_ns = monotonic_ns()
        record["return_value"] = bounded_repr(result, limit)
        _append(label, record, start_ns, end_ns)
        return result

    return traced  # type: ignore[return-value]


def _append(label: str, record: Dict[str, Any], start_ns: int, end_ns: int) -> None:
    log = _log.sparse()  # the call may have stopped the tracer
    if log is not None:
        thread = log.recording_thread()
        if thread is not None:
            thread.spans.append(Span(start_ns, end_ns, label, TRACE_ONLY, record))


def bind_arguments(
    func: Callable[..., Any], code: CodeType, args: Tuple[Any, ...], kwargs: Dict[str, Any]
) -> Dict[str, Any]:
    """Parameter name -> value as the call binds them (defaults included), without inspect's cost.

    A call that would not bind (the function will raise TypeError) gives what could be bound.
    """
    npositional = code.co_argcount
    nkwonly = code.co_kwonlyargcount
    varnames = code.co_varnames
    positional = varnames[:npositional]
    values: Dict[str, Any] = dict(zip(positional, args))
    index = npositional + nkwonly
    flags = code.co_flags
    if flags & _VARARGS:
        values[varnames[index]] = tuple(args[npositional:])
        index += 1
    keyword_only = varnames[npositional : npositional + nkwonly]
    extra: Dict[str, Any] = {}
    settable = set(positional[code.co_posonlyargcount :]) | set(keyword_only)
    for key, value in kwargs.items():
        if key in settable:
            values[key] = value
        else:
            extra[key] = value
    if flags & _VARKEYWORDS:
        values[varnames[index]] = extra
    defaults = getattr(func, "__defaults__", None) or ()
    if defaults:
        for name, value in zip(positional[npositional - len(defaults) :], defaults):
            values.setdefault(name, value)
    for name, value in (getattr(func, "__kwdefaults__", None) or {}).items():
        values.setdefault(name, value)
    return values
