"""The data model shared by writers and views."""

from .trace import ProcessTrace, ThreadTrace, Trace

__all__ = ["ProcessTrace", "ThreadTrace", "Trace"]
