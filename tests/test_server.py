"""The shared server (pulsetrace.server), as `view` and `live` use it: registered routes only, the
loopback Host check, the token on other addresses, server-sent event streams, clear bind errors."""

from __future__ import annotations

import http.client
import re
import socket
import threading
from typing import Dict, Iterator, List, Optional, Tuple

import pytest

from pulsetrace.server import (
    HOST,
    Event,
    NotFound,
    Request,
    Route,
    RouteServer,
    ServerError,
    is_loopback,
)


class Ticks:
    """An event source: numbered events made by the test, a last one that ends inline streams."""

    def __init__(self) -> None:
        self.seq = 0
        self.last = False
        self.changed = threading.Condition()
        self.watching: List[int] = []

    def publish(self, last: bool = False) -> None:
        with self.changed:
            self.seq += 1
            self.last = last
            self.changed.notify_all()

    def source(self, request: Request, seq: int, timeout: float) -> Event:
        with self.changed:
            self.changed.wait_for(lambda: self.seq != seq, timeout)
            return Event(self.seq, f"{request.query.get('name', '?')} {self.seq}", self.last)


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


def _routes(served: RouteServer, ticks: Ticks) -> None:
    counter = iter(range(1000))
    served.add("/", Route("text/plain; charset=utf-8", body=lambda request: b"hello\n"))
    served.add("/count", Route("text/plain", body=lambda request: str(next(counter)).encode()))

    def item(request: Request) -> bytes:
        if request.params[0] == "7":
            raise NotFound
        return f"item {request.params[0]}".encode()

    served.add(re.compile(r"/item/(\d{1,3})"), Route("text/plain", body=item))
    served.add("/poke", Route("text/plain", body=lambda request: b"", method="POST"))
    served.add("/events", Route("text/event-stream", events=ticks.source, watchers=ticks.watching.append))


@pytest.fixture
def server(ticks: Ticks) -> Iterator[RouteServer]:
    served = RouteServer()
    _routes(served, ticks)
    with served:
        yield served


def request(
    server: RouteServer, path: str, method: str = "GET", host: str = "", read: Optional[int] = None
) -> Tuple[int, Dict[str, str], bytes]:
    connection = http.client.HTTPConnection(HOST, server.port, timeout=10)
    headers = {"Host": host} if host else {}
    connection.request(method, path, headers=headers)
    response = connection.getresponse()
    body = response.read(read) if read is not None else response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def test_routes_are_served_and_made_on_each_request(server: RouteServer) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}/" and server.token is None
    status, headers, body = request(server, "/")
    assert (status, headers["content-type"], body) == (200, "text/plain; charset=utf-8", b"hello\n")
    assert headers["x-content-type-options"] == "nosniff"
    assert [request(server, "/count?x=1")[2] for _ in range(3)] == [b"0", b"1", b"2"]


def test_pattern_routes_get_their_groups_and_may_say_not_found(server: RouteServer) -> None:
    assert request(server, "/item/42")[2] == b"item 42"
    assert request(server, "/item/7")[0] == 404  # the route said NotFound
    for path in ["/item/", "/item/1234", "/item/42/", "/item/../42", "/x/item/42"]:
        assert request(server, path)[0] == 404, path


def test_head_has_no_body(server: RouteServer) -> None:
    status, headers, body = request(server, "/", method="HEAD")
    assert status == 200 and headers["content-length"] == "6" and body == b""


@pytest.mark.parametrize("path", ["/missing", "/../etc/passwd", "/COUNT", "/count/", "/server.py", "/%2F"])
def test_anything_else_is_404(server: RouteServer, path: str) -> None:
    assert request(server, path)[0] == 404


def test_methods(server: RouteServer) -> None:
    assert request(server, "/poke", method="POST")[0] == 204
    assert request(server, "/poke")[0] == 404  # a POST route answers no GET
    assert request(server, "/", method="POST")[0] == 404  # nor a GET route a POST
    assert request(server, "/", method="PUT")[0] == 405
    assert request(server, "/", method="DELETE")[0] == 405


