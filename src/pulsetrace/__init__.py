"""pulsetrace: see a Python program run.

>>> import pulsetrace
>>> with pulsetrace.Tracer(output="trace.json"):
...     work()

In IPython or Jupyter: ``%load_ext pulsetrace``, then ``%%pulsetrace`` above a cell.
"""

from typing import Any

from .custom import LogHandler, counter, instant, snapshot, span, take_snapshot, trace_only
from .filters import ignore_function
from .tracer import Tracer, TracerError, running_tracer

__version__ = "0.1.0"


# ``%load_ext pulsetrace`` calls these on this module. The magics live in pulsetrace.ipython, imported
# here and only here, so that importing pulsetrace never imports IPython.
def load_ipython_extension(ipython: Any) -> None:
    """Register ``%%pulsetrace`` and ``%pulsetrace`` in an IPython shell (``%load_ext pulsetrace``)."""
    from .ipython import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the magics again (``%unload_ext pulsetrace``, and ``%reload_ext`` before it reloads)."""
    from .ipython import unload_ipython_extension as unload

    unload(ipython)


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
