"""Bounded, never-failing repr() for recording arguments and return values.

``bounded_repr(value, limit)`` is ``repr(value)`` when that is at most ``limit`` characters, and
otherwise its first ``limit`` characters followed by ``...``. Two things make it safe to call on
every traced call:

- it never builds the whole repr of a big builtin container or string: list, tuple, dict, set,
  frozenset, str and bytes (exact types, not subclasses) are rendered element by element and the
  rendering stops once past the limit, so a 10-million-element list costs as much as a short one;
- it never raises: a ``__repr__`` that raises gives ``<repr failed: ExceptionType>``.

Two rules keep the text equal to the prefix of ``repr(value)``: elements inside containers are
rendered with the same bounded rule, and a str or bytes longer than the limit chooses its quotes
from its first ``limit`` characters (repr looks at the whole string). The C core implements the same
rule (``_core/reprs.c``) and tests compare the two on the same values; change both or neither.

A container met again inside itself is shown as repr() shows it (``[...]``, ``(...)``, ``{...}``).
That is tracked by this module alone, not by the interpreter's ``Py_ReprEnter``: a container reached
again through an object's own ``__repr__`` is rendered once more by that repr() before its guard
stops it (``[[[...]]]`` where repr() gives ``[[...]]``), in both cores alike.
"""

from __future__ import annotations

from types import CodeType
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

DEFAULT_REPR_LIMIT = 100
ELLIPSIS = "..."

_CONTAINERS: Dict[type, Tuple[str, str]] = {
    list: ("[", "]"),
    tuple: ("(", ")"),
    set: ("{", "}"),
    frozenset: ("frozenset({", "})"),
}


# What repr() shows for a container met again inside itself (sets and frozensets cannot be).
_RECURSION: Dict[type, str] = {
    list: "[...]",
    tuple: "(...)",
    dict: "{...}",
    set: "set(...)",
    frozenset: "frozenset(...)",
}


def bounded_repr(value: Any, limit: int = DEFAULT_REPR_LIMIT) -> str:
    """repr(value), cut to ``limit`` characters plus ``...``; never raises."""
    try:
        text = _render(value, limit + 1, set())
    except Exception as exc:  # noqa: BLE001 - a broken __repr__ must not break the program
        return failed_repr(exc)
    if len(text) > limit:
        return text[:limit] + ELLIPSIS
    return text


def failed_repr(exc: BaseException) -> str:
    return f"<repr failed: {type(exc).__name__}>"


def _render(value: Any, budget: int, active: Set[int]) -> str:
    """A prefix of repr(value) that is either complete or at least ``budget`` characters long."""
    kind = type(value)
    if kind is str or kind is bytes:
        if len(value) >= budget:  # the repr is longer than the budget: render a prefix only
            return repr(value[: max(budget, 0)])
        return repr(value)
    if kind in _CONTAINERS or kind is dict:
        key = id(value)
        if key in active:  # a container that holds itself: what repr shows
            return _RECURSION[kind]
        active.add(key)
        try:
            return _render_container(value, kind, budget, active)
        finally:
            active.discard(key)
    return repr(value)


def _render_container(value: Any, kind: type, budget: int, active: Set[int]) -> str:
    if kind is dict:
        opening, closing = "{", "}"
    else:
        opening, closing = _CONTAINERS[kind]
        if not value and kind in (set, frozenset):
            return "set()" if kind is set else "frozenset()"
    parts: List[str] = [opening]
    used = len(opening)
    first = True
    items = value.items() if kind is dict else value
    for item in items:
        if not first:
            parts.append(", ")
            used += 2
        first = False
        if used >= budget:
            return "".join(parts)
        if kind is dict:
            key_text = _render(item[0], budget - used, active)
            parts.append(key_text)
            used += len(key_text)
            if used >= budget:
                return "".join(parts)
            parts.append(": ")
            used += 2
            if used >= budget:
                return "".join(parts)
            item = item[1]
        text = _render(item, budget - used, active)
        parts.append(text)
        used += len(text)
        if used >= budget:
            return "".join(parts)
    if kind is tuple and len(value) == 1:
        parts.append(",")
    parts.append(closing)
    return "".join(parts)


def argument_names(code: CodeType) -> tuple[str, ...]:
    """The parameter names of a function, in order: positional, *args, keyword-only, **kwargs."""
    positional = code.co_argcount + code.co_kwonlyargcount
    names = list(code.co_varnames[: code.co_argcount])
    flags = code.co_flags
    index = positional
    if flags & 0x04:  # CO_VARARGS
        names.append(code.co_varnames[index])
        index += 1
    names.extend(code.co_varnames[code.co_argcount : positional])
    if flags & 0x08:  # CO_VARKEYWORDS
        names.append(code.co_varnames[index])
    return tuple(names)


def format_arguments(
    names: tuple[str, ...], lookup: Callable[[str], Any], limit: int = DEFAULT_REPR_LIMIT
) -> str:
    """``name=repr, ...`` for the parameters a call received; ``lookup(name)`` reads one.

    A parameter that cannot be read (deleted before the call was seen) is left out.
    """
    parts = []
    for name in names:
        try:
            value = lookup(name)
        except Exception:  # noqa: BLE001 - unbound or unreadable: not the program's problem
            continue
        parts.append(f"{name}={bounded_repr(value, limit)}")
    return ", ".join(parts)


def optional_limit(limit: Optional[int]) -> int:
    return DEFAULT_REPR_LIMIT if limit is None else limit
