"""The live view's line numbers: the product's line collector (``linecollect``), lines only.

The live view counts with the same ``LineCollector`` as ``--lines`` and the heatmap, so a line's hits,
self time and total time mean the same thing on the live page as in a report. It runs the collector
alone (no timeline is recorded: the live page never shows one), keeps the selected files in detail and
counts nothing else: code of other files is not followed at all, and its time is the calling line's own
(as with ``include_files``). On 3.12+ the collector has a sys.monitoring tool id of its own: every
thread, those already running included, and the frames already executing from their next line.
Before 3.12 it uses the trace hook: the calling thread (its running frames from their next line) and
threads started afterwards; threads already running are not seen.

What the collector does not keep, the live state derives: recency comes from the change of hit counts
between snapshots (``state.LiveState``).
"""

from __future__ import annotations

import threading
from types import CodeType
from typing import Optional

from ..filters import RECORD, SKIP
from ..linecollect import LineCollector, LineCollectorError
from ..model.lines import LineStats
from .files import FileSet


class CollectorError(RuntimeError):
    """Line counting could not start (no free sys.monitoring tool id, the trace hook is taken)."""


class LiveLines:
    """Counts the lines of a FileSet's files with the line collector; readable while it runs and after."""

    def __init__(self, files: FileSet, backend: Optional[str] = None) -> None:
        """``backend``: a ``linecollect`` backend name to force one (tests), None for the default."""
        self.files = files
        try:
            self._collector = LineCollector(detail="all", code_filter=self._record_selected, backend=backend)
        except LineCollectorError as exc:
            raise CollectorError(str(exc)) from None
        self._final: Optional[LineStats] = None
        # held while stopping: a snapshot asked meanwhile waits for the final numbers, not an empty set
        self._stopping = threading.Lock()

    @property
    def backend(self) -> str:
        """The line collector's backend (``c-monitoring``, ``settrace``, ...)."""
        return self._collector.backend

    @property
    def running(self) -> bool:
        return self._collector.running

    def _record_selected(self, code: CodeType) -> int:
        return RECORD if code.co_filename in self.files else SKIP

    def start(self) -> None:
        """Start counting: the calling frame from its next line, its callers as they go on."""
        if self._collector.running:
            return
        try:
            self._collector.start()
        except (LineCollectorError, RuntimeError) as exc:  # RuntimeError: another C line collector runs
            raise CollectorError(str(exc)) from None
        self._final = None

    def stop(self) -> None:
        """Stop counting; the final numbers stay readable through snapshot()."""
        with self._stopping:
            if self._collector.running:
                self._final = self._collector.stop()

    def ignore_current_thread(self) -> None:
        """Never count lines run by the calling thread (the live view's server and ticker); after stop()
        there is nothing left to ignore."""
        if self._collector.running:
            self._collector.ignore_current_thread()

    def snapshot(self) -> LineStats:
        """The numbers so far (from any thread while counting), or the final ones after stop()."""
        if self._collector.running:
            try:
                return self._collector.snapshot()
            except LineCollectorError:  # being stopped by another thread: its final numbers, below
                pass
        with self._stopping:
            return self._final if self._final is not None else LineStats()
