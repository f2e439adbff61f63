"""The data model shared by writers and views."""

from .custom import CounterSample, Instant, ObjectEvent, Span
from .trace import ProcessTrace, ThreadTrace, Trace

__all__ = ["CounterSample", "Instant", "ObjectEvent", "ProcessTrace", "Span", "ThreadTrace", "Trace"]
