"""A logging.Handler that puts log records on the timeline as instants (level, logger, message)."""

from __future__ import annotations

import logging
from time import monotonic_ns

from ..model.custom import LOG, Instant
from . import log as _log


class LogHandler(logging.Handler):
    """Record each log record as an instant on the thread that logged it, while a Tracer records.

    ``logging.getLogger().addHandler(pulsetrace.LogHandler())``: the instant is named after the
    level and holds ``level``, ``logger`` and ``message`` (the handler's formatted text, by default
    the record's message with any exception traceback). Nothing is recorded when no Tracer records.
    """

    def emit(self, record: logging.LogRecord) -> None:
        found = _log.recording()
        if found is None:
            return
        thread = found[1]
        try:
            message = self.format(record)
        except Exception:  # noqa: BLE001 - logging's rule: a broken record must not break the program
            self.handleError(record)
            return
        args = {"level": record.levelname, "logger": record.name, "message": message}
        event = Instant(monotonic_ns(), record.levelname, LOG, "thread", thread.native_id, args)
        thread.instants.append(event)
