"""The one place that imports the C extension, pulsetrace._core, and says why when it cannot."""

from __future__ import annotations

from functools import cache
from types import ModuleType
from typing import Optional, Tuple


@cache
def load_c_extension() -> Tuple[Optional[ModuleType], str]:
    """(the extension module, or None; the reason in words)."""
    try:
        from . import _core  # type: ignore[attr-defined]
    except ImportError as exc:  # not built (no compiler at install time): the Python twins serve
        return None, f"C extension unavailable ({exc})"
    if getattr(_core, "__file__", None) is None or not hasattr(_core, "Recorder"):
        # In a source tree without a build, the C sources' folder imports as a namespace package.
        return None, "C extension not built for this interpreter"
    return _core, "C extension available"


def c_extension() -> Optional[ModuleType]:
    """The C extension module, or None when it is not built."""
    return load_c_extension()[0]
