"""Custom events: what the program itself puts on the timeline, beside the function slices.

The API (exported as ``pulsetrace.instant`` etc.) records into the ``EventLog`` of the Tracer that
is recording, and costs next to nothing when none is. The hooks (``printing``, ``gcevents``,
``exceptions``) are installed by the Tracer for the options ``log_print``, ``log_gc`` and
``log_exceptions``. What is recorded is described in pulsetrace.model.custom.
"""

from .api import Counter, counter, instant, span
from .log import CustomRecording, EventLog, ThreadEvents
from .loghandler import LogHandler
from .snapshots import snapshot, take_snapshot
from .sparse import trace_only

__all__ = [
    "Counter",
    "CustomRecording",
    "EventLog",
    "LogHandler",
    "ThreadEvents",
    "counter",
    "instant",
    "snapshot",
    "span",
    "take_snapshot",
    "trace_only",
]
