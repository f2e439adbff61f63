"""Run one child process and learn its wall time, exit status and its own peak RSS.

Peak RSS needs care: Linux carries a process's RSS high-water mark across exec(), so a child forked
straight from this runner would report at least the runner's own peak (which grows when it reads a
large trace). Children are therefore started through GNU time (``/usr/bin/time -f %M``), a tiny C
program whose fresh child starts with a high-water mark of a few MiB; ``ru_maxrss`` read inside
the child is then sound too. Without GNU time, ``os.wait4`` is used and the result says so.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Dict, List, Optional

GNU_TIME = "/usr/bin/time"
HAVE_GNU_TIME = os.access(GNU_TIME, os.X_OK)
RSS_METHOD = "GNU time %M" if HAVE_GNU_TIME else "os.wait4 (includes the runner's own peak RSS)"


@dataclass
class Finished:
    """What one child run left behind."""

    returncode: int  # negative: killed by that signal
    seconds: float  # wall time from spawn to reaped
    cpu_seconds: float  # user + system CPU time of the child and its waited-for children
    max_rss: int  # bytes
    stdout: str
    stderr: str
    timed_out: bool

    def failure(self) -> Optional[str]:
        """Why the run failed, or None if it exited 0."""
        if self.timed_out:
            return "timed out"
        if self.returncode < 0:
            return f"crashed ({signal.Signals(-self.returncode).name})"
        if self.returncode:
            last = self.stderr.strip().splitlines()[-1:] or ["no message"]
            return f"exit code {self.returncode}: {last[0]}"
        return None


def _read_gnu_time(path: str, returncode: int) -> tuple[int, int]:
    """(exit code with signals as negative numbers, peak RSS in bytes) from GNU time's report."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = handle.read().split()
    text = " ".join(lines)
    killed = re.search(r"terminated by signal (\d+)", text)
    if killed:
        returncode = -int(killed.group(1))
    numbers = [word for word in lines if word.isdigit()]
    return returncode, int(numbers[-1]) * 1024 if numbers else 0


def run(command: List[str], env: Dict[str, str], timeout: float, cwd: Optional[str] = None) -> Finished:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(prefix="pulsetrace-bench-rss-") as rss:
        full = [GNU_TIME, "-f", "%M", "-o", rss.name, *command] if HAVE_GNU_TIME else command
        started = time.perf_counter()
        child = subprocess.Popen(full, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                 start_new_session=True)
        expired = threading.Event()

        def kill() -> None:
            expired.set()
            try:
                os.killpg(child.pid, signal.SIGKILL)  # the whole group: GNU time and the program
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
        child.returncode = returncode = os.waitstatus_to_exitcode(status)  # tell Popen it was reaped
        max_rss = usage.ru_maxrss * 1024
        if HAVE_GNU_TIME and not expired.is_set():
            returncode, max_rss = _read_gnu_time(rss.name, returncode)
        out.seek(0)
        err.seek(0)
        return Finished(
            returncode=returncode,
            seconds=seconds,
            cpu_seconds=usage.ru_utime + usage.ru_stime,
            max_rss=max_rss,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
            timed_out=expired.is_set(),
        )
