"""Object snapshots: chosen attributes of an object, recorded around chosen methods (Chrome N/O/D).

    @pulsetrace.snapshot("position", "speed", methods=["step"], when="after")
    class Body: ...

While a Tracer records, each ``Body`` gets an "N" (created) event the first time it is seen, an "O"
event with ``position`` and ``speed`` (bounded reprs) when ``__init__`` returns and before and/or
after each call of ``step``, and a "D" (destroyed) event when it is garbage collected (only for
classes whose instances support weak references: a weak reference's callback tells us; instances of a
class with ``__slots__`` and no ``__weakref__`` slot get no "D"). Objects are told apart by ``id()``.
"""

from __future__ import annotations

import functools
import weakref
from time import monotonic_ns
from typing import Any, Callable, Dict, Optional, Sequence, TypeVar

from ..model.custom import ObjectEvent
from ..reprs import bounded_repr
from . import log as _log
from .log import EventLog

C = TypeVar("C", bound=type)
WHEN = ("before", "after", "both")


def snapshot(
    *attributes: str,
    methods: Sequence[str] = (),
    when: str = "after",
    name: Optional[str] = None,
) -> Callable[[C], C]:
    """Class decorator: snapshot ``attributes`` after ``__init__`` and around ``methods`` (see module doc).

    ``when`` is "before", "after" or "both" (around each method in ``methods``); ``name`` labels the
    objects in the viewer (default: the class's qualified name).
    """
    if not attributes:
        raise TypeError("snapshot() needs at least one attribute name")
    for attribute in attributes:
        if not isinstance(attribute, str):
            raise TypeError(f"snapshot(): attribute names must be strings, not {type(attribute).__name__}")
    if when not in WHEN:
        raise ValueError(f"snapshot(): when must be one of {', '.join(WHEN)}, not {when!r}")
    if isinstance(methods, str):
        methods = [methods]
    chosen = tuple(attributes)

    def decorate(cls: C) -> C:
        if not isinstance(cls, type):
            raise TypeError(f"snapshot() decorates a class, not {type(cls).__name__}")
        label = name or cls.__qualname__
        for method in methods:
            original = getattr(cls, method, None)
            if not callable(original):
                raise TypeError(f"snapshot(): {cls.__qualname__} has no method {method!r}")
            setattr(cls, method, _around(original, label, chosen, when))
        init = getattr(cls, "__init__")  # noqa: B009 - mypy rejects cls.__init__ on a type variable
        setattr(cls, "__init__", _around(init, label, chosen, "after"))  # noqa: B010
        return cls

    return decorate


def take_snapshot(obj: Any, *attributes: str, name: Optional[str] = None) -> None:
    """Record one "O" snapshot of ``obj``'s ``attributes`` now (an "N" first if it is new)."""
    log = _log.active()
    if log is not None:
        _record(log, obj, name or type(obj).__qualname__, attributes)


def _around(
    method: Callable[..., Any], label: str, attributes: Sequence[str], when: str
) -> Callable[..., Any]:
    before = when in ("before", "both")
    after = when in ("after", "both")

    @functools.wraps(method)
    def snapshotting(self: Any, *args: Any, **kwargs: Any) -> Any:
        log = _log.active()
        if log is None:
            return method(self, *args, **kwargs)
        if before:
            _record(log, self, label, attributes)
        result = method(self, *args, **kwargs)
        if after:
            log = _log.active()  # the method may have stopped the tracer
            if log is not None:
                _record(log, self, label, attributes)
        return result

    return snapshotting


def _record(log: EventLog, obj: Any, label: str, attributes: Sequence[str]) -> None:
    thread = log.recording_thread()
    if thread is None:
        return
    key = id(obj)
    values: Dict[str, str] = {}
    for attribute in attributes:
        try:
            value = getattr(obj, attribute)
        except Exception:  # noqa: BLE001 - not set yet, or a property that fails: leave it out
            continue
        values[attribute] = bounded_repr(value, log.repr_limit)
    ns = monotonic_ns()
    if key not in log.live_objects:
        log.live_objects.add(key)
        log.objects.append(ObjectEvent(ns, "N", label, key, thread.native_id, {}))
        try:  # weakref.ref and partial are C: nothing here shows up in the trace (weakref.finalize would)
            log.watchers[key] = weakref.ref(obj, functools.partial(_collected, log, key, label))
        except TypeError:  # no weak references to this class's instances: no "D" event
            pass
    log.objects.append(ObjectEvent(ns, "O", label, key, thread.native_id, values))


def _collected(log: EventLog, key: int, label: str, ref: Any) -> None:
    """Weak reference callback: the object is gone (a "D" event if its recording still runs)."""
    if log.watchers.get(key) is ref:
        del log.watchers[key]
    if _log.active() is not log or key not in log.live_objects:
        return
    log.live_objects.discard(key)
    thread = log.thread()  # the thread that dropped the last reference (or ran the collection)
    log.objects.append(ObjectEvent(monotonic_ns(), "D", label, key, thread.native_id, {}))
