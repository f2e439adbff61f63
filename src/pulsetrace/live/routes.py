"""The live view's pages on the shared server (``pulsetrace.server``): which paths serve what.

The server's own rules decide first (loopback Host check, the token on other addresses). Here: a
file is served only if it is in the traced set, and only by the id the live view gave it
(``/file/f3``, ``/api/source/f3``), never by a path taken from the request; anything else is 404.
The only request that changes anything is the reset of the display's counters, a POST that must
carry the ``X-Pulsetrace`` header (which a cross-site form cannot send). No endpoint runs code.
"""

from __future__ import annotations

import json
import os
import re
from typing import Callable, Optional, Tuple
from urllib.parse import quote

from ..reports.heatmap import source_lines
from ..reports.highlight import SHARED_CLASSES, source_runs
from ..server import Event, NotFound, Request, Route, RouteServer
from .documents import page_document
from .files import read_text
from .state import FINISHED, LiveState

WEB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "web")
HEATMAP_WEB_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "web")
_JS = "text/javascript; charset=utf-8"
_JSON = "application/json"
_HTML = "text/html; charset=utf-8"
_TEXT_PLAIN = "text/plain; charset=utf-8"
ASSETS = {  # the only files served from disk besides traced sources: a fixed list
    "/static/live.js": (WEB_DIR, "live.js", _JS),
    "/static/live_data.js": (WEB_DIR, "live_data.js", _JS),
    "/static/live.css": (WEB_DIR, "live.css", "text/css; charset=utf-8"),
    # the heatmap page, which shows the live view's files
    "/static/heatmap.css": (HEATMAP_WEB_DIR, "heatmap.css", "text/css; charset=utf-8"),
    "/static/heatmap.js": (HEATMAP_WEB_DIR, "heatmap.js", _JS),
    "/static/heatmap_file.js": (HEATMAP_WEB_DIR, "heatmap_file.js", _JS),
    "/static/heatmap_index.js": (HEATMAP_WEB_DIR, "heatmap_index.js", _JS),
    "/static/heatmap_morph.js": (HEATMAP_WEB_DIR, "heatmap_morph.js", _JS),
    "/static/heatmap_highlight.js": (HEATMAP_WEB_DIR, "heatmap_highlight.js", _JS),
    "/static/heatmap_common.js": (HEATMAP_WEB_DIR, "heatmap_common.js", _JS),
}
_MODULE_IMPORT = re.compile(r'(from\s+"\./[\w.-]+\.js)(")')
FILE_PAGE = re.compile(r"/file/(f\d{1,9})")
SOURCE = re.compile(r"/api/source/(f\d{1,9})")


def _dumps(document: object) -> str:
    return json.dumps(document, separators=(",", ":"))


class LiveRoutes:
    """Registers the live view's routes on a server and answers them from a LiveState."""

    def __init__(self, state: LiveState, server: RouteServer) -> None:
        self.state = state
        self.token = server.token
        self._query = f"?token={quote(self.token)}" if self.token is not None else ""
        self._shell = ""
        server.add("/", Route(_HTML, body=self._page))
        server.add("/index.html", Route(_HTML, body=self._page))
        server.add(FILE_PAGE, Route(_HTML, body=self._file_page))
        server.add(SOURCE, Route(_JSON, body=self._source))
        server.add("/api/state", Route(_JSON, body=self._state))
        server.add("/api/reset", Route(_TEXT_PLAIN, body=self._reset, method="POST"))
        server.add("/events", Route("text/event-stream", events=self._events, watchers=state.listening))
        for path, (directory, name, content_type) in ASSETS.items():
            server.add(path, Route(content_type, body=self._asset_body(directory, name, content_type)))

    # -- pages and assets ----------------------------------------------------------------------------

    def _page(self, request: Request) -> bytes:
        if not self._shell:
            with open(os.path.join(WEB_DIR, "live.html"), encoding="utf-8") as handle:
                shell = handle.read()
            # the page's own assets carry the token too when the server needs one
            self._shell = shell.replace("{{QUERY}}", self._query)
        return self._shell.encode()

    def _file_page(self, request: Request) -> bytes:
        if self.state.files.path_of(request.params[0]) is None:
            raise NotFound
        return self._page(request)

    def _asset_body(self, directory: str, name: str, content_type: str) -> Callable[[Request], bytes]:
        def body(request: Request) -> bytes:
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                text = handle.read()
            if self._query and content_type == _JS:
                # a module's own imports must carry the token as well, or the server refuses them
                text = _MODULE_IMPORT.sub(lambda match: match.group(1) + self._query + match.group(2), text)
            return text.encode("utf-8")

        return body

    # -- data ------------------------------------------------------------------------------------

    def _file_param(self, request: Request) -> Tuple[Optional[str], Optional[str]]:
        """The file id a page asked about (``?file=``) and its path; (None, None) for none or a bad id."""
        file_id = request.query.get("file")
        path = self.state.files.path_of(file_id) if file_id else None
        return (file_id, path) if path is not None else (None, None)

    def _state(self, request: Request) -> bytes:
        """The page's document of the current tick: everything, or what changed after ``?since=N``."""
        try:
            since = int(request.query.get("since", "-1"))
        except ValueError:
            since = -1
        return _dumps(page_document(self.state.current, *self._file_param(request), since)).encode()

    def _events(self, request: Request, seq: int, timeout: float) -> Event:
        tick = self.state.wait_for(seq, timeout)
        # The document is made only for a tick the stream has not sent (else only seq is read), and
        # holds what changed after the stream's last tick (everything for its first).
        data = _dumps(page_document(tick, *self._file_param(request), seq)) if tick.seq != seq else ""
        return Event(tick.seq, data, last=tick.status == FINISHED)

    def _reset(self, request: Request) -> bytes:
        if request.headers.get("x-pulsetrace") != "1":
            raise NotFound
        self.state.reset()
        return b""

    def _source(self, request: Request) -> bytes:
        path = self.state.files.path_of(request.params[0])
        text = read_text(path) if path is not None else None
        if text is None:
            raise NotFound
        # Highlighted as the heatmap is: Pygments' runs per line (remembered per text), drawn by the page.
        document = {
            "id": request.params[0],
            "path": path,
            "lines": source_lines(text),
            "runs": source_runs(text),
            "classes": SHARED_CLASSES.names,
        }
        return _dumps(document).encode()

