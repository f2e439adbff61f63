"""The one HTTP server of pulsetrace, for ``pulsetrace view`` (a trace file) and the live view (snapshots).

It runs ``http.server`` in background threads and serves only what was registered. A ``Route`` is
registered by exact path, or by a pattern whose groups the route reads (``/file/(f\\d+)``); it makes
its answer per request from the route's own data, never from a file looked up by the request's path,
so nothing outside what the caller chose can be reached. ``events`` routes are server-sent event
streams: the server sends each new event of the route's source, and a comment line while nothing
changes (which keeps the stream open through proxies and notices a page that went away).

Rules that decide before any route: the server binds 127.0.0.1 unless told otherwise; on a loopback
address only requests addressed to a loopback name and the server's port are answered (a page of
another site that makes its name resolve to 127.0.0.1 gets 403: DNS rebinding); any other address
gets a random token, printed in the address, that every request must carry (``?token=...``), else 403.
GET routes answer HEAD too; a POST is answered only by a route registered for POST; other methods get
405. Nothing here runs code from a request.
"""

from __future__ import annotations

import errno
import hmac
import http.server
import ipaddress
import secrets
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Pattern, Tuple, Union
from urllib.parse import parse_qsl

HOST = "127.0.0.1"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
KEEPALIVE_SECONDS = 1.0  # a stream with no new event gets a comment line this often
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}
_TEXT = "text/plain; charset=utf-8"


class ServerError(Exception):
    """The server cannot start: the port is taken, or not ours to bind."""


class NotFound(Exception):
    """Raised by a route's body: there is nothing here for this request (404)."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Request:
    """What a route sees of a request: the path as sent (never normalised or decoded), the query (the
    last value of each name), the headers (lower-case names) and the groups of a pattern route."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    params: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Event:
    """One server-sent event: ``seq`` numbers it (a stream sends each number once); ``last`` says no
    other will follow, so a server that answers inline (the program has ended) may close the stream."""

    seq: int
    data: str
    last: bool = False


# (request, seq of the last event sent or -1, timeout in s) -> the newest event, after waiting up to
# timeout for one newer than seq.
EventSource = Callable[[Request, int, float], Event]


@dataclass(frozen=True)
class Route:
    """What one path serves: a body made on each request (``body``), or a server-sent event stream
    (``events``). ``watchers`` hears +1 when a stream opens and -1 when it closes. A POST route's body
    is answered with 204 when empty."""

    content_type: str
    body: Optional[Callable[[Request], bytes]] = None
    events: Optional[EventSource] = None
    method: str = "GET"
    watchers: Optional[Callable[[int], None]] = None
    headers: Dict[str, str] = field(default_factory=dict)