def test_other_host_names_are_refused(server: RouteServer) -> None:
    assert request(server, "/", host=f"evil.example:{server.port}")[0] == 403
    assert request(server, "/", host=f"127.0.0.1:{server.port + 1}")[0] == 403
    assert request(server, "/", host=f"localhost:{server.port}")[0] == 200


def test_an_event_stream_sends_each_new_event_once(server: RouteServer, ticks: Ticks) -> None:
    connection = http.client.HTTPConnection(HOST, server.port, timeout=10)
    connection.request("GET", "/events?name=page")
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("content-type") == "text/event-stream"
    assert response.readline() == b"data: page 0\n" and response.readline() == b"\n"
    ticks.publish()
    assert response.readline() == b"data: page 1\n" and response.readline() == b"\n"
    assert response.readline() == b": waiting\n"  # nothing new for a second: a comment keeps it open
    assert ticks.watching == [1]
    response.close()
    connection.close()
    ticks.publish()  # the server notices the closed stream at its next write
    deadline = threading.Event()
    for _ in range(50):
        if ticks.watching == [1, -1]:
            break
        deadline.wait(0.1)
    assert ticks.watching == [1, -1]


def test_answered_inline_a_stream_ends_after_the_last_event(server: RouteServer, ticks: Ticks) -> None:
    server.answer_inline()
    ticks.publish(last=True)
    status, _, body = request(server, "/events?name=end")
    assert status == 200 and body == b"data: end 1\n\n"  # the stream closed by itself
    assert request(server, "/")[2] == b"hello\n"  # and the serving thread answers the next request


def test_another_host_gets_a_token() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert RouteServer(0, "127.0.0.1").token is None
    tokens = {RouteServer(0, "0.0.0.0").token, RouteServer(0, "192.168.1.5").token}
    assert None not in tokens and len(tokens) == 2 and all(len(str(token)) >= 20 for token in tokens)


def test_with_a_token_every_request_needs_it(ticks: Ticks) -> None:
    # The rule of any other address, tested on loopback (the tests bind nothing else).
    served = RouteServer(0, "127.0.0.1", token="s3cret-token")
    _routes(served, ticks)
    with served:
        assert served.url == f"http://127.0.0.1:{served.port}/?token=s3cret-token"
        for path in ["/", "/count", "/?token=wrong", "/events", "/?token=s3cret-toke", "/item/1"]:
            assert request(served, path)[0] == 403, path
        assert request(served, "/?token=s3cret-token")[2] == b"hello\n"
        assert request(served, "/item/3?token=s3cret-token")[2] == b"item 3"
        # the token decides, not the Host header (a server on another address has many names)
        assert request(served, "/?token=s3cret-token", host="pulse.example:80")[0] == 200


def test_a_port_in_use_is_a_server_error() -> None:
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        in_use = f"port {port} on 127.0.0.1 is in use; .* --port 0 for a free one"
        with pytest.raises(ServerError, match=in_use):
            RouteServer(port).start()


def test_port_0_is_a_free_port_known_once_bound() -> None:
    served = RouteServer(0)
    with pytest.raises(RuntimeError):
        assert served.port
    served.bind()
    try:
        assert served.port > 0
    finally:
        served.stop()


def test_stop_releases_the_port() -> None:
    first = RouteServer()
    first.start()
    port = first.port
    first.stop()
    second = RouteServer(port)
    second.start()
    second.stop()


def test_on_thread_runs_in_the_server_threads(ticks: Ticks) -> None:
    names: List[str] = []
    served = RouteServer(on_thread=lambda: names.append(threading.current_thread().name))
    _routes(served, ticks)
    with served:
        request(served, "/")
    assert "pulsetrace-server" in names and len(names) >= 2  # the serving thread and a request's
