"""pulsetrace: see a Python program run.

>>> import pulsetrace
>>> with pulsetrace.Tracer(output="trace.json"):
...     work()
"""

from .custom import LogHandler, counter, instant, snapshot, span, take_snapshot, trace_only
from .filters import ignore_function
from .tracer import Tracer, TracerError, running_tracer

__version__ = "0.1.0"

__all__ = [
    "LogHandler",
    "Tracer",
    "TracerError",
    "__version__",
    "counter",
    "ignore_function",
    "instant",
    "running_tracer",
    "snapshot",
    "span",
    "take_snapshot",
    "trace_only",
]
