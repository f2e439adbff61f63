"""A progress line on the terminal for work that takes more than a second (saving, converting).

``with Progress("saving result.json", sys.stderr): save(...)`` shows nothing when the work ends
within ``after`` seconds, nor when the stream is not an interactive terminal (a pipe, a file, CI).
Otherwise a background thread redraws one line, ``pulsetrace: saving result.json ⠙ 2.4 s``, a few
times a second, and erases it when the work ends, so the lines that follow are as they would be
without it. The command line uses it; library code never prints (the Tracer does not).

``PULSETRACE_PROGRESS_AFTER`` changes the delay (seconds), which lets tests see the line quickly.
"""

from __future__ import annotations

import os
import threading
import time
from types import TracebackType
from typing import Optional, TextIO, Type

DEFAULT_AFTER = 1.0
INTERVAL = 0.2
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ERASE = "\r\x1b[K"  # back to the start of the line, clear to its end


def delay_from_environment() -> float:
    """The delay before the line appears: PULSETRACE_PROGRESS_AFTER, else one second."""
    try:
        return max(float(os.environ.get("PULSETRACE_PROGRESS_AFTER", DEFAULT_AFTER)), 0.0)
    except ValueError:
        return DEFAULT_AFTER


def is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


class Progress:
    """Shows ``label`` with a spinner and the time taken while the ``with`` block runs long."""

    def __init__(self, label: str, stream: TextIO, *, after: Optional[float] = None) -> None:
        self.label = label
        self.stream = stream
        self.after = delay_from_environment() if after is None else after
        self.shown = False  # whether the line was ever drawn (then it is erased at the end)
        self._done = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._start = 0.0

    def __enter__(self) -> Progress:
        if is_terminal(self.stream):
            self._start = time.monotonic()
            self._thread = threading.Thread(target=self._run, name="pulsetrace-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        if self.shown:
            self._write(ERASE)

    def _run(self) -> None:
        if self._done.wait(self.after):
            return
        frame = 0
        while not self._done.is_set():
            elapsed = time.monotonic() - self._start
            self._write(f"{ERASE}pulsetrace: {self.label} {SPINNER[frame % len(SPINNER)]} {elapsed:.1f} s")
            self.shown = True
            frame += 1
            self._done.wait(INTERVAL)

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away: the work matters more than the line
            self._done.set()
