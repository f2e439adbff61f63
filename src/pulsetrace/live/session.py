"""A live session: line counting, the state the pages read, the ticker and the server, started and
stopped together.

``pulsetrace.live()`` (from inside a program) and ``pulsetrace live`` (the command) both run one.
With ``daemon=True`` the server dies with the program; the page then shows the last numbers it
received, marked finished. With ``daemon=False`` (``--keep-serving``) the program's end is shown
as finished and the final page stays up until Ctrl-C.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
import webbrowser
from typing import Callable, Optional, TextIO

from ..model.lines import LineStats
from ..server import RouteServer, ServerError
from .files import FileSelector, FileSet
from .lines import CollectorError, LiveLines
from .routes import LiveRoutes
from .state import LiveState

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # pulsetrace's own files
DEFAULT_PORT = 9999
TICK_SECONDS = 0.2  # five refreshes a second


class LiveError(Exception):
    """The live view could not start: the message says why (port in use, no tool id, bad host)."""


ReportWriter = Callable[[str, LineStats, FileSet], None]


class LiveSession:
    """One live view of one program."""

    def __init__(
        self,
        selector: FileSelector,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        open_browser: bool = False,
        keep_serving: bool = False,
        output: Optional[str] = None,
        report_writer: Optional[ReportWriter] = None,
        stderr: Optional[TextIO] = None,
        tick_seconds: float = TICK_SECONDS,
        title: str = "live",
    ) -> None:
        self.files = FileSet(selector, exclude_dirs=[PACKAGE_DIR])
        self.collector = LiveLines(self.files)
        self.state = LiveState(self.collector.snapshot, self.files, title)
        self.host = host
        self.server = RouteServer(port, host, on_thread=self._own_thread)
        self.token = self.server.token  # any host but loopback needs one
        self.routes = LiveRoutes(self.state, self.server)
        self.open_browser = open_browser
        self.keep_serving = keep_serving
        self.output = output
        self.report_writer = report_writer
        self._stderr = stderr if stderr is not None else sys.stderr
        self._tick_seconds = tick_seconds
        self._ticker: Optional[threading.Thread] = None
        self._stop_ticking = threading.Event()
        self._finished = False
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The address of the index page (with the token when one is needed)."""
        return self.server.url

    def say(self, message: str) -> None:
        try:
            self._stderr.write(f"pulsetrace: {message}\n")
            self._stderr.flush()
        except Exception:  # a closed stderr must not end the program
            pass

    # -- start ------------------------------------------------------------------------------------

    def listen(self) -> None:
        """Bind the server (before the program runs: a port in use is reported first)."""
        try:
            self.server.bind()
        except ServerError as exc:
            raise LiveError(str(exc)) from None

    def start(self) -> None:
        """Start counting (the calling frame from its next line), ticking and serving; print the address."""
        self.listen()
        try:
            self.collector.start()
        except CollectorError as exc:
            self.server.stop()
            raise LiveError(str(exc)) from None
        self._ticker = threading.Thread(target=self._tick, name="pulsetrace-live-ticker", daemon=True)
        self._ticker.start()
        self.server.start()
        self.say(f"live view at {self.url}")
        if self.open_browser:  # from a thread: a browser command that waits must not hold the program
            threading.Thread(target=self._open_tab, name="pulsetrace-live-browser", daemon=True).start()

    def _open_tab(self) -> None:
        self._own_thread()
        try:
            webbrowser.open(self.url, new=2)
        except Exception:  # no browser: the address is printed anyway
            pass

    def _own_thread(self) -> None:
        """Called first in each of the live view's threads: never counted, never in the stack panel."""
        self.collector.ignore_current_thread()
        self.state.skip_threads.add(threading.get_ident())

    def _tick(self) -> None:
        self._own_thread()
        while not self._stop_ticking.wait(self._tick_seconds):
            try:
                self.state.refresh()
            except Exception as exc:  # noqa: BLE001 - one bad tick must not stop the display
                self.say(f"live view: a refresh failed: {type(exc).__name__}: {exc}")

    # -- end ---------------------------------------------------------------------------------------

    def finish(self) -> None:
        """The program ended: stop counting, show the final numbers as finished, write the report,
        then either stop the server or keep it up until Ctrl-C."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
        self.server.answer_inline()  # finish() runs at exit, when 3.12+ starts no new thread
        self.collector.stop()
        self._stop_ticking.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
        keep = self.keep_serving
        try:
            self._write_report()
            if keep:  # said before the page shows it: whoever sees "finished" can press Ctrl-C
                self.say(f"the program has finished; its final numbers stay at {self.url} until Ctrl-C")
            self.state.finish()
            if keep:
                while True:
                    time.sleep(3600)
            else:
                time.sleep(self._tick_seconds)  # let the open pages receive the finished state
        except KeyboardInterrupt:
            pass
        finally:
            self.server.stop()

    def _write_report(self) -> None:
        if not self.output or self.report_writer is None:
            return
        try:
            self.report_writer(self.output, self.collector.snapshot(), self.files)
        except Exception as exc:  # noqa: BLE001 - the program's own result stands
            self.say(f"could not write {self.output}: {exc}")
        else:
            self.say(f"wrote the heatmap report to {self.output}")

    def stop_quietly(self) -> None:
        """Stop everything without a final state or report: the program never started."""
        with self._lock:
            self._finished = True
        self.collector.stop()
        self._stop_ticking.set()
        self.server.stop()

    def finish_at_exit(self) -> None:
        """Call finish() when the interpreter exits (after the program's non-daemon threads end)."""
        atexit.register(self.finish)
