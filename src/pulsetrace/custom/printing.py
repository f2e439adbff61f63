"""log_print: each print() call also becomes an instant holding the printed text.

While a Tracer with ``log_print`` records, ``builtins.print`` is replaced by ``traced_print``,
which does exactly what the built-in does (the same ``file.write`` calls in the same order: each
argument's ``str()`` once, the separators, the end; ``flush`` when asked; nothing when ``file`` is
None and ``sys.stdout`` is None; the same TypeErrors for a bad ``sep`` or ``end``), then records
``{"text": sep.join(the strings)}`` (without ``end``) on the calling thread. stop() puts the
built-in back, unless something else replaced ``builtins.print`` meanwhile (then it is left alone,
and ``traced_print`` only prints).
"""

from __future__ import annotations

import builtins
import sys
from time import monotonic_ns
from typing import Any, Callable, Optional

from ..model.custom import PRINT, Instant
from . import log as _log

_original: Optional[Callable[..., None]] = None  # the print() that was in builtins before install()


def traced_print(*objects: Any, sep: Optional[str] = " ", end: Optional[str] = "\n", file: Any = None,
                 flush: bool = False) -> None:
    """print(), recorded as an instant while a Tracer records (see the module docstring)."""
    if sep is None:
        sep = " "
    elif not isinstance(sep, str):
        raise TypeError(f"sep must be None or a string, not {type(sep).__name__}")
    if end is None:
        end = "\n"
    elif not isinstance(end, str):
        raise TypeError(f"end must be None or a string, not {type(end).__name__}")
    if file is None:
        file = sys.stdout
        if file is None:  # no stdout (pythonw): the built-in prints nothing and evaluates nothing
            return
    # Like the built-in: ``file.write`` is looked up for each write, and before the str() it writes.
    pieces = []
    for number, value in enumerate(objects):
        if number:
            file.write(sep)
        write = file.write
        text = str(value)
        pieces.append(text)
        write(text)
    file.write(end)
    if flush:
        file.flush()
    found = _log.recording()
    if found is not None:
        thread = found[1]
        args = {"text": sep.join(pieces)}
        thread.instants.append(Instant(monotonic_ns(), PRINT, PRINT, "thread", thread.native_id, args))


traced_print.__name__ = traced_print.__qualname__ = "print"  # TypeErrors name print(), as the built-in's do


def install() -> None:
    """Put traced_print in builtins (once: a second install keeps the first original)."""
    global _original
    if builtins.print is not traced_print:
        _original = builtins.print
        builtins.print = traced_print


def uninstall() -> None:
    """Put back the print() that install() replaced, if traced_print is still the one in builtins."""
    global _original
    if builtins.print is traced_print and _original is not None:
        builtins.print = _original
    _original = None