def split_target(target: str) -> Tuple[str, Dict[str, str]]:
    """A request target's path, exactly as sent (never normalised, never decoded), and its query
    (the last value of each name)."""
    path, _, query = target.partition("#")[0].partition("?")
    return path, dict(parse_qsl(query, keep_blank_values=True))


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "pulsetrace"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        self._answer("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 65536))
        self._answer("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._answer("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._answer("DELETE")

    def do_PATCH(self) -> None:  # noqa: N802
        self._answer("PATCH")

    def _answer(self, method: str) -> None:
        owner = self.server.owner
        owner.on_thread()
        path, query = split_target(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        refusal = owner.refusal(query, headers)
        if refusal is not None:
            self._send(403, _TEXT, refusal.encode(), method)
            return
        if method not in ("GET", "HEAD", "POST"):
            self._send(405, _TEXT, b"method not allowed\n", method)
            return
        found = owner.find(path)
        route = found[0] if found is not None else None
        wanted = "POST" if method == "POST" else "GET"
        if found is None or route is None or route.method != wanted:
            self._send(404, _TEXT, b"not found\n", method)
            return
        request = Request(method, path, query, headers, found[1])
        if route.events is not None:
            self._stream(route, request)
            return
        assert route.body is not None
        try:
            body = route.body(request)
        except NotFound:
            self._send(404, _TEXT, b"not found\n", method)
            return
        if method == "POST" and not body:
            self._send(204, route.content_type, b"", method)
            return
        self._send(200, route.content_type, body, method, route.headers)

    def _send(
        self, status: int, content_type: str, body: bytes, method: str, extra: Optional[Dict[str, str]] = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in {**SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if method != "HEAD":
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    def _stream(self, route: Route, request: Request) -> None:
        source = route.events
        assert source is not None
        self.send_response(200)
        self.send_header("Content-Type", route.content_type)
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if request.method == "HEAD":
            return
        owner = self.server.owner
        if route.watchers is not None:
            route.watchers(+1)
        try:
            seq = -1
            while not owner.stopping.is_set():
                event = source(request, seq, KEEPALIVE_SECONDS)
                if event.seq != seq:
                    seq = event.seq
                    self.wfile.write(f"data: {event.data}\n\n".encode())
                else:
                    self.wfile.write(b": waiting\n\n")
                self.wfile.flush()
                if owner.inline and event.last:
                    break
        except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError):
            pass  # the page went away
        finally:
            if route.watchers is not None:
                route.watchers(-1)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        """Quiet: requests are not the user's business, and the traced program's stderr is its own."""


class _HTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True  # a page left open never keeps the program alive
    allow_reuse_address = False  # two servers on one port must fail, not share it

    def __init__(self, owner: RouteServer) -> None:
        self.owner = owner
        super().__init__((owner.host, owner.requested_port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if self.owner.inline:  # no new threads (after the program's end, 3.12+ refuses them)
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)
            return
        super().process_request(request, client_address)


def _nothing() -> None:
    return None


class RouteServer:
    """Serves registered routes on ``host:port`` (port 0: a free one) from background threads.

    ``on_thread`` runs first in each of the server's threads (the live view leaves them out of what
    it counts and shows). With a token, the token decides instead of the Host check.
    """

    def __init__(
        self,
        port: int = 0,
        host: str = HOST,
        on_thread: Optional[Callable[[], None]] = None,
        token: Optional[str] = None,
    ) -> None:
        """``token``: the one every request must carry; None: a random one on any host but loopback."""
        self.host = host
        self.requested_port = port
        if token is None and not is_loopback(host):
            token = secrets.token_urlsafe(18)
        self.token = token
        self.on_thread = on_thread or _nothing
        self.routes: Dict[str, Route] = {}
        self._patterns: List[Tuple[Pattern[str], Route]] = []
        self.stopping = threading.Event()
        self.inline = False
        self._server: Optional[_HTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    def add(self, path: Union[str, Pattern[str]], route: Route) -> None:
        """Serve ``route`` at ``path``: a string matches exactly ("/", "/trace"), a compiled pattern
        matches the whole path and hands its groups to the route (``Request.params``)."""
        if isinstance(path, str):
            self.routes[path] = route
        else:
            self._patterns.append((path, route))

    def find(self, path: str) -> Optional[Tuple[Route, Tuple[str, ...]]]:
        """The route for a path and the groups of its pattern; None: not found."""
        route = self.routes.get(path)
        if route is not None:
            return route, ()
        for pattern, candidate in self._patterns:
            match = pattern.fullmatch(path)
            if match:
                return candidate, tuple(match.groups())
        return None

    def refusal(self, query: Mapping[str, str], headers: Mapping[str, str]) -> Optional[str]:
        """Why a request is refused (403) before any route, None if it may go on."""
        if self.token is not None:
            given = query.get("token", "")
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return "forbidden: this server needs the token printed at its start (?token=...)\n"
            return None
        port = self.port
        if headers.get("host", "") not in {f"{name}:{port}" for name in LOOPBACK_NAMES}:
            return "forbidden host\n"
        return None

    def bind(self) -> None:
        """Listen on the port (before the program runs, so that a port in use is reported first)."""
        if self._server is not None:
            return
        try:
            self._server = _HTTPServer(self)
        except OSError as exc:
            where = f"port {self.requested_port} on {self.host}"
            if exc.errno == errno.EADDRINUSE:
                raise ServerError(
                    f"{where} is in use; choose another with --port, or --port 0 for a free one"
                ) from None
            if exc.errno == errno.EACCES:
                raise ServerError(f"not allowed to listen on {where}") from None
            reason = exc.strerror or exc
            raise ServerError(f"cannot listen on {self.host}:{self.requested_port}: {reason}") from None

    def start(self) -> None:
        """Bind if not yet bound, and serve from a daemon thread; ServerError if the port cannot be bound."""
        self.bind()
        assert self._server is not None
        self._thread = threading.Thread(target=self._serve, name="pulsetrace-server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.on_thread()
        assert self._server is not None
        self._server.serve_forever(poll_interval=0.2)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the server is not bound")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The address of "/", with the token when the server needs one."""
        shown = HOST if self.host in ("", "0.0.0.0") else self.host
        query = f"?token={self.token}" if self.token else ""
        return f"http://{shown}:{self.port}/{query}"

    def answer_inline(self) -> None:
        """From now on answer requests in the serving thread, one at a time (the program has ended and
        3.12+ starts no new thread); an event stream ends after an event marked last."""
        self.inline = True

    def stop(self) -> None:
        """Stop serving, end the event streams and release the port."""
        self.stopping.set()
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> RouteServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

