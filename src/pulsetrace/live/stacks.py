"""Every thread's current stack, with the expression each frame is executing (the ``executing`` package).

Read from the live view's own thread through ``sys._current_frames()``: the program's threads are
not stopped or touched, only looked at while this thread holds the GIL.
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Dict, List, Optional, Set, Tuple

from .files import FileSet

try:
    import executing
except ImportError:  # a dependency, but the stack panel works without it (no expressions)
    executing = None  # type: ignore[assignment]

MAX_FRAMES = 200  # deeper stacks keep their innermost frames; the panel says how many were left out

# (first line, first column, last line, end column): columns count characters from 0, the end is exclusive
Span = Tuple[int, int, int, int]


@dataclass
class FrameInfo:
    """One entry of a stack: where it is and, in traced files, what it is executing."""

    filename: str
    lineno: int
    function: str
    file_id: Optional[str] = None  # set when the file is traced: the entry links to its page
    expression: Optional[Span] = None

    def to_json(self) -> Dict[str, Any]:
        return {
            "file": self.filename,
            "line": self.lineno,
            "function": self.function,
            "id": self.file_id,
            "expr": list(self.expression) if self.expression is not None else None,
        }


@dataclass
class ThreadStack:
    """One thread's stack, outermost frame first (innermost last, as in a traceback)."""

    ident: int
    name: str
    main: bool
    frames: List[FrameInfo] = field(default_factory=list)
    omitted: int = 0  # outer frames left out beyond MAX_FRAMES

    def to_json(self) -> Dict[str, Any]:
        return {
            "ident": self.ident,
            "name": self.name,
            "main": self.main,
            "omitted": self.omitted,
            "frames": [frame.to_json() for frame in self.frames],
        }


def _char_column(source_line: str, byte_column: int) -> int:
    """ast's columns count UTF-8 bytes; the page counts characters."""
    return len(source_line.encode("utf-8")[:byte_column].decode("utf-8", "replace"))


def executing_span(frame: FrameType) -> Optional[Span]:
    """Where the expression the frame is evaluating is, or None when it cannot be told."""
    if executing is None:
        return None
    try:
        found = executing.Source.executing(frame)
        node: Any = found.node
        if node is None:
            return None
        lines = found.source.lines
        start, end = node.lineno, getattr(node, "end_lineno", None)
        start_col, end_col = node.col_offset, getattr(node, "end_col_offset", None)
        if end is None or end_col is None or not 1 <= start <= end <= len(lines):
            return None
        return (
            start,
            _char_column(lines[start - 1], start_col),
            end,
            _char_column(lines[end - 1], end_col),
        )
    except Exception:  # executing declines some frames (no source, odd bytecode): no highlight then
        return None


def capture_stacks(files: FileSet, skip: Set[int]) -> List[ThreadStack]:
    """The stack of every thread except those in ``skip`` (the live view's own), main thread first."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    main_ident = threading.main_thread().ident
    stacks = []
    for ident, top in sys._current_frames().items():
        if ident in skip:
            continue
        chain: List[FrameType] = []
        frame: Optional[FrameType] = top
        while frame is not None:
            chain.append(frame)
            frame = frame.f_back
        del top, frame
        chain = _program_frames(chain)
        stack = ThreadStack(ident, names.get(ident, f"thread {ident}"), ident == main_ident)
        stack.omitted = max(0, len(chain) - MAX_FRAMES)
        for each in reversed(chain[:MAX_FRAMES]):
            code = each.f_code
            info = FrameInfo(code.co_filename, each.f_lineno or code.co_firstlineno, _function_name(code))
            info.file_id = files.file_id(code.co_filename)
            if info.file_id is not None:
                info.expression = executing_span(each)
            stack.frames.append(info)
        chain.clear()  # frames hold their locals alive: drop them now, not at the next collection
        stacks.append(stack)
    stacks.sort(key=lambda s: (not s.main, s.name))
    return stacks


RUNNER_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "runner.py")
_RUNPY_FILES = {"<frozen runpy>", os.path.abspath(runpy.__file__)}


def _program_frames(chain: List[FrameType]) -> List[FrameType]:
    """The program's own frames (``chain`` is innermost first): under ``pulsetrace live`` the frames
    of pulsetrace's runner and of runpy below the program are not the program's, and are left out."""
    for index, frame in enumerate(chain):
        if frame.f_code.co_filename == RUNNER_FILE:
            rest = chain[:index]
            while rest and rest[-1].f_code.co_filename in _RUNPY_FILES:
                rest.pop()
            return rest
    return chain


def _function_name(code: Any) -> str:
    return str(getattr(code, "co_qualname", code.co_name))
