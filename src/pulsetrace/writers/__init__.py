"""Writers: one small class per output format, chosen by name or by the output file's extension.

``save(trace, path)`` is what the Tracer and the CLI call; ``check_writable(path)`` lets them refuse
a bad ``-o`` before the traced program runs. Formats register themselves (see ``registry``); the
built-in ones are imported below.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Optional, Union

from ..model import Trace
from . import chrome_json, collapsed, heatmap, html, native, pstats_writer, speedscope  # noqa: F401  (importing registers the built-in formats)
from .output import STDOUT, OutputError, check_output_path, open_output
from .registry import Sink, Writer, known_extensions, register, writer_for, writer_named, writers

STDOUT_FORMAT = "json"  # "-" has no extension; JSON is what a pipe usually wants

PathArg = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class SaveResult:
    """What ``save`` wrote."""

    path: str
    format: str  # the writer's name
    events: int  # event records in the trace (entries and exits)
    bytes_written: int
    calls: int = 0  # calls (entry/exit pairs) in the trace
    custom_events: int = 0  # instants, spans, counter samples and object events


def choose_writer(path: PathArg, format_name: Optional[str] = None) -> Writer:
    """The writer named ``format_name``, else the one for the path's extension ("-" means JSON)."""
    if format_name is not None:
        return writer_named(format_name)
    name = os.fspath(path)
    return writer_named(STDOUT_FORMAT) if name == STDOUT else writer_for(name)


def check_writable(
    path: PathArg, format_name: Optional[str] = None, *, lines: Optional[bool] = None
) -> Writer:
    """Raise OutputError now if ``save(trace, path)`` would fail for its path or format; return the writer.

    ``lines``: whether the recording will collect line statistics, when that is known before it
    starts; a format that cannot be written without them (the heatmap) is then refused up front
    rather than after the program has run.
    """
    writer = choose_writer(path, format_name)
    if lines is False and writer.needs_lines:
        raise OutputError(
            f"{os.fspath(path)}: the {writer.name} format needs line statistics: record with --lines"
        )
    check_output_path(os.fspath(path))
    return writer


def save(
    trace: Trace,
    path: PathArg,
    format_name: Optional[str] = None,
    *,
    on_write: Optional[Callable[[int], None]] = None,
) -> SaveResult:
    """Write ``trace`` to ``path`` ("-" for stdout) in the format of its extension or ``format_name``;
    ``on_write(bytes so far)`` is called after each write (for a progress display)."""
    name = os.fspath(path)
    writer = choose_writer(name, format_name)
    with open_output(name, on_write) as stream:
        writer.write(trace, stream)
    return SaveResult(
        name, writer.name, trace.event_count, stream.bytes_written, trace.call_count, trace.custom_event_count
    )


__all__ = [
    "STDOUT",
    "OutputError",
    "SaveResult",
    "Sink",
    "Writer",
    "check_output_path",
    "check_writable",
    "choose_writer",
    "known_extensions",
    "open_output",
    "register",
    "save",
    "writer_for",
    "writer_named",
    "writers",
]
