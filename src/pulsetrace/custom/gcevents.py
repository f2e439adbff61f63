"""log_gc: each garbage collection as a slice on the thread that ran it (generation, collected counts).

``install()`` adds ``on_gc`` to ``gc.callbacks`` and ``uninstall()`` removes it. The "start" call
notes the time in the thread's log; the "stop" call records the slice with the collection's
``generation``, ``collected`` and ``uncollectable`` counts (the ``info`` CPython passes).
"""

from __future__ import annotations

import gc
from time import monotonic_ns
from typing import Any, Dict

from ..model.custom import GC, Span
from . import log as _log


def on_gc(phase: str, info: Dict[str, Any]) -> None:
    """A gc.callbacks callback (never raises: an exception here would be printed as unraisable)."""
    found = _log.recording()
    if found is None:
        return
    thread = found[1]
    if phase == "start":
        thread.gc_start_ns = monotonic_ns()
    elif phase == "stop" and thread.gc_start_ns:
        args = {key: info.get(key, 0) for key in ("generation", "collected", "uncollectable")}
        thread.spans.append(Span(thread.gc_start_ns, monotonic_ns(), "gc", GC, args))
        thread.gc_start_ns = 0


def install() -> None:
    if on_gc not in gc.callbacks:
        gc.callbacks.append(on_gc)


def uninstall() -> None:
    while on_gc in gc.callbacks:
        gc.callbacks.remove(on_gc)
