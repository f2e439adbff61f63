"""``Tracer(trace_children=True)``: a Tracer used from Python records the children its process starts.

Each test runs a real program that uses the API (in a fresh interpreter: forks and hooks must not touch
the test process) and reads the trace it saved.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers_cli import run_python, write
from pulsetrace.model.native import read_trace
from test_children import calls

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="child processes are traced on POSIX")

FAMILY = """
import multiprocessing, os, subprocess, sys
from pulsetrace import Tracer

def square(n):
    return n * n

def forked():
    return sum(range(100))

def main():
    with Tracer(output="api.pulse", trace_children=True):
        pid = os.fork()
        if pid == 0:
            forked()
            sys.exit(0)  # leaves the with block in the child: it must not save over the parent's file
        os.waitpid(pid, 0)
        subprocess.run([sys.executable, "-c", "def sub():\\n    print('sub')\\nsub()"])
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            print(sum(pool.map(square, range(20))))
    print("saved", os.path.exists("api.pulse"))

if __name__ == "__main__":
    main()
"""


def test_fork_subprocess_and_a_spawn_pool(tmp_path: Path) -> None:
    write(tmp_path / "prog.py", FAMILY)
    result = run_python(["prog.py"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "sub\n2470\nsaved True\n" and result.stderr == ""
    trace = read_trace(tmp_path / "api.pulse")
    root, *children = trace.processes
    assert calls(root)["run"] == 1 and "forked" not in calls(root)
    by_name = {process.name: process for process in children}
    fork = next(process for name, process in by_name.items() if name.endswith("(fork)"))
    assert calls(fork)["forked"] == 1 and fork.metadata["started_by"] == "fork"
    assert calls(by_name["python -c def sub(): print('sub') sub()"])["sub"] == 1
    # Pool.__exit__ terminates its workers: one that got no task may die while it starts, before
    # multiprocessing names it, or even before it records anything; it is then named as lost.
    workers = [
        process
        for name, process in by_name.items()
        if name.startswith("SpawnPoolWorker-") or name == "multiprocessing spawn child"
    ]
    assert sum(calls(worker).get("square", 0) for worker in workers) == 20
    lost = root.metadata.get("children_lost", [])
    assert len(workers) + len(lost) == 2 and all("began recording" in entry["why"] for entry in lost)
    assert all(process.metadata["parent_pid"] == root.pid for process in children)
    assert len({process.pid for process in trace.processes}) == len(trace.processes) == 3 + len(workers)


def test_stop_returns_the_family_and_names_the_children_it_stopped_waiting_for(tmp_path: Path) -> None:
    write(
        tmp_path / "prog.py",
        """
import subprocess, sys, time
from pulsetrace import Tracer

tracer = Tracer(trace_children=True, children_timeout=0.5).start()
quick = subprocess.run([sys.executable, "-c", "pass"])
slow = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
started = time.monotonic()
trace = tracer.stop()
waited = time.monotonic() - started
slow.kill()
slow.wait()
lost = trace.processes[0].metadata["children_lost"]
print(len(trace.processes), 0.4 < waited < 10, [entry["pid"] == slow.pid for entry in lost], lost[0]["why"])
""",
    )
    result = run_python(["prog.py"], tmp_path)
    assert result.stdout == "2 True [True] still running when the trace was saved\n", result.stderr


def test_without_trace_children_nothing_is_hooked(tmp_path: Path) -> None:
    write(
        tmp_path / "prog.py",
        """
import os, subprocess, sys
real_fork, real_system = os.fork, os.system
from pulsetrace import Tracer

with Tracer() as tracer:
    hooked = os.fork is not real_fork or os.system is not real_system
    subprocess.run([sys.executable, "-c", "pass"])
print(hooked, len(tracer.trace.processes))
with Tracer(trace_children=True) as tracer:
    hooked = os.fork is not real_fork and os.system is not real_system
print(hooked, os.fork is real_fork and os.system is real_system)
""",
    )
    result = run_python(["prog.py"], tmp_path)
    assert result.stdout == "False 1\nTrue True\n", result.stderr
