"""The live view's HTTP server: standard library, a background thread, server-sent events.

Every connected page holds one ``/events`` stream; each tick of the LiveState is sent to it as one
``data:`` message (JSON), and a comment line keeps a quiet stream open through proxies and lets
the server notice a page that went away.
"""

from __future__ import annotations

import errno
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional, Tuple

from .routes import LiveRoutes, Response, split_target
from .state import FINISHED

KEEPALIVE_SECONDS = 1.0


class ServerError(Exception):
    """The server could not listen (port in use, bad address); the message says which."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a page left open never keeps the program alive
    allow_reuse_address = False  # a port in use must be an error, not a second listener
    routes: LiveRoutes
    stopping: threading.Event
    on_thread: Callable[[], None]
    # After the program's end Python refuses new threads (3.12+): requests are then answered one at
    # a time by the serving thread, and event streams send the final state and close.
    inline = False

    def process_request(self, request: Any, client_address: Any) -> None:
        if self.inline:
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)
            return
        super().process_request(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "pulsetrace-live"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Requests are not logged: the program's stderr is its own."""

    def _serve(self, method: str) -> None:
        self.server.on_thread()
        path, query = split_target(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(min(length, 65536))
        response = self.server.routes.answer(method, path, query, headers)
        if response.stream:
            self._stream(response)
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(response.body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def _stream(self, response: Response) -> None:
        state = self.server.routes.state
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        state.listening(+1)
        try:
            seq = -1
            while not self.server.stopping.is_set():
                tick = state.wait_for(seq, KEEPALIVE_SECONDS)
                if tick.seq != seq:
                    seq = tick.seq
                    data = json.dumps(tick.for_page(response.stream_file), separators=(",", ":"))
                    self.wfile.write(f"data: {data}\n\n".encode())
                else:
                    self.wfile.write(b": waiting\n\n")
                self.wfile.flush()
                if self.server.inline and tick.status == FINISHED:
                    break
        except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError):
            pass  # the page went away
        finally:
            state.listening(-1)


class LiveServer:
    """Listens on ``host:port`` (port 0: a free one) and serves LiveRoutes from background threads."""

    def __init__(self, routes: LiveRoutes, host: str, port: int, on_thread: Callable[[], None]) -> None:
        try:
            self._server = _Server((host, port), _Handler, bind_and_activate=True)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ServerError(
                    f"port {port} on {host} is in use; choose another with --port, or --port 0 for a free one"
                ) from None
            raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self._server.routes = routes
        self._server.stopping = threading.Event()
        self._server.on_thread = on_thread
        self.host = host
        self.port = int(self._server.server_address[1])
        routes.port = self.port
        self._thread: Optional[threading.Thread] = None

    @property
    def address(self) -> Tuple[str, int]:
        return self.host, self.port

    def start(self) -> None:
        """Serve from a daemon thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="pulsetrace-live-server"
        )
        self._thread.daemon = True
        self._thread.start()

    def answer_inline(self) -> None:
        """From now on, answer requests in the serving thread (no new threads: the program has ended)."""
        self._server.inline = True

    def stop(self) -> None:
        """Stop listening and end the event streams."""
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
