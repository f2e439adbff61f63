"""The live view's HTTP surface: which requests get what, and the security rules that decide first.

Rules: a file is served only if it is in the traced set, and only by the id the live view gave it
(``/file/f3``), never by a path taken from the request; anything else is 404. When the server
listens on another address than loopback, every request must carry the random token printed at
start (``?token=...``), else 403. On loopback the Host header must name the loopback address, so
that a web page cannot reach the server through a DNS name of its own (DNS rebinding). The only
request that changes anything is the reset of the display's counters, a POST that must carry the
``X-Pulsetrace`` header (which a cross-site form cannot send). No endpoint runs code.
"""

from __future__ import annotations

import hmac
import json
import os
import re
from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Tuple
from urllib.parse import parse_qsl, quote

from ..reports.heatmap import source_lines
from ..reports.highlight import SHARED_CLASSES, source_runs
from .files import read_text
from .state import LiveState

WEB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "web")
HEATMAP_WEB_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "web")
_JS = "text/javascript; charset=utf-8"
ASSETS = {  # the only files served from disk besides traced sources: a fixed list
    "/static/live.js": (WEB_DIR, "live.js", _JS),
    "/static/live.css": (WEB_DIR, "live.css", "text/css; charset=utf-8"),
    # the heatmap's highlighter (and the helpers it imports): the live page highlights as it does
    "/static/heatmap_highlight.js": (HEATMAP_WEB_DIR, "heatmap_highlight.js", _JS),
    "/static/heatmap_common.js": (HEATMAP_WEB_DIR, "heatmap_common.js", _JS),
}
_MODULE_IMPORT = re.compile(r'(from\s+"\./[\w.-]+\.js)(")')
_FILE_PAGE = re.compile(r"/file/(f\d{1,9})")
_SOURCE = re.compile(r"/api/source/(f\d{1,9})")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


@dataclass
class Response:
    """A complete answer; ``stream`` marks the server-sent events stream instead."""

    status: int
    content_type: str = "text/plain; charset=utf-8"
    body: bytes = b""
    stream_file: Optional[str] = None  # for /events: the file id whose lines the stream carries
    stream: bool = False
    headers: Dict[str, str] = field(default_factory=dict)


def _text(status: int, message: str) -> Response:
    return Response(status, body=(message + "\n").encode())


def _json(document: object) -> Response:
    return Response(200, "application/json", json.dumps(document, separators=(",", ":")).encode())


class LiveRoutes:
    """Answers the live view's requests from a LiveState."""

    def __init__(self, state: LiveState, *, token: Optional[str] = None, loopback: bool = True) -> None:
        self.state = state
        self.token = token
        self.loopback = loopback
        self.port = 0  # set once the server is bound: the Host header must name it
        self._shell = ""

    def check(self, query: Mapping[str, str], headers: Mapping[str, str]) -> Optional[Response]:
        """The refusal for a request that breaks a rule, None if it may go on."""
        if self.token is not None:
            given = query.get("token", "")
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return _text(403, "forbidden: this server needs the token printed at its start (?token=...)")
        if self.loopback:
            host = headers.get("host", "")
            allowed = {f"{name}:{self.port}" for name in LOOPBACK_NAMES}
            if host not in allowed:
                return _text(403, "forbidden: unexpected Host header")
        return None

    def answer(
        self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> Response:
        """The response to one request."""
        refused = self.check(query, headers)
        if refused is not None:
            return refused
        if method == "POST":
            if path == "/api/reset" and headers.get("x-pulsetrace") == "1":
                self.state.reset()
                return Response(204)
            return _text(404, "not found")
        if method not in ("GET", "HEAD"):
            return _text(405, "method not allowed")
        if path == "/" or path == "/index.html":
            return self._page()
        match = _FILE_PAGE.fullmatch(path)
        if match:
            if self.state.files.path_of(match.group(1)) is None:
                return _text(404, "not found")
            return self._page()
        match = _SOURCE.fullmatch(path)
        if match:
            return self._source(match.group(1))
        if path == "/api/state":
            return _json(self.state.current.for_page(self._file_param(query)))
        if path == "/events":
            return Response(200, "text/event-stream", stream=True, stream_file=self._file_param(query))
        asset = ASSETS.get(path)
        if asset is not None:
            return self._asset(*asset)
        return _text(404, "not found")

    def _asset(self, directory: str, name: str, content_type: str) -> Response:
        with open(os.path.join(directory, name), encoding="utf-8") as handle:
            text = handle.read()
        if self.token is not None and content_type == _JS:
            # a module's own imports must carry the token as well, or the server refuses them
            query = f"?token={quote(self.token)}"
            text = _MODULE_IMPORT.sub(lambda match: match.group(1) + query + match.group(2), text)
        return Response(200, content_type, text.encode("utf-8"))

    def _file_param(self, query: Mapping[str, str]) -> Optional[str]:
        file_id = query.get("file")
        return file_id if file_id and self.state.files.path_of(file_id) is not None else None

    def _page(self) -> Response:
        if not self._shell:
            with open(os.path.join(WEB_DIR, "live.html"), encoding="utf-8") as handle:
                shell = handle.read()
            # the page's own assets carry the token too when the server needs one
            query = f"?token={quote(self.token)}" if self.token is not None else ""
            self._shell = shell.replace("{{QUERY}}", query)
        return Response(200, "text/html; charset=utf-8", self._shell.encode())

    def _source(self, file_id: str) -> Response:
        path = self.state.files.path_of(file_id)
        if path is None:
            return _text(404, "not found")
        text = read_text(path)
        if text is None:
            return _text(404, "not found")
        # Highlighted as the heatmap is: Pygments' runs per line (remembered per text), drawn by the page.
        runs = source_runs(text)
        return _json(
            {
                "id": file_id,
                "path": path,
                "lines": source_lines(text),
                "runs": runs,
                "classes": SHARED_CLASSES.names,
            }
        )


def split_target(target: str) -> Tuple[str, Dict[str, str]]:
    """A request target's path, exactly as sent (never normalised, never decoded), and its query
    (the last value of each name)."""
    path, _, query = target.partition("#")[0].partition("?")
    return path, dict(parse_qsl(query, keep_blank_values=True))
