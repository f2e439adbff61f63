"""The data model shared by writers and views, and ``read_any_trace`` to open a trace file of any format."""

from .any_trace import read_any_trace
from .custom import CounterSample, Instant, ObjectEvent, Span
from .lines import CallEdge, CodeKey, FunctionSummary, LineStat, LineStats
from .trace import ProcessTrace, ThreadTrace, Trace

__all__ = [
    "CallEdge",
    "CodeKey",
    "FunctionSummary",
    "LineStat",
    "LineStats",
    "CounterSample",
    "Instant",
    "ObjectEvent",
    "ProcessTrace",
    "Span",
    "ThreadTrace",
    "Trace",
    "read_any_trace",
]
