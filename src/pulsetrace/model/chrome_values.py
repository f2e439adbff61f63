"""Field by field, what one Chrome Trace Event means in the model (used by chrome_reader).

Numbers arrive from the JSON decoder as ``int`` or ``Decimal`` (never a binary float), so a
timestamp such as ``12.345`` µs becomes exactly 12345 ns however large it is; a binary float
would be off by a few ns past about 26 days of microseconds. Everything else a reader keeps
(``args``, counter values, snapshots) goes back to plain JSON values here.

Functions raise ValueError naming the problem; chrome_reader adds the file and the event.
"""

from __future__ import annotations

import json
import math
import re
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any, Dict, Optional, Tuple

from ..events import FUNC_C, FUNC_PYTHON
from ..recording import FunctionInfo
from .custom import EXCEPTION, GC, INSTANT, LOG, PRINT, SPAN, TRACE_ONLY, Number

# Our own context, not the thread's (the program may have changed that): enough digits for any
# timestamp to the ns, halves rounded to even.
_EXACT = Context(prec=60, rounding=ROUND_HALF_EVEN)

# The records' ns field has 61 bits (events.py); chrome_reader checks the range again once the
# timestamps are placed on their process's clock.
MAX_NS = 1 << 61

# Slices of these categories are the program's own spans (chrome_custom writes spans, sparse-mode
# calls and garbage collections as "X" events); every other slice is a function call.
CUSTOM_CATEGORIES = frozenset({INSTANT, PRINT, LOG, EXCEPTION, SPAN, TRACE_ONLY, GC, "counter", "object"})

PYTHON_CATEGORY = "python"  # what chrome_json writes for Python functions
C_CATEGORY = "c"  # ... and for C functions

# "qualname (path:line)": the name non-greedy, so a path may hold " (" and ":"; the line at the end.
_LOCATED = re.compile(r"(.*?) \((.*):(\d{1,9})\)", re.DOTALL)

SCOPE_NAMES = {"t": "thread", "p": "process", "g": "global"}


def ns_of(value: Any, field: str) -> int:
    """A ``ts`` / ``dur`` in microseconds as integer ns, rounded half to even below the ns."""
    if type(value) is Decimal and value.is_finite():  # the usual case, first
        ns = int(_EXACT.multiply(value, 1000).to_integral_value(context=_EXACT))
        if -MAX_NS < ns < MAX_NS:
            return ns
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, float)):
        shown = "missing" if value is None else f"not a number ({json_text(value)[:40]})"
        raise ValueError(f'"{field}" is {shown}')
    try:
        # Decimal(float) is exact; floats come only from the decoder's NaN / Infinity.
        exact = _EXACT.multiply(Decimal(value), 1000)
        ns = int(exact.to_integral_value(context=_EXACT))
    except (ArithmeticError, ValueError):  # decimal's signals are ArithmeticErrors
        raise ValueError(f'"{field}" is not a finite number ({value})') from None
    if abs(ns) >= MAX_NS:
        raise ValueError(f'"{field}" is out of range ({value} µs)')
    return ns


def json_value(value: Any) -> Any:
    """A decoded JSON value with Decimals back to floats; NaN and infinities become their repr,
    as the collecting side stores them (custom/values.py)."""
    if isinstance(value, Decimal):
        number = float(value)
        return number if math.isfinite(number) else repr(number)
    if isinstance(value, float):  # only NaN / Infinity literals reach here
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, list):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        return {key: json_value(item) for key, item in value.items()}
    return value


def json_object(value: Any) -> Dict[str, Any]:
    """An event's ``args`` as a dict of JSON values; anything else that is present is kept under
    "args" rather than dropped."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {key: json_value(item) for key, item in value.items()}
    return {"args": json_value(value)}


def json_text(value: Any) -> str:
    """A decoded JSON value as compact JSON text."""
    return json.dumps(json_value(value), ensure_ascii=False, separators=(",", ":"))


def number_of(value: Any) -> Optional[Number]:
    """A counter value as int or float; None when it is not a finite number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, (Decimal, float)):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def text_of(value: Any, default: str = "") -> str:
    """A name-like field as text: strings as they are, other values as JSON, missing as ``default``."""
    if value is None:
        return default
    return value if isinstance(value, str) else json_text(value)


def integer_id(value: Any) -> Optional[int]:
    """An id, pid or tid given as an integer, an integral number or a decimal/hex string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return int(value) if value.is_finite() and value == value.to_integral_value() else None
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text, 16 if text.lower().lstrip("+-").startswith("0x") else 10)
        except ValueError:
            return None
    return None


def function_of(name: str, category: str) -> FunctionInfo:
    """The function a slice stands for.

    ``cat`` "c" (what pulsetrace writes for C functions) is a C function under its bare name.
    Otherwise a name ending in " (path:line)" (pulsetrace's and VizTracer's Python functions) is a
    Python function at that place. Any other name has no source location (a builtin from another
    tool, a task from a browser trace): it becomes a FUNC_C row, as C functions have no location
    either, so it keeps its bare name when written again.
    """
    if category != C_CATEGORY:
        located = _LOCATED.fullmatch(name)
        if located is not None:
            return FunctionInfo(FUNC_PYTHON, located.group(1), located.group(2), int(located.group(3)))
        if category == PYTHON_CATEGORY:  # ours, yet without a location: keep it a Python function
            return FunctionInfo(FUNC_PYTHON, name, "", 0)
    return FunctionInfo(FUNC_C, name, "", 0)


def exit_marker(args: Dict[str, Any]) -> Tuple[bool, bool]:
    """(ended by an exception, unfinished at stop): chrome_json's exit markers in a slice's args."""
    return args.get("exit") == "exception", args.get("unfinished") is True
