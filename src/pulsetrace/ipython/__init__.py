"""pulsetrace in IPython and Jupyter: ``%load_ext pulsetrace``, then ``%%pulsetrace`` or ``%pulsetrace``.

``%%pulsetrace [options]`` traces the cell below it; ``%pulsetrace [options] statement`` traces one
statement. Both show the functions with the most self time and keep the trace in ``_pulsetrace``
(see ``magic.MAGIC_DOC``). Only this package imports IPython, and only when the extension loads.
"""

from __future__ import annotations

from typing import Any

from .magic import register, unregister


def load_ipython_extension(ipython: Any) -> None:
    """Called by IPython's ``%load_ext pulsetrace``: register the magics."""
    register(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Called by ``%unload_ext pulsetrace`` (and ``%reload_ext``): remove the magics."""
    unregister(ipython)


__all__ = ["load_ipython_extension", "unload_ipython_extension"]
