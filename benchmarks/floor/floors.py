"""The floors as tracers: start() installs the C callbacks, stop() removes them.

sys.monitoring floors register the C functions of floor.c as callbacks under a free tool id, never
taking one that is in use. Profile floors install floor.c's profile function with PyEval_SetProfile.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List, Tuple

from . import build

PYTHON_EVENTS = ("PY_START", "PY_RESUME", "PY_RETURN", "PY_YIELD", "PY_UNWIND", "PY_THROW")
C_EVENTS = ("CALL", "C_RETURN", "C_RAISE")


class MonitoringFloor:
    """A sys.monitoring tool whose callbacks are C functions that record (or do nothing)."""

    def __init__(self, events: Tuple[str, ...], record: bool) -> None:
        self.events = events
        self.record = record
        self.tool_id = -1
        if not hasattr(sys, "monitoring"):
            raise RuntimeError("sys.monitoring needs Python 3.12+")
        self.module: Any = build.load()

    def _callbacks(self) -> Dict[str, Any]:
        if not self.record:
            return {event: self.module.noop for event in self.events}
        return {event: getattr(self.module, "record_" + event.lower()) for event in self.events}

    def start(self) -> None:
        monitoring = sys.monitoring  # type: ignore[attr-defined]
        free: List[int] = [i for i in range(6) if monitoring.get_tool(i) is None]
        if not free:
            raise RuntimeError("no free sys.monitoring tool id")
        self.tool_id = free[-1]
        monitoring.use_tool_id(self.tool_id, "pulsetrace-benchmark-floor")
        mask = 0
        for event, callback in self._callbacks().items():
            number = getattr(monitoring.events, event)
            monitoring.register_callback(self.tool_id, number, callback)
            mask |= number
        monitoring.set_events(self.tool_id, mask)

    def stop(self) -> None:
        monitoring = sys.monitoring  # type: ignore[attr-defined]
        monitoring.set_events(self.tool_id, 0)
        for event in self.events:
            monitoring.register_callback(self.tool_id, getattr(monitoring.events, event), None)
        monitoring.free_tool_id(self.tool_id)

    def records(self) -> int:
        return int(self.module.count())


class ProfileFloor:
    """A C PyEval_SetProfile function that records (or does nothing)."""

    def __init__(self, record: bool) -> None:
        self.record = record
        self.module: Any = build.load()

    def start(self) -> None:
        self.module.set_profile("record" if self.record else "noop")

    def stop(self) -> None:
        self.module.set_profile("off")

    def records(self) -> int:
        return int(self.module.count())
