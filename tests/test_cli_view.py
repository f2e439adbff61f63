"""``pulsetrace view`` without a browser: what it serves, and its errors for bad input."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from helpers_cli import environment, pulsetrace_command, run_pulsetrace, write
from pulsetrace.model import read_any_trace
from pulsetrace.model.native import parse_trace

PROGRAM = "def work(n):\n    return sum(range(n))\n\n\nfor i in range(5):\n    work(i)\n"
CHROME = {
    "traceEvents": [
        {"ph": "X", "name": "step", "pid": 1, "tid": 2, "ts": 0, "dur": 10},
        {"ph": "X", "name": "step", "pid": 1, "tid": 2, "ts": 20, "dur": 5},
    ]
}


@pytest.fixture(scope="module")
def native_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("view")
    write(directory / "prog.py", PROGRAM)
    result = run_pulsetrace(["run", "-q", "-o", "t.pulse", "prog.py"], directory)
    assert result.returncode == 0, result.stderr
    return directory / "t.pulse"


def serve(trace: Path, *options: str) -> Tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        pulsetrace_command(["view", str(trace), *options]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith(f"pulsetrace: serving {trace} at http://127.0.0.1:"), line
    return process, line.split(" at ")[1].split()[0]


@pytest.fixture
def served(native_trace: Path) -> Iterator[str]:
    process, url = serve(native_trace)
    yield url
    process.terminate()
    process.communicate(timeout=20)


def fetch(url: str) -> Tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def test_view_serves_the_page_and_the_trace_bytes(native_trace: Path, served: str) -> None:
    status, content_type, page = fetch(served)
    assert status == 200 and content_type == "text/html; charset=utf-8"
    assert b'id="pulsetrace-trace" data-src="/trace"' in page
    status, content_type, body = fetch(served + "trace")
    assert status == 200 and content_type == "application/octet-stream"
    assert body == native_trace.read_bytes()


OUTSIDE_ROUTES = ["t.pulse", "../t.pulse", "index.html", "app.js", "trace/x", "%2e%2e/etc/passwd"]


@pytest.mark.parametrize("path", OUTSIDE_ROUTES)
def test_view_serves_nothing_but_its_routes(served: str, path: str) -> None:
    status, _, _ = fetch(served + path)
    assert status == 404


def test_view_converts_chrome_json_to_native(tmp_path: Path) -> None:
    trace = tmp_path / "other.json"
    trace.write_text(json.dumps(CHROME))
    process, url = serve(trace)
    try:
        _, _, body = fetch(url + "trace")
    finally:
        process.terminate()
        process.communicate(timeout=20)
    served = parse_trace(body)
    expected = read_any_trace(trace)
    assert served.call_count == expected.call_count == 2
    assert [f.name for f in served.processes[0].functions] == ["step"]


def test_view_on_a_given_port_and_ctrl_c(native_trace: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process, url = serve(native_trace, "--port", str(port))
    assert url == f"http://127.0.0.1:{port}/"
    process.send_signal(2)  # SIGINT, Ctrl-C
    stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 0
    assert stderr == "pulsetrace: stopped\n"


def _fails(args: List[str], cwd: Path, code: int) -> str:
    result = run_pulsetrace(args, cwd)
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("pulsetrace: error: ") or result.stderr.startswith("usage:")
    assert "Traceback" not in result.stderr
    return result.stderr.strip().splitlines()[-1]


def test_a_file_that_is_not_a_trace_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello, not a trace\n")
    message = _fails(["view", "notes.txt"], tmp_path, 1)
    assert message == (
        "pulsetrace: error: notes.txt: not a trace: "
        "neither a pulsetrace trace (.pulse or .html) nor Chrome Trace Event JSON"
    )
    (tmp_path / "bad.json").write_text('{"no": "events"}')
    assert _fails(["view", "bad.json"], tmp_path, 1).startswith("pulsetrace: error: bad.json: ")
    message = _fails(["view", "missing.pulse"], tmp_path, 1)
    assert message == "pulsetrace: error: missing.pulse: cannot read: No such file or directory"


def test_a_truncated_native_trace_is_refused_before_serving(native_trace: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.pulse"
    cut.write_bytes(native_trace.read_bytes()[:-30])
    assert _fails(["view", "cut.pulse"], tmp_path, 1).startswith("pulsetrace: error: cut.pulse: ")


def test_a_port_in_use_is_a_clear_error(native_trace: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        message = _fails(["view", str(native_trace), "--port", str(port)], tmp_path, 1)
    assert message == (  # the same words as the live view's: one server says it
        f"pulsetrace: error: port {port} on 127.0.0.1 is in use; choose another with --port, "
        "or --port 0 for a free one"
    )


def test_a_bad_port_is_a_usage_error(native_trace: Path, tmp_path: Path) -> None:
    message = _fails(["view", str(native_trace), "--port", "70000"], tmp_path, 2)
    assert "a port is a number from 0 to 65535" in message


def test_open_hands_the_url_to_the_browser(native_trace: Path, tmp_path: Path) -> None:
    opened = tmp_path / "opened.txt"
    browser = write(tmp_path / "browser.py", f"import sys\nopen({str(opened)!r}, 'w').write(sys.argv[1])\n")
    process = subprocess.Popen(
        pulsetrace_command(["view", str(native_trace), "--open"]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(extra={"BROWSER": f"{sys.executable} {browser} %s"}),
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split(" at ")[1].split()[0]
        for _ in range(200):
            if opened.exists() and opened.read_text():
                break
            time.sleep(0.05)
        assert opened.read_text() == url
        assert fetch(url)[0] == 200
    finally:
        process.terminate()
        process.communicate(timeout=20)


def test_view_reads_the_trace_inside_a_standalone_page(native_trace: Path, tmp_path: Path) -> None:
    converted = run_pulsetrace(["report", str(native_trace), "-o", "page.html"], tmp_path)
    assert converted.returncode == 0, converted.stderr
    process, url = serve(tmp_path / "page.html")
    try:
        assert fetch(url + "trace")[2] == native_trace.read_bytes()
    finally:
        process.terminate()
        process.communicate(timeout=20)
    (tmp_path / "other.html").write_text("<!DOCTYPE html><p>a page, no trace</p>")
    message = _fails(["view", "other.html"], tmp_path, 1)
    assert message == "pulsetrace: error: other.html: an HTML page without a pulsetrace trace in it"
