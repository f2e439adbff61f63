"""Run ``pulsetrace live`` (or a program that calls ``pulsetrace.live()``) in a subprocess, find the
address it prints, and talk to its server."""

from __future__ import annotations

import http.client
import re
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from helpers_cli import environment, pulsetrace_command, python_command

ADDRESS = re.compile(r"live view at (http://\S+)")
DEADLINE = 30.0


class LiveProcess:
    """A running live session: its process, its address and, at the end, its output."""

    def __init__(self, command: Sequence[str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            list(command), cwd=str(cwd), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=environment(),
        )
        self.stderr_lines: List[str] = []
        self.url = self._read_address()
        parts = urllib.parse.urlsplit(self.url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.token = dict(urllib.parse.parse_qsl(parts.query)).get("token")

    def _read_address(self) -> str:
        assert self.process.stderr is not None
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            line = self.process.stderr.readline()
            if not line:
                break
            self.stderr_lines.append(line)
            match = ADDRESS.search(line)
            if match:
                return match.group(1)
        self.process.kill()
        rest = self.process.communicate(timeout=10)[1]
        raise AssertionError("no live view address printed:\n" + "".join(self.stderr_lines) + rest)

    def request(
        self, path: str, method: str = "GET", headers: Optional[dict] = None, host: Optional[str] = None
    ) -> Tuple[int, bytes]:
        """One request, path as given (not normalised), to the server; (status, body)."""
        connection = http.client.HTTPConnection(host or self.host, self.port, timeout=10)
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            connection.putheader("Host", f"{self.host}:{self.port}")
            for name, value in (headers or {}).items():
                connection.putheader(name, value)
            connection.endheaders()
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def finish(self, timeout: float = DEADLINE) -> Tuple[int, str, str]:
        """Wait for the process to end by itself; (exit status, stdout, all of stderr)."""
        # Read through the same text streams the address was read from (communicate() would read
        # the pipes underneath them and miss what their buffers already hold); the output is small.
        self.process.wait(timeout=timeout)
        assert self.process.stdout is not None and self.process.stderr is not None
        out, err = self.process.stdout.read(), self.process.stderr.read()
        return self.process.returncode, out, "".join(self.stderr_lines) + err

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=10)


def start_live(args: Sequence[str], cwd: Path) -> LiveProcess:
    """``pulsetrace live ARGS`` in ``cwd``."""
    return LiveProcess(pulsetrace_command(["live", *args]), cwd)


def start_python(args: Sequence[str], cwd: Path) -> LiveProcess:
    """``python ARGS`` (a program that calls pulsetrace.live() itself) in ``cwd``."""
    return LiveProcess(python_command(args), cwd)


def wait_for(condition, timeout: float = 15.0, interval: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll ``condition()`` until it returns something true; that value, or AssertionError."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {condition}")
