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
    """Shows ``label`` with a spinner, the time taken and (through ``update``) the bytes written,
    while the ``with`` block runs long.

    Two things redraw the line: ``update(bytes_written)``, which a writer calls as it goes (it works
    everywhere, including at interpreter shutdown, where Python 3.12+ refuses to start threads and
    ``pulsetrace run`` saves its trace), and a ticker thread, when one can be started, so the line
    also moves while nothing is written (reading a trace, encoding a large thread).
    """

    def __init__(self, label: str, stream: TextIO, *, after: Optional[float] = None) -> None:
        self.label = label
        self.stream = stream
        self.after = delay_from_environment() if after is None else after
        self.shown = False  # whether the line was ever drawn (then it is erased at the end)
        self._active = False
        self._done = threading.Event()
        self._lock = threading.Lock()  # the ticker and update() draw in turn
        self._thread: Optional[threading.Thread] = None
        self._start = 0.0
        self._last_draw = 0.0
        self._frame = 0
        self._bytes = -1

    def __enter__(self) -> Progress:
        self._active = is_terminal(self.stream)
        if self._active:
            self._start = time.monotonic()
            thread = threading.Thread(target=self._tick, name="pulsetrace-progress", daemon=True)
            try:
                thread.start()
                self._thread = thread
            except RuntimeError:  # at interpreter shutdown (3.12+): update() alone draws
                pass
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
        self._active = False
        if self.shown:
            self._write(ERASE)

    def update(self, bytes_written: int) -> None:
        """The work has written this many bytes so far; redraws the line when it is due."""
        self._bytes = bytes_written
        if self._active:
            self._draw_if_due()

    def _tick(self) -> None:
        if self._done.wait(self.after):
            return
        while not self._done.is_set():
            self._draw_if_due()
            self._done.wait(INTERVAL)

    def _draw_if_due(self) -> None:
        now = time.monotonic()
        elapsed = now - self._start
        if elapsed < self.after or now - self._last_draw < INTERVAL or not self._lock.acquire(blocking=False):
            return
        try:
            if not self._active:
                return
            self._last_draw = now
            size = f" {self._bytes / 1048576:.1f} MiB" if self._bytes >= 0 else ""
            spinner = SPINNER[self._frame % len(SPINNER)]
            self._frame += 1
            self._write(f"{ERASE}pulsetrace: {self.label} {spinner}{size} {elapsed:.1f} s")
            self.shown = True
        finally:
            self._lock.release()

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away: the work matters more than the line
            self._active = False
            self._done.set()
