"""`pulsetrace live` and `pulsetrace.live()` in real processes: what the server serves and refuses,
how the session starts and ends, the report at exit."""

from __future__ import annotations

import json
import signal
import socket
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

from helpers_cli import run_pulsetrace, run_python, write
from helpers_live import start_live, start_python, wait_for
from live_programs import SHORT, TWO_THREADS
from pulsetrace.live.files import FileSet, path_contains
from pulsetrace.live.routes import LiveRoutes
from pulsetrace.live.state import LiveState
from pulsetrace.model.lines import LineStats
from pulsetrace.server import RouteServer


def _state(live: Any, file_id: str = "f1") -> Dict[str, Any]:
    """The whole document of a page (``file_id`` "": the index)."""
    status, body = live.request(f"/api/state?file={file_id}" if file_id else "/api/state")
    assert status == 200, body
    document = json.loads(body)
    assert isinstance(document, dict) and document["full"] is True
    return document


def _hits(document: Dict[str, Any]) -> Dict[int, int]:
    """Line -> hits of the one file of a file page's document."""
    files = document["heatmap"]["files"]
    return {row[0]: row[1] for row in files[0]["lines"]} if files else {}


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_serves_traced_files_by_id_and_nothing_else(tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", TWO_THREADS)
    stop = tmp_path / "stop"
    live = start_live(["--port", "0", str(program), str(stop)], tmp_path)
    try:
        wait_for(lambda: _state(live, "")["heatmap"]["files"])
        assert _state(live, "")["heatmap"]["title"] == f"python {program} {stop}"  # the pages' bar
        assert live.request("/")[0] == 200
        assert live.request("/file/f1")[0] == 200
        status, body = live.request("/api/source/f1")
        assert status == 200 and json.loads(body)["path"] == str(program)
        for path in [
            "/table/?filename=/etc/hostname",
            "/etc/hostname",
            "/file/../../../../etc/hostname",
            "/file/f1/../../../etc/hostname",
            "/api/source/%2Fetc%2Fhostname",
            "/api/source/../../etc/hostname",
            "/api/source/f99",
            "/file/f99",
            "/static/../routes.py",
            "/static/..%2Froutes.py",
            "//etc/hostname",
        ]:
            assert live.request(path)[0] == 404, path
        assert live.request("/api/reset", method="POST")[0] == 404  # without the page's header
        assert live.request("/api/reset", method="POST", headers={"X-Pulsetrace": "1"})[0] == 204
        assert live.request("/", method="PUT")[0] == 405
        # DNS rebinding: a page on another name that resolves to 127.0.0.1 is refused
        connection = socket.create_connection((live.host, live.port), timeout=10)
        connection.sendall(b"GET / HTTP/1.1\r\nHost: evil.example:80\r\nConnection: close\r\n\r\n")
        reply = connection.makefile("rb").readline()
        connection.close()
        assert b" 403 " in reply
        stop.write_text("")
        code, out, err = live.finish()
        assert code == 0 and out == "done\n", err
    finally:
        live.kill()


def test_a_non_loopback_server_needs_its_token() -> None:
    # The rule is the routes', whatever the address: tested on loopback (tests bind nothing else).
    state = LiveState(LineStats, FileSet(path_contains("nothing")))
    server = RouteServer(0, "127.0.0.1", token="s3cret-token")
    LiveRoutes(state, server)
    server.start()
    try:
        import urllib.error
        import urllib.request

        base = f"http://127.0.0.1:{server.port}"
        for path in ["/", "/api/state", "/?token=wrong", "/events"]:
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(base + path, timeout=10)
            assert refused.value.code == 403, path
        with urllib.request.urlopen(base + "/api/state?token=s3cret-token", timeout=10) as answer:
            assert answer.status == 200
    finally:
        server.stop()


def test_other_hosts_get_a_printed_token(tmp_path: Path) -> None:
    from pulsetrace.live.session import LiveSession

    session = LiveSession(path_contains("x"), host="0.0.0.0", port=0)
    assert session.token and len(session.token) >= 20
    assert session.server.token == session.routes.token == session.token


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", "print('ran')\n")
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    try:
        port = holder.getsockname()[1]
        result = run_pulsetrace(["live", "--port", str(port), str(program)], tmp_path)
    finally:
        holder.close()
    assert result.returncode == 1
    assert result.stdout == ""  # the program did not run
    assert result.stderr == (
        f"pulsetrace: error: port {port} on 127.0.0.1 is in use; choose another with --port, "
        "or --port 0 for a free one\n"
    )


def test_bad_arguments_are_one_line_errors(tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", "print('ran')\n")
    result = run_pulsetrace(["live", "--files-regex", "(", str(program)], tmp_path)
    assert result.returncode == 2 and "not a regular expression" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_pulsetrace(["live", "--port", "70000", str(program)], tmp_path)
    assert result.returncode == 2 and "not a port number" in result.stderr
    result = run_pulsetrace(["live", "--port", "0", str(tmp_path / "missing.py")], tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr


def test_the_program_runs_as_under_python_and_exits_by_itself(tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", SHORT + "import sys\nsys.exit(3)\n")
    plain = run_python([str(program)], tmp_path)
    traced = run_pulsetrace(["live", "--port", "0", str(program)], tmp_path)
    assert traced.returncode == plain.returncode == 3
    assert traced.stdout == plain.stdout
    assert traced.stderr.startswith("pulsetrace: live view at http://127.0.0.1:")
    assert traced.stderr.count("\n") == 1


def test_keep_serving_keeps_the_final_numbers_until_ctrl_c(tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", SHORT)
    live = start_live(["--port", "0", "--keep-serving", str(program)], tmp_path)
    try:
        assert live.process.stdout is not None
        assert live.process.stdout.readline() == "8085000\n"  # the program has ended
        document = wait_for(lambda: (lambda d: d if d["status"] == "finished" else None)(_state(live)))
        hits = _hits(document)
        assert hits[_line_of(program, "total += sum(square_all")] == 200
        assert live.process.poll() is None  # still serving
        live.process.send_signal(signal.SIGINT)
        code, _, err = live.finish()
        assert code == 0, err
        assert "until Ctrl-C" in err and "Traceback" not in err
    finally:
        live.kill()


def test_output_writes_the_heatmap_report_at_exit(tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", SHORT)
    report = tmp_path / "out" / "report.html"
    report.parent.mkdir()
    result = run_pulsetrace(["live", "--port", "0", "-o", str(report), str(program)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"pulsetrace: wrote the heatmap report to {report}" in result.stderr
    page = report.read_text()
    assert page.startswith("<!DOCTYPE html>") and "prog.py" in page and "square_all" in page
    nowhere = str(tmp_path / "no" / "r.html")
    bad = run_pulsetrace(["live", "--port", "0", "-o", nowhere, str(program)], tmp_path)
    assert bad.returncode == 2 and bad.stdout == ""


IN_PROGRAM = '''
import os, sys, threading, time
import pulsetrace

STOP = sys.argv[1]
DEADLINE = time.time() + 25

def early():
    while not os.path.exists(STOP) and time.time() < DEADLINE:
        time.sleep(0.001)  # the early thread's loop

thread = threading.Thread(target=early, name="early")
thread.start()
before = 1  # before live(): not counted
session = pulsetrace.live(port=0)
after = 2  # the next line: counted
import helper, plain
helper.helper()
plain.plain()
while not os.path.exists(STOP) and time.time() < DEADLINE:
    time.sleep(0.01)  # the main loop
thread.join()
print("done")
'''


def test_live_from_inside_a_program(tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", IN_PROGRAM)
    write(tmp_path / "helper.py", "def helper():  # pulsetrace\n    return 1\n")
    write(tmp_path / "plain.py", "def plain():\n    return 2  # not marked: not traced\n")
    stop = tmp_path / "stop"
    live = start_python([str(program), str(stop)], tmp_path)
    try:
        def main_loop_counted() -> Any:
            lines = _hits(_state(live))
            return lines if _line_of(program, "# the main loop") in lines else None

        lines = wait_for(main_loop_counted)
        assert _line_of(program, "# before live()") not in lines
        assert lines[_line_of(program, "# the next line")] == 1
        index = _state(live, "")["heatmap"]
        traced = {entry["label"] for entry in index["files"]}
        assert traced == {"prog.py", "helper.py"}  # the calling file and the marked one, by default
        assert index["title"] == f"python {program} {stop}"
        early_thread_counted = _line_of(program, "# the early thread's loop") in lines
        assert early_thread_counted == (sys.version_info >= (3, 12))  # threads already running: 3.12+
        stop.write_text("")
        code, out, err = live.finish()
        assert code == 0 and out == "done\n", err
    finally:
        live.kill()


def test_open_asks_the_browser_and_m_runs_a_module(tmp_path: Path) -> None:
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "pkg" / "job.py", SHORT + "import time\ntime.sleep(1)  # time for the browser command\n")
    opened = tmp_path / "opened.txt"
    recorder = write(tmp_path / "record.py", "import sys\nopen(sys.argv[2], 'w').write(sys.argv[1])\n")
    browser = f"{sys.executable} {recorder} %s {opened}"
    command = ["live", "--port", "0", "--open", "-m", "pkg.job"]
    result = run_pulsetrace(command, tmp_path, env={"BROWSER": browser})
    assert result.returncode == 0 and result.stdout == "8085000\n", result.stderr
    printed = result.stderr.split("live view at ", 1)[1].split()[0]
    wait_for(opened.exists, timeout=10)
    assert wait_for(opened.read_text) == printed


def test_an_uncaught_exception_looks_as_under_python(tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", "def fail():\n    raise ValueError('boom')\n\nfail()\n")
    plain = run_python([str(program)], tmp_path)
    traced = run_pulsetrace(["live", "--port", "0", str(program)], tmp_path)
    first, _, rest = traced.stderr.partition("\n")
    assert first.startswith("pulsetrace: live view at http://127.0.0.1:")
    assert (traced.returncode, traced.stdout, rest) == (plain.returncode, plain.stdout, plain.stderr)
