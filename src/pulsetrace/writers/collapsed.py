"""Collapsed (folded) stacks: one line per distinct stack, for flamegraph.pl, inferno, speedscope.

Each line is ``frame;frame;...;frame weight``, frames root first, weight the stack's self time in
whole microseconds (summed over all its slices in ns, then rounded half up); lines that round to
zero are left out, and lines are sorted so the same trace gives the same file.

Every stack starts with two frames of our own, so processes and threads stay apart in a flame graph:
the process (``python prog.py (pid 123)``) and the thread (``MainThread (tid 4567)``, by OS thread id).
Then one frame per function: ``qualified.name (file.py:12)`` for Python functions (the base name of
the file keeps frames short; the line tells same-named functions apart), the bare name for C
functions (``builtins.len``, ``list.append``).

The format has no escapes, so a ";" inside a frame becomes "," and line breaks (anything
``str.splitlines`` splits on) become spaces; spaces are fine, as readers split the weight off at the
last one. Text is UTF-8; unencodable lone surrogates are written as backslash escapes.
"""

from __future__ import annotations

import os
from typing import Dict, List

from ..events import FUNC_C
from ..model import Trace
from ..recording import FunctionInfo
from ..reports.stacks import self_time_by_stack
from .registry import Sink, Writer, register

NS_PER_US = 1000

# Every character str.splitlines() breaks at, so no reader splitting lines can cut a frame in two.
_LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_CLEAN = str.maketrans({";": ",", **{char: " " for char in _LINE_BREAKS}})


@register
class CollapsedWriter(Writer):
    """Brendan Gregg's collapsed stack format, weighted by self time in microseconds."""

    name = "collapsed"
    extensions = (".collapsed", ".folded")
    description = "collapsed stacks, self time in microseconds (flamegraph.pl, inferno, speedscope)"

    def write(self, trace: Trace, stream: Sink) -> None:
        for line in collapsed_lines(trace):
            stream.write(line.encode("utf-8", "backslashreplace") + b"\n")


def collapsed_lines(trace: Trace) -> List[str]:
    """The lines of the file, without their newlines, sorted."""
    weights: Dict[str, int] = {}  # stack text -> self ns (different stacks can share one text)
    for process in trace.processes:
        process_frame = clean_frame(f"{process.name} (pid {process.pid})")
        texts = [clean_frame(frame_text(function)) for function in process.functions]
        for thread in process.threads:
            root = f"{process_frame};{clean_frame(f'{thread.name} (tid {thread.native_id})')}"
            for stack, ns in self_time_by_stack(thread).items():
                line = ";".join([root, *(texts[func] for func in stack)])
                weights[line] = weights.get(line, 0) + ns
    lines = []
    for text in sorted(weights):
        weight = (weights[text] + NS_PER_US // 2) // NS_PER_US
        if weight > 0:
            lines.append(f"{text} {weight}")
    return lines


def frame_text(function: FunctionInfo) -> str:
    """How one function reads in a stack (before cleaning)."""
    if function.kind == FUNC_C:
        return function.name
    return f"{function.name} ({os.path.basename(function.filename)}:{function.lineno})"


def clean_frame(text: str) -> str:
    """``text`` with the characters that would break the format replaced."""
    return text.translate(_CLEAN)


__all__ = ["CollapsedWriter", "clean_frame", "collapsed_lines", "frame_text"]
