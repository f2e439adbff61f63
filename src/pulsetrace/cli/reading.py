"""Reading a trace for a subcommand: progress on stderr while it reads, and a file that cannot be read
ends the command with status 1 and the reason (no traceback)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

from ..model import Trace, read_any_trace
from ..model.native import TraceFileError
from ..progress import Progress
from .base import CLIError


@contextmanager
def reading(path: str) -> Iterator[None]:
    """Around the reading of ``path``: shows progress; TraceFileError and OSError become CLIError."""
    try:
        with Progress(f"reading {path}", sys.stderr):
            yield
    except TraceFileError as exc:
        raise CLIError(str(exc), 1) from None
    except OSError as exc:
        raise CLIError(f"cannot read {path!r}: {exc.strerror or exc}", 1) from None


def read_trace(path: str) -> Trace:
    """The trace in ``path`` (native or Chrome JSON), or CLIError."""
    with reading(path):
        return read_any_trace(path)
