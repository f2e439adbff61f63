"""pulsetrace: see a Python program run.

>>> import pulsetrace
>>> with pulsetrace.Tracer(output="trace.json"):
...     work()
"""

from .filters import ignore_function
from .tracer import Tracer, TracerError, running_tracer

__version__ = "0.1.0"

__all__ = ["Tracer", "TracerError", "__version__", "ignore_function", "running_tracer"]
