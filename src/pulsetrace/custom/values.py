"""Turning the program's values into what a custom event may hold: JSON values, taken right away.

An event's ``args`` are copied when the event is recorded (the program may change the objects
later), into JSON values: str, bool, None, int, finite float, and lists and str-keyed dicts of them.
Anything else (and anything nested deeper than MAX_DEPTH, or past MAX_ITEMS elements) becomes its
bounded repr, so recording never fails and never stores a live object.
"""

from __future__ import annotations

import math
from collections import abc
from typing import Any, Dict, Mapping, Optional

from ..reprs import bounded_repr

MAX_DEPTH = 8
MAX_ITEMS = 1000  # elements kept of one list or dict; the rest is summarised
_SCALARS = (str, bool, type(None))


def json_args(args: Optional[Mapping[Any, Any]], limit: int, what: str) -> Dict[str, Any]:
    """A copy of an event's ``args`` mapping as JSON values; raises TypeError when it is no mapping."""
    if args is None:
        return {}
    if not is_mapping(args):
        raise TypeError(f"{what}: args must be a mapping (e.g. a dict), not {type(args).__name__}")
    return {str(key): json_value(value, limit, 1) for key, value in args.items()}


def is_mapping(value: Any) -> bool:
    """isinstance(value, Mapping), with a dict checked in C only.

    The API runs inside the traced program: a Python-level ``__instancecheck__`` (typing's, abc's)
    would show up in the trace as calls the program never made.
    """
    return type(value) is dict or isinstance(value, abc.Mapping)


def json_value(value: Any, limit: int, depth: int = 0) -> Any:
    """``value`` as a JSON value (see the module docstring)."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is int:
        return value
    if kind is float:
        return value if math.isfinite(value) else bounded_repr(value, limit)
    if depth < MAX_DEPTH:
        if kind is list or kind is tuple:
            items = [json_value(item, limit, depth + 1) for item in value[:MAX_ITEMS]]
            if len(value) > MAX_ITEMS:
                items.append(f"... {len(value) - MAX_ITEMS} more")
            return items
        if kind is dict:
            result: Dict[str, Any] = {}
            for number, (key, item) in enumerate(value.items()):
                if number == MAX_ITEMS:
                    result["..."] = f"{len(value) - MAX_ITEMS} more"
                    break
                name = key if type(key) is str else bounded_repr(key, limit)
                result[name] = json_value(item, limit, depth + 1)
            return result
    return bounded_repr(value, limit)
