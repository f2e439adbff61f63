"""A small loopback HTTP server that serves only what was registered, for ``pulsetrace view`` (and the
live view later).

It binds 127.0.0.1 (a free port unless one is asked for) and runs ``http.server`` in a background
thread. Content is registered by exact path: a ``Route`` is a content type and a function that
returns the body (called per request, so it can be fresh data), never a file looked up from the
request's path, so nothing outside what the caller chose can be reached; and only requests addressed
to 127.0.0.1 or localhost are answered (a page of another site that makes its host name resolve to
127.0.0.1 gets 403). ``stream`` routes hand the
handler's output file to a function instead, for long-lived responses (server-sent events).
"""

from __future__ import annotations

import errno
import http.server
import io
import socketserver
import threading
from dataclasses import dataclass
from typing import Callable, Dict, Optional

HOST = "127.0.0.1"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


class ServerError(Exception):
    """The server cannot start: the port is taken, or not ours to bind."""


@dataclass(frozen=True)
class Route:
    """What one path serves: a body made on each request, or a stream written to the open response."""

    content_type: str
    body: Optional[Callable[[], bytes]] = None
    stream: Optional[Callable[[io.BufferedIOBase], None]] = None


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        self._answer(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        port = self.server.server_address[1]
        if self.headers.get("Host", "") not in (f"{HOST}:{port}", f"localhost:{port}"):
            # A page of another site that made its name resolve to 127.0.0.1 (DNS rebinding) is refused.
            self._send(403, "text/plain; charset=utf-8", b"forbidden host\n", send_body)
            return
        # The path without its query, compared as it is: no normalising, so no aliases of a route.
        route = self.server.routes.get(self.path.split("?", 1)[0].split("#", 1)[0])
        if route is None:
            self._send(404, "text/plain; charset=utf-8", b"not found\n", send_body)
            return
        if route.stream is not None:
            self.send_response(200)
            self.send_header("Content-Type", route.content_type)
            for name, value in SECURITY_HEADERS.items():
                self.send_header(name, value)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            if send_body:
                try:
                    route.stream(self.wfile)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the browser went away: nothing to tell it
            return
        assert route.body is not None
        self._send(200, route.content_type, route.body(), send_body)

    def _send(self, status: int, content_type: str, body: bytes, send_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        """Quiet: a viewer's requests are not the user's business."""


class _HTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = False  # two servers on one port must fail, not share it

    def __init__(self, port: int, routes: Dict[str, Route]) -> None:
        self.routes = routes
        super().__init__((HOST, port), _Handler)


class LoopbackServer:
    """Serves registered routes on 127.0.0.1 from a background thread."""

    def __init__(self, port: int = 0) -> None:
        self.requested_port = port
        self.routes: Dict[str, Route] = {}
        self._server: Optional[_HTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    def add(self, path: str, route: Route) -> None:
        """Serve ``route`` at ``path`` (exact match, e.g. "/" or "/trace")."""
        self.routes[path] = route

    def start(self) -> None:
        """Bind and start serving; raise ServerError if the port cannot be bound."""
        try:
            self._server = _HTTPServer(self.requested_port, self.routes)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ServerError(
                    f"port {self.requested_port} is already in use (choose another with --port)"
                ) from None
            if exc.errno == errno.EACCES:
                raise ServerError(f"not allowed to listen on port {self.requested_port}") from None
            raise ServerError(
                f"cannot listen on {HOST}:{self.requested_port}: {exc.strerror or exc}"
            ) from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="pulsetrace-server", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the server is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> LoopbackServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
