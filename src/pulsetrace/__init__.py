"""pulsetrace: see a Python program run.

>>> import pulsetrace
>>> with pulsetrace.Tracer(output="trace.json"):
...     work()

In IPython or Jupyter: ``%load_ext pulsetrace``, then ``%%pulsetrace`` above a cell.
"""

import importlib
from typing import TYPE_CHECKING, Any, Dict, List

__version__ = "0.1.0"

# The public names load their module on first use: pytest imports this package at every start once
# pulsetrace is installed (its plugin entry point), and should not pay for the tracer then.
_PUBLIC: Dict[str, str] = {
    "LogHandler": "custom",
    "counter": "custom",
    "instant": "custom",
    "snapshot": "custom",
    "span": "custom",
    "take_snapshot": "custom",
    "trace_only": "custom",
    "ignore_function": "filters",
    "Tracer": "tracer",
    "TracerError": "tracer",
    "running_tracer": "tracer",
}

if TYPE_CHECKING:
    from . import live
    from .custom import LogHandler, counter, instant, snapshot, span, take_snapshot, trace_only
    from .filters import ignore_function
    from .live import files
    from .tracer import Tracer, TracerError, running_tracer


# ``pulsetrace.live(...)`` is the live package itself (callable); ``pulsetrace.files`` its file selectors.
_MODULES: Dict[str, str] = {"live": ".live", "files": ".live.files"}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value = importlib.import_module(_MODULES[name], __name__)
        globals()[name] = value
        return value
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'pulsetrace' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_PUBLIC) | set(_MODULES))


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
    "files",
    "ignore_function",
    "instant",
    "live",
    "running_tracer",
    "snapshot",
    "span",
    "take_snapshot",
    "trace_only",
]
