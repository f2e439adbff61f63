"""log_exceptions: the exception sink the cores call (cores.CoreConfig.exception_sink).

A core calls ``exception_sink(exc, code, lineno)`` in the raising thread for every frame an
exception passes through (raised there, or propagated from a callee). Only the frame that raised
it is kept: there ``exc.__traceback__`` has a single entry, since each frame the exception leaves
adds one. The instant is named after the exception type and holds ``type`` (module-qualified),
``message`` (``str(exc)`` cut to repr_limit; never raises), ``where`` (file:line) and ``function``.
"""

from __future__ import annotations

from time import monotonic_ns
from types import CodeType

from ..model.custom import EXCEPTION, Instant
from ..reprs import ELLIPSIS
from . import log as _log


def exception_sink(exc: BaseException, code: CodeType, lineno: int) -> None:
    """Record ``exc`` if it was raised in this frame (see the module docstring)."""
    traceback = exc.__traceback__
    if traceback is None or traceback.tb_next is not None:
        return
    found = _log.recording()
    if found is None:
        return
    log, thread = found
    ns = monotonic_ns()
    kind = type(exc)
    module = kind.__module__
    type_name = kind.__qualname__ if module in ("builtins", None) else f"{module}.{kind.__qualname__}"
    args = {
        "type": type_name,
        "message": _message(exc, log.repr_limit),
        "where": f"{code.co_filename}:{lineno}",
        "function": getattr(code, "co_qualname", code.co_name),
    }
    thread.instants.append(Instant(ns, kind.__name__, EXCEPTION, "thread", thread.native_id, args))


def _message(exc: BaseException, limit: int) -> str:
    try:
        text = str(exc)
    except Exception as failure:  # noqa: BLE001 - a broken __str__ must not break the program
        return f"<str failed: {type(failure).__name__}>"
    return text if len(text) <= limit else text[:limit] + ELLIPSIS
