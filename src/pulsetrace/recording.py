"""What a core hands over when it stops: raw per-thread event chunks plus the function table.

This is the boundary between *collect* and *model*: both cores produce a ``Recording``; the model
(``pulsetrace.model.Trace``) is built from it and from the native file alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, NamedTuple, Optional


class FunctionInfo(NamedTuple):
    """One row of the function table; a record's ``func`` field is an index into it."""

    kind: int  # events.FUNC_PYTHON or events.FUNC_C
    name: str  # qualified name: "Class.method" / "func" for Python, "module.func" / "Type.method" for C
    filename: str  # source path for Python functions, "" for C functions
    lineno: int  # first line for Python functions, 0 for C functions


@dataclass
class ThreadRecording:
    """The events of one thread, in the order they happened."""

    ident: int  # threading.get_ident() of the thread
    native_id: int  # OS thread id (threading.get_native_id())
    name: str  # threading.Thread.name at the time tracing stopped (or the thread ended)
    chunks: List[bytes] = field(default_factory=list)  # packed events.RECORD records
    # log_args / log_retval: text keyed by the index of a record in this thread's record sequence
    # (0 = first record of the first chunk): args by the ENTER record of the call, return values by
    # its EXIT_RETURN record. Empty unless those options are on.
    args: Dict[int, str] = field(default_factory=dict)
    retvals: Dict[int, str] = field(default_factory=dict)


@dataclass
class Recording:
    """Everything a core recorded between start() and stop()."""

    functions: List[FunctionInfo]
    threads: List[ThreadRecording]
    start_ns: int  # monotonic ns when recording started
    stop_ns: int  # monotonic ns when recording stopped
    core: str  # "c" or "python"
    backend: str  # "monitoring" or "setprofile"
    core_reason: Optional[str] = None  # why this core was chosen
    lost_events: int = 0  # events that could not be stored (out of memory); reported, never hidden
    warnings: List[str] = field(default_factory=list)  # anything that makes the recording incomplete
