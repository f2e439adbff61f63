"""The loopback server (pulsetrace.server): registered routes only, loopback only, clear bind errors."""

from __future__ import annotations

import http.client
import socket
from typing import Dict, Iterator, Tuple

import pytest

from pulsetrace.server import HOST, LoopbackServer, Route, ServerError


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    served = LoopbackServer()
    counter = iter(range(1000))
    served.add("/", Route("text/plain; charset=utf-8", body=lambda: b"hello\n"))
    served.add("/count", Route("text/plain", body=lambda: str(next(counter)).encode()))

    def events(stream: object) -> None:
        for n in range(3):
            stream.write(f"data: {n}\n\n".encode())  # type: ignore[attr-defined]
            stream.flush()  # type: ignore[attr-defined]

    served.add("/events", Route("text/event-stream", stream=events))
    with served:
        yield served


def request(
    server: LoopbackServer, path: str, method: str = "GET", host: str = ""
) -> Tuple[int, Dict[str, str], bytes]:
    connection = http.client.HTTPConnection(HOST, server.port, timeout=10)
    headers = {"Host": host} if host else {}
    connection.request(method, path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def test_routes_are_served_and_made_on_each_request(server: LoopbackServer) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}/"
    status, headers, body = request(server, "/")
    assert (status, headers["content-type"], body) == (200, "text/plain; charset=utf-8", b"hello\n")
    assert headers["x-content-type-options"] == "nosniff"
    assert [request(server, "/count?x=1")[2] for _ in range(3)] == [b"0", b"1", b"2"]


def test_head_has_no_body(server: LoopbackServer) -> None:
    status, headers, body = request(server, "/", method="HEAD")
    assert status == 200 and headers["content-length"] == "6" and body == b""


@pytest.mark.parametrize("path", ["/missing", "/../etc/passwd", "/COUNT", "/count/", "/server.py", "/%2F"])
def test_anything_else_is_404(server: LoopbackServer, path: str) -> None:
    assert request(server, path)[0] == 404


def test_other_host_names_are_refused(server: LoopbackServer) -> None:
    assert request(server, "/", host=f"evil.example:{server.port}")[0] == 403
    assert request(server, "/", host=f"localhost:{server.port}")[0] == 200


def test_a_stream_route_writes_to_the_open_response(server: LoopbackServer) -> None:
    status, headers, body = request(server, "/events")
    assert status == 200 and headers["content-type"] == "text/event-stream"
    assert body == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"


def test_a_port_in_use_is_a_server_error() -> None:
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServerError, match=f"port {port} is already in use"):
            LoopbackServer(port).start()


def test_stop_releases_the_port() -> None:
    first = LoopbackServer()
    first.start()
    port = first.port
    first.stop()
    second = LoopbackServer(port)
    second.start()
    second.stop()
