"""What the Python core reads off frames and callables: C function names and where a frame stopped.

The C core applies the same rules (``_core``); tests compare the two cores on the corpus.
"""

from __future__ import annotations

import dis
import sys
import types
from typing import Any

from . import events as ev

C_CALLABLE_TYPES = (types.BuiltinFunctionType, types.MethodDescriptorType)

# A stack item is ``func | tag << 32``: tag 0 is a Python slice, tag 1 a C slice, and tag 2 + lasti a
# Python slice resumed by throw()/close() at instruction offset ``lasti`` (setprofile only).
TAG_C = 1
TAG_THROWN = 2


def c_function_name(func: Any) -> str:
    """The function-table name of a C callable; the C core applies the same rules in the same order.

    1. A method descriptor (``list.append`` as the CALL event sees it): its ``__qualname__``, which is
       ``__objclass__.__qualname__`` + "." + ``__name__``: "list.append", "str.join", "dict.get".
    2. A builtin whose ``__self__`` is None or a module: the module name + "." + ``__qualname__``
       ("builtins.len", "time.sleep", "_functools.reduce", "math.sqrt"). The module name is
       ``__module__`` when that is a str, else the ``__name__`` of the module in ``__self__``; when
       there is no such str, or it is empty, the name is the bare ``__qualname__``.
    3. Any other builtin (bound to a class or an instance): its ``__qualname__``, which is the
       ``__qualname__`` of the class (``__self__`` itself when it is a class, else ``type(__self__)``)
       + "." + ``__name__``: "dict.fromkeys", "list.append" for ``[].append``, "MyList.append" for
       an instance of a list subclass.
    If ``__qualname__`` is not a str, ``__name__`` is used instead, and "?" when neither is.
    """
    qualname = getattr(func, "__qualname__", None)
    if not isinstance(qualname, str):
        qualname = getattr(func, "__name__", None)
        if not isinstance(qualname, str):
            return "?"
    if not isinstance(func, types.BuiltinFunctionType):
        return qualname  # a method descriptor
    owner = func.__self__
    if owner is not None and not isinstance(owner, types.ModuleType):
        return qualname
    module = getattr(func, "__module__", None)
    if not isinstance(module, str) and owner is not None:
        module = getattr(owner, "__name__", None)
    if not isinstance(module, str) or not module:
        return qualname
    return f"{module}.{qualname}"


# -- reading a frame's position (setprofile backend) -----------------------------------------------

_OP = dis.opmap
_RETURN_OPS = frozenset(_OP[name] for name in ("RETURN_VALUE", "RETURN_CONST") if name in _OP)
_YIELD_VALUE = _OP["YIELD_VALUE"]
_YIELD_FROM = _OP.get("YIELD_FROM", -1)  # 3.9, 3.10
_RESUME = _OP.get("RESUME", -1)  # 3.11+
_RESUME_WHERE_MASK = 3  # RESUME's oparg: 0 function start, 1 after yield, 2 after yield from, 3 after await


def _opcode(co_code: bytes, lasti: int) -> int:
    return co_code[lasti] if 0 <= lasti < len(co_code) else -1


def is_resumption(co_code: bytes, lasti: int) -> bool:
    """Whether a 'call' event of a generator-like frame continues it rather than starts it."""
    if _RESUME < 0:  # 3.9, 3.10: a frame that has not run yet has f_lasti -1
        return lasti >= 0
    # 3.11+: a start stops at RESUME 0; a resumption at RESUME 1-3, or elsewhere when thrown into.
    return _opcode(co_code, lasti) != _RESUME or co_code[lasti + 1] & _RESUME_WHERE_MASK != 0


def resumed_by_throw(co_code: bytes, lasti: int) -> bool:
    """3.11 and 3.12 show a throw(): the frame is still at its YIELD_VALUE, not at the RESUME after it."""
    return (3, 11) <= sys.version_info < (3, 13) and _opcode(co_code, lasti) == _YIELD_VALUE


def _is_yield_point(co_code: bytes, lasti: int, op: int) -> bool:
    """Whether a frame that leaves at ``lasti`` suspends there (a yield, yield from or await)."""
    if sys.version_info >= (3, 13):  # the frame is left at the RESUME that follows its YIELD_VALUE
        return op == _RESUME and co_code[lasti + 1] & _RESUME_WHERE_MASK != 0
    if op == _YIELD_VALUE:
        return True
    # 3.9/3.10: a frame suspended in YIELD_FROM is rewound to the instruction before it.
    return _YIELD_FROM >= 0 and op != _YIELD_FROM and _opcode(co_code, lasti + 2) == _YIELD_FROM


AMBIGUOUS = 8  # added to an exit kind that a later event may correct (see exit_kind)


def exit_kind(co_code: bytes, lasti: int, tag: int, value: Any) -> int:
    """The exit kind of a 'return' event, from where the frame stopped and how it was resumed.

    A frame thrown into (tag) that leaves from the yield point it was resumed at with the value None
    either did not catch the exception (EXIT_UNWIND) or caught it and looped back to yield None
    again. It is recorded as EXIT_UNWIND plus ``AMBIGUOUS``: when the throw()/close() call that
    resumed it ends next, its outcome tells which it was.
    """
    op = _opcode(co_code, lasti)
    if op in _RETURN_OPS:
        return ev.EXIT_RETURN
    if op < 0 or not _is_yield_point(co_code, lasti, op):
        return ev.EXIT_UNWIND
    if tag >= TAG_THROWN and tag - TAG_THROWN == lasti and value is None:
        return ev.EXIT_UNWIND | AMBIGUOUS
    return ev.EXIT_YIELD
