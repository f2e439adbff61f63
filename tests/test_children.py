"""Child processes in the trace: `pulsetrace run` on real programs that fork, use multiprocessing and
start Python subprocesses, against plain `python` on the same programs.

Each test checks that the program (and so its children, whose output it prints) ran exactly as under
python, then reads the one trace the run wrote: which processes it holds, what each of them ran, who
started whom, and that they sit on one time axis.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import pytest

from helpers_cli import (
    Result,
    assert_same_run,
    cores_available,
    environment,
    load_json_trace,
    pulsetrace_command,
    run,
    run_pulsetrace,
    run_python,
    write,
)
from pulsetrace.children import ChildTracing
from pulsetrace.model import ProcessTrace, Trace
from pulsetrace.model.native import read_trace
from pulsetrace.options import TraceOptions
from pulsetrace.reports.callstats import CallStats

CORES = cores_available()
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="child processes are traced on POSIX")


def traced_run(
    tmp_path: Path,
    args: Sequence[str],
    *,
    options: Sequence[str] = (),
    core: Optional[str] = None,
    env: Optional[Mapping[str, str]] = None,
) -> Tuple[Result, Trace]:
    """Run ``python ARGS`` and ``pulsetrace run -o trace.pulse ARGS``, check they behaved the same, and
    return the traced run with its trace."""
    plain = run_python(args, tmp_path, core=core, env=env)
    traced = run_pulsetrace(["run", *options, "-o", "trace.pulse", *args], tmp_path, core=core, env=env)
    assert_same_run(plain, traced)
    return traced, read_trace(tmp_path / "trace.pulse")


def calls(process: ProcessTrace) -> Dict[str, int]:
    """Calls per function name in one process."""
    stats = CallStats.of(process, callers=False)
    found: Dict[str, int] = {}
    for function in stats.functions.values():
        found[function.name] = found.get(function.name, 0) + function.calls
    return found


def processes_calling(trace: Trace, name: str) -> List[ProcessTrace]:
    return [process for process in trace.processes if calls(process).get(name)]


def slices(process: ProcessTrace, name: str) -> List[Tuple[int, int]]:
    """(start, end) of every slice of function ``name`` in the process, in monotonic ns."""
    found = []
    for thread in process.threads:
        open_slices: List[Tuple[int, int]] = []
        for event in thread.events():
            if event.is_enter:
                open_slices.append((event.func, event.ns))
            elif open_slices:
                func, start = open_slices.pop()
                if process.functions[func].name == name:
                    found.append((start, event.ns))
    return found


def notes(result: Result) -> List[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("pulsetrace: note: ")]


# -- new interpreters: subprocess -------------------------------------------------------------------

LAUNCHER = """
import subprocess, sys

def launch(*words):
    done = subprocess.run([sys.executable, *words], capture_output=True, text=True)
    print(done.returncode, done.stdout, done.stderr, sep="|")

launch("-X", "utf8", "child.py", "one", "two words")
launch("-m", "childmod", "--opt")
launch("-c", "import sys\\ndef in_code():\\n    print('code', sys.argv)\\nin_code()", "x")
launch("child.py", "fail")
"""

CHILD_SCRIPT = """
import os, sys

def in_script():
    here = os.path.dirname(os.path.abspath(__file__))
    print("script", sys.argv, sys.flags.utf8_mode, sys.path[0] == here, __name__)
    print("orig", getattr(sys, "orig_argv", [sys.executable] + sys.argv)[1:])
    if sys.argv[1:] == ["fail"]:
        raise ValueError("the child failed")

in_script()
"""

CHILD_MODULE = """
import sys

def in_module():
    print("module", sys.argv[0] == __file__, sys.argv[1:], __name__, __spec__.name, repr(sys.path[0]))

in_module()
"""


def test_subprocess_children(tmp_path: Path) -> None:
    write(tmp_path / "prog.py", LAUNCHER)
    write(tmp_path / "child.py", CHILD_SCRIPT)
    write(tmp_path / "childmod.py", CHILD_MODULE)
    traced, trace = traced_run(tmp_path, ["prog.py"])
    assert "ValueError: the child failed" in traced.stdout  # the child's own traceback, as python printed it
    assert "pulsetrace" not in traced.stdout and "<string>" not in traced.stdout.split("code")[0]
    root, *children = trace.processes
    assert [child.name for child in children] == [
        "python child.py one two words",
        "python -m childmod --opt",
        "python -c import sys def in_code(): print('code', sys.argv)…",  # cut at 60 characters
        "python child.py fail",
    ]
    assert processes_calling(trace, "in_script") == [children[0], children[3]]
    assert processes_calling(trace, "in_module") == [children[1]]
    assert processes_calling(trace, "in_code") == [children[2]]
    assert "in_script" not in calls(root) and calls(root)["launch"] == 4
    assert calls(root)["Popen._execute_child"] == 4
    for process in trace.processes:  # pulsetrace's own work (marks, rewriting, its directory) is not shown
        assert not {"dump", "mkdtemp", "realpath", "posix.access", "child_main"} & set(calls(process))
    # Source text: files are read by the root, a -c program's code comes from the child itself
    # (python keeps it for tracebacks from 3.13 on, and pulsetrace does as python does).
    assert children[0].sources[str(tmp_path / "child.py")] == (tmp_path / "child.py").read_text()
    assert children[1].sources[str(tmp_path / "childmod.py")] == (tmp_path / "childmod.py").read_text()
    if sys.version_info >= (3, 13):
        assert "def in_code():" in children[2].sources["<string>"]
    runs = sorted(slices(root, "run"))  # subprocess.run, in the root, on the shared clock
    assert len(runs) == 4
    for child, (start, end) in zip(children, runs):
        assert child.metadata["parent_pid"] == root.pid and child.metadata["started_by"] == "exec"
        assert child.pid != root.pid
        assert (child.wall_anchor_ns, child.mono_anchor_ns) == (root.wall_anchor_ns, root.mono_anchor_ns)
        assert start < child.start_ns < child.stop_ns < end
    assert notes(traced) == [
        "pulsetrace: note: 4 child processes traced too: python child.py one two words, python -m "
        "childmod --opt, python -c import sys def in_code(): print('code', sys.argv)…, python child.py fail"
    ]


def test_grandchildren_and_a_child_environment_without_pulsetrace(tmp_path: Path) -> None:
    write(
        tmp_path / "prog.py",
        """
        import os, subprocess, sys
        env = {"PATH": os.environ.get("PATH", "")}  # pulsetrace is not importable there
        print(subprocess.check_output([sys.executable, "middle.py"], env=env, text=True), end="")
        """,
    )
    write(
        tmp_path / "middle.py",
        """
        import subprocess, sys
        def in_middle():
            return subprocess.check_output([sys.executable, "-c", "def leaf(): print('leaf')\\nleaf()"])
        print("middle got", in_middle())
        """,
    )
    _, trace = traced_run(tmp_path, ["prog.py"])
    root, middle, leaf = trace.processes
    assert calls(middle)["in_middle"] == 1 and calls(leaf)["leaf"] == 1
    assert middle.metadata["parent_pid"] == root.pid and leaf.metadata["parent_pid"] == middle.pid


def test_commands_that_are_not_traced(tmp_path: Path) -> None:
    write(
        tmp_path / "prog.py",
        """
        import subprocess, sys
        for command in ([sys.executable, "-V"], ["sh", "-c", "echo from the shell"],
                        [sys.executable, "-c", "print('traced')"]):
            print(subprocess.run(command, capture_output=True, text=True).stdout, end="")
        """,
    )
    _, trace = traced_run(tmp_path, ["prog.py"])
    assert [process.name for process in trace.processes] == ["python prog.py", "python -c print('traced')"]


def test_child_of_a_run_that_has_ended_runs_untraced(tmp_path: Path) -> None:
    """A descendant started after the root saved the trace (nothing would collect its trace)."""
    write(tmp_path / "child.py", CHILD_SCRIPT)
    ended = ChildTracing(str(tmp_path / "gone"), TraceOptions())
    command = ended.command_for([sys.executable, "child.py", "a"])
    assert command is not None
    plain = run_python(["child.py", "a"], tmp_path)
    traced = run(command, tmp_path)
    assert (traced.returncode, traced.stdout, traced.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert os.listdir(tmp_path) == ["child.py"]


def test_no_trace_children(tmp_path: Path) -> None:
    write(tmp_path / "prog.py", LAUNCHER)
    write(tmp_path / "child.py", CHILD_SCRIPT)
    write(tmp_path / "childmod.py", CHILD_MODULE)
    traced, trace = traced_run(tmp_path, ["prog.py"], options=["--no-trace-children"])
    assert len(trace.processes) == 1 and notes(traced) == []


# -- forks ------------------------------------------------------------------------------------------

FORKER = """
import os, sys

def in_child():
    return sum(range(1000))

def in_parent():
    return sum(range(10))

pid = os.fork()
if pid == 0:
    in_child()
    how = sys.argv[1]
    if how == "os-exit":
        os._exit(4)
    if how == "exception":
        raise KeyError("from the child")
    sys.exit(5)
_, status = os.waitpid(pid, 0)
in_parent()
print("child ended with", os.WEXITSTATUS(status))
"""


@pytest.mark.parametrize("core", CORES)
@pytest.mark.parametrize("how", ["os-exit", "exception", "sys-exit"])
def test_fork(tmp_path: Path, core: str, how: str) -> None:
    write(tmp_path / "prog.py", FORKER)
    _, trace = traced_run(tmp_path, ["prog.py", how], core=core)
    root, child = trace.processes
    assert child.name == "python prog.py (fork)"
    assert child.metadata["started_by"] == "fork" and child.metadata["parent_pid"] == root.pid
    assert calls(child)["in_child"] == 1 and "in_parent" not in calls(child)
    assert calls(root)["in_parent"] == 1 and "in_child" not in calls(root)
    assert root.start_ns < child.start_ns < child.stop_ns < root.stop_ns
    assert child.metadata["core"] == core


# -- multiprocessing --------------------------------------------------------------------------------

POOL = """
import multiprocessing, sys

def square(n):
    return n * n

def named_work():
    print("named work", flush=True)

if __name__ == "__main__":
    context = multiprocessing.get_context(sys.argv[1])
    pool = context.Pool(2)
    print(pool.map(square, range(8), chunksize=1))
    pool.close()  # the workers finish (terminate() could end a spawned one before it started)
    pool.join()
    process = context.Process(target=named_work, name="named-worker")
    process.start()
    process.join()
    print("exit code", process.exitcode)
"""


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_multiprocessing(tmp_path: Path, method: str) -> None:
    write(tmp_path / "prog.py", POOL)
    _, trace = traced_run(tmp_path, ["prog.py", method])
    root, *children = trace.processes
    worker_prefix = {
        "fork": "ForkPoolWorker-",
        "spawn": "SpawnPoolWorker-",
        "forkserver": "ForkServerPoolWorker-",
    }[method]
    workers = [child for child in children if child.name.startswith(worker_prefix)]
    assert len(workers) == 2, [child.name for child in children]
    assert sum(calls(worker).get("square", 0) for worker in workers) == 8
    assert "square" not in calls(root)
    (named,) = [child for child in children if child.name == "named-worker"]
    assert calls(named)["named_work"] == 1
    started_by = {"fork": "fork", "spawn": "exec", "forkserver": "forkserver"}[method]
    assert {child.metadata["started_by"] for child in children} == {started_by}
    # A forkserver's processes are the children of the process that started the server.
    assert {child.metadata["parent_pid"] for child in children} == {root.pid}
    assert len(children) == 3  # no resource tracker nor forkserver: multiprocessing's helpers are not traced


# -- children that do not end well ------------------------------------------------------------------


def test_killed_child(tmp_path: Path) -> None:
    write(
        tmp_path / "prog.py",
        """
        import subprocess, sys
        code = "import os, signal\\nos.kill(os.getpid(), signal.SIGKILL)"
        print(subprocess.run([sys.executable, "-c", code]).returncode)
        """,
    )
    traced, trace = traced_run(tmp_path, ["prog.py"])
    assert len(trace.processes) == 1
    (note,) = notes(traced)
    assert "ended without saving its trace (killed?)" in note and "python -c import os, signal" in note


def test_child_ended_by_sigterm_saves_its_trace(tmp_path: Path) -> None:
    write(
        tmp_path / "prog.py",
        """
        import subprocess, sys
        code = ("import time\\ndef before_sleep():\\n    print('ready', flush=True)\\n"
                "before_sleep()\\ntime.sleep(60)")
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        print(child.stdout.readline(), end="")
        child.terminate()
        print(child.wait())
        """,
    )
    traced, trace = traced_run(tmp_path, ["prog.py"])
    assert traced.stdout == "ready\n-15\n"
    root, child = trace.processes
    assert calls(child)["before_sleep"] == 1  # saved by its SIGTERM handler, which then let it die
    assert child.stop_ns < root.stop_ns and len(notes(traced)) == 1  # "1 child process traced too"


def test_child_still_running_when_the_program_ends(tmp_path: Path) -> None:
    write(
        tmp_path / "prog.py",
        """
        import subprocess, sys
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(sys.argv[1], "w") as file:
            file.write(str(sleeper.pid))
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3); print('late child')"])
        """,
    )
    pids = []
    try:
        plain = run_python(["prog.py", "plain.pid"], tmp_path)
        pids.append(int((tmp_path / "plain.pid").read_text()))
        wait = {"PULSETRACE_CHILDREN_WAIT": "4"}  # the late child needs far less, even on a busy machine
        traced = run_pulsetrace(["run", "-o", "trace.pulse", "prog.py", "traced.pid"], tmp_path, env=wait)
        pids.append(int((tmp_path / "traced.pid").read_text()))
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
    assert plain.returncode == traced.returncode == 0
    assert plain.stdout == traced.stdout == "late child\n"
    trace = read_trace(tmp_path / "trace.pulse")
    assert [process.name for process in trace.processes][1:] == [
        "python -c import time; time.sleep(0.3); print('late child')"
    ]
    assert notes(traced)[1:] == [
        f"pulsetrace: note: child process {pids[1]} (python -c import time; time.sleep(60)) was still "
        "running: it is not in the trace"
    ]


# -- other outputs ----------------------------------------------------------------------------------


def test_chrome_json_has_every_process(tmp_path: Path) -> None:
    write(tmp_path / "prog.py", FORKER)
    traced = run_pulsetrace(["run", "-o", "trace.json", "prog.py", "os-exit"], tmp_path)
    assert traced.returncode == 0, traced.stderr
    events = load_json_trace(tmp_path / "trace.json")["traceEvents"]
    names = {e["pid"]: e["args"]["name"] for e in events if e.get("name") == "process_name"}
    assert sorted(names.values()) == ["python prog.py", "python prog.py (fork)"]
    child_pid = next(pid for pid, name in names.items() if name.endswith("(fork)"))
    child_slices = {e["name"].split(" (")[0] for e in events if e.get("ph") == "X" and e["pid"] == child_pid}
    assert "in_child" in child_slices and "in_parent" not in child_slices


def test_summary_counts_every_process(tmp_path: Path) -> None:
    write(tmp_path / "prog.py", POOL)
    traced = run_pulsetrace(["run", "-o", "trace.pulse", "prog.py", "fork"], tmp_path)
    trace = read_trace(tmp_path / "trace.pulse")
    title = next(line for line in traced.stderr.splitlines() if "functions by self time" in line)
    total = sum(sum(calls(process).values()) for process in trace.processes)
    assert title.startswith(f"pulsetrace: {total:,} calls in ") and " (4 processes); top 10 of " in title


def test_subprocess_imported_before_pulsetrace_starts(tmp_path: Path) -> None:
    """subprocess binds fork_exec when it is imported: a process that imported it before the run started
    (here the launcher itself, as a tool embedding pulsetrace might) still gets its children traced."""
    write(tmp_path / "child.py", "def child_work():\n    return 7\nprint(child_work())\n")
    write(tmp_path / "prog.py", "import subprocess, sys\nsubprocess.run([sys.executable, 'child.py'])\n")
    launcher = (
        "import subprocess, sys\n"
        "from pulsetrace.cli.main import main\n"
        "sys.argv = ['pulsetrace', 'run', '-q', '-o', 'trace.pulse', 'prog.py']\n"
        "main()\n"
    )
    result = run([sys.executable, "-c", launcher], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "7\n"
    trace = read_trace(tmp_path / "trace.pulse")
    assert [process.name for process in trace.processes] == ["python prog.py", "python child.py"]
    assert calls(trace.processes[1])["child_work"] == 1


# -- pools: many tasks, concurrent.futures ------------------------------------------------------------

POOLS = """
import concurrent.futures, multiprocessing, sys

def square(n):
    return n * n

def cube(n):
    return n * n * n

if __name__ == "__main__":
    context = multiprocessing.get_context(sys.argv[1])
    with context.Pool(2) as pool:
        print(sum(pool.map(square, range(100), chunksize=1)))
        pool.close()
        pool.join()
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as executor:
        print(sum(executor.map(cube, range(10))))
"""


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_pool_of_two_with_100_tasks_and_a_process_pool_executor(tmp_path: Path, method: str) -> None:
    write(tmp_path / "prog.py", POOLS)
    traced, trace = traced_run(tmp_path, ["prog.py", method])
    assert traced.stdout == "328350\n2025\n"
    root, *children = trace.processes
    pool_workers = [
        child for child in children if child.name.startswith(("ForkPoolWorker-", "ForkServerPoolWorker-"))
    ]
    assert len(pool_workers) == 2, [child.name for child in children]
    assert sum(calls(worker).get("square", 0) for worker in pool_workers) == 100
    executor_workers = processes_calling(trace, "cube")
    pool_pids = {worker.pid for worker in pool_workers}
    assert executor_workers and not {worker.pid for worker in executor_workers} & pool_pids
    assert all(worker.name.startswith(("ForkProcess-", "ForkServerProcess-")) for worker in executor_workers)
    assert sum(calls(worker)["cube"] for worker in executor_workers) == 10
    assert "square" not in calls(root) and "cube" not in calls(root)
    assert len({process.pid for process in trace.processes}) == len(trace.processes)
    assert {child.metadata["parent_pid"] for child in children} == {root.pid}


# -- children that end badly, the root left waiting ------------------------------------------------------


def test_subprocess_child_ending_with_os_exit_3(tmp_path: Path) -> None:
    write(
        tmp_path / "prog.py",
        """
        import subprocess, sys
        code = "import os\\ndef before_exit():\\n    print('bye', flush=True)\\nbefore_exit()\\nos._exit(3)"
        print(subprocess.run([sys.executable, "-c", code]).returncode)
        """,
    )
    traced, trace = traced_run(tmp_path, ["prog.py"])
    assert traced.stdout == "bye\n3\n"
    root, child = trace.processes
    assert calls(child)["before_exit"] == 1 and child.metadata["parent_pid"] == root.pid


DAEMON_POOL = """
import multiprocessing, os, sys, time

def square(n):
    return n * n

def stuck():
    time.sleep(60)

if __name__ == "__main__":
    context = multiprocessing.get_context("fork")
    pool = context.Pool(2)
    print(pool.map(square, range(4)))
    stuck_process = context.Process(target=stuck, name="stuck-daemon", daemon=True)
    stuck_process.start()
    with open(sys.argv[1], "w") as file:
        file.write(str(stuck_process.pid))
    os._exit(0)  # neither the pool nor the daemon is ended: they are left running
"""


def test_a_daemon_pool_left_running_at_exit(tmp_path: Path) -> None:
    """Workers that never end: the root saves after --children-timeout and names those it left."""
    write(tmp_path / "prog.py", DAEMON_POOL)
    try:
        # The workers keep the standard streams open: read them from files, not pipes that never end.
        traced = run_to_files(
            [*pulsetrace_command(["run", "--children-timeout", "0.5", "-o", "trace.pulse"]), "prog.py", "x"],
            tmp_path,
        )
        stuck = int((tmp_path / "x").read_text())
        assert traced.returncode == 0, traced.stderr
        assert traced.stdout == "[0, 1, 4, 9]\n"
        left = [line for line in notes(traced) if "was still running" in line]
        assert any(f"child process {stuck} " in line for line in left), notes(traced)
        assert len(left) == 3  # two pool workers and the daemon, none of them in the trace
        trace = read_trace(tmp_path / "trace.pulse")
        assert [process.name for process in trace.processes] == ["python prog.py"]
    finally:
        _kill_processes_in(tmp_path)


def run_to_files(command: Sequence[str], cwd: Path, **popen: Any) -> Result:
    """Run ``command`` until it ends, its output in files: descendants left running after it keep
    their copies of the streams, which pipes would wait for."""
    import subprocess

    with open(cwd / "stdout.txt", "w+") as out, open(cwd / "stderr.txt", "w+") as err:
        returncode = subprocess.run(
            command, cwd=cwd, env=environment(), stdout=out, stderr=err, timeout=60
        ).returncode
        out.seek(0)
        err.seek(0)
        return Result(returncode, out.read(), err.read())


def _kill_processes_in(directory: Path) -> None:
    """End the processes a test left running (pool workers whose parent is gone): those working in
    ``directory``."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            if os.readlink(f"/proc/{entry}/cwd") == str(directory):
                os.kill(int(entry), signal.SIGKILL)
        except OSError:
            continue


# -- the run's directory -------------------------------------------------------------------------------

INTERRUPTED = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print("running", flush=True)
try:
    time.sleep(60)
finally:
    child.kill()
    child.wait()
"""


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_root_leaves_no_directory(tmp_path: Path, how: signal.Signals) -> None:
    import subprocess

    write(tmp_path / "prog.py", INTERRUPTED)
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = environment(extra={"TMPDIR": str(temp)})
    command = pulsetrace_command(["run", "-q", "-o", "trace.pulse", "prog.py"])
    try:
        with open(tmp_path / "stderr.txt", "w") as err:
            root = subprocess.Popen(
                command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=err, text=True
            )
            assert root.stdout is not None
            assert root.stdout.readline() == "running\n"
            (run_directory,) = os.listdir(temp)
            assert run_directory.startswith("pulsetrace-children-")
            assert os.stat(temp / run_directory).st_mode & 0o777 == 0o700  # private to this user
            root.send_signal(how)
            returncode = root.wait(timeout=30)
            root.stdout.close()
    finally:
        _kill_processes_in(tmp_path)
    assert returncode == -how  # python dies by SIGINT too, after its KeyboardInterrupt traceback
    assert os.listdir(temp) == []
    assert read_trace(tmp_path / "trace.pulse").processes[0].name == "python prog.py"


# -- os.exec* and os.spawn* ------------------------------------------------------------------------------

EXEC_ROOT = """
import os, subprocess, sys

def before_exec():
    print("root", os.getpid() == int(sys.argv[1]) if sys.argv[1:] else "", flush=True)

before_exec()
subprocess.run([sys.executable, "middle.py"])
print("spawned", os.spawnv(os.P_WAIT, sys.executable, [sys.executable, "leaf.py", "spawned"]), flush=True)
print("shell", os.spawnv(os.P_WAIT, "/bin/sh", ["sh", "-c", "echo from sh"]), flush=True)
os.execv(sys.executable, [sys.executable, "leaf.py", "root", str(os.getpid())])
"""

EXEC_MIDDLE = """
import os, sys

def in_middle():
    print("middle", flush=True)

in_middle()
os.execl(sys.executable, sys.executable, "leaf.py", "middle", str(os.getpid()))
"""

EXEC_LEAF = """
import os, sys

def leaf():
    print("leaf", sys.argv[1], os.getpid() == int(sys.argv[2]) if sys.argv[2:] else "-", flush=True)

leaf()
"""


def test_exec_and_spawn_into_python(tmp_path: Path) -> None:
    """os.execv of the root and os.execl of a child: each saves its part, and the program it becomes is
    traced as a new track of the same pid; os.spawnv's child is traced, a shell left alone."""
    write(tmp_path / "prog.py", EXEC_ROOT)
    write(tmp_path / "middle.py", EXEC_MIDDLE)
    write(tmp_path / "leaf.py", EXEC_LEAF)
    traced, trace = traced_run(tmp_path, ["prog.py"])
    assert traced.stdout == (
        "root \nmiddle\nleaf middle True\nleaf spawned -\nspawned 0\nfrom sh\nshell 0\nleaf root True\n"
    )
    root, middle, middle_leaf, spawned, root_leaf = trace.processes
    assert (
        calls(root)["before_exec"] == 1 and root.metadata["replaced_by"] == f"python leaf.py root {root.pid}"
    )
    assert calls(middle)["in_middle"] == 1 and middle.metadata["parent_pid"] == root.pid
    for leaf in (middle_leaf, spawned, root_leaf):
        assert calls(leaf)["leaf"] == 1
    # The program an exec started keeps its process's pid in the history, under a fresh pid of its own.
    assert middle_leaf.metadata["combined"][-1]["pid"] == middle.pid and middle_leaf.pid != middle.pid
    assert root_leaf.metadata["combined"][-1]["pid"] == root.pid
    assert spawned.metadata["parent_pid"] == root.pid and spawned.name == "python leaf.py spawned"
    assert root.stop_ns <= root_leaf.start_ns and middle.stop_ns <= middle_leaf.start_ns
    assert (
        notes(traced)[0]
        == f"pulsetrace: note: python prog.py replaced itself by python leaf.py root {root.pid} (os.exec*)"
    )


@pytest.mark.parametrize(
    "program, named",
    [("missing.py", "python missing.py 1"), ("-m no_such_module", "python -m no_such_module 1")],
)
def test_a_root_that_execs_a_program_that_cannot_start_still_saves_the_run(
    tmp_path: Path, program: str, named: str
) -> None:
    """The program the root replaced itself by takes the run over; when that program cannot even start
    (no such script, no such module) python's message and status are kept, and the run is saved all
    the same, with what the root recorded before the exec; nothing is left in the temporary directory."""
    words = program.split()
    write(
        tmp_path / "prog.py",
        "import os, sys\n\ndef before_exec():\n    pass\n\nbefore_exec()\n"
        f"os.execv(sys.executable, [sys.executable, *{words!r}, '1'])\n",
    )
    temp = tmp_path / "tmp"
    temp.mkdir()
    traced, trace = traced_run(tmp_path, ["prog.py"], env={"TMPDIR": str(temp)})
    assert traced.returncode in (1, 2) and "Traceback" not in traced.stderr
    root, replacement = trace.processes
    assert calls(root)["before_exec"] == 1 and root.metadata["replaced_by"] == named
    assert replacement.name.startswith(named) and replacement.metadata["combined"][-1]["pid"] == root.pid
    assert os.listdir(temp) == []


def test_a_killed_root_leaves_its_directory_until_the_next_run(tmp_path: Path) -> None:
    """SIGKILL gives the root no chance to clean up: the next run removes what it left."""
    import subprocess

    write(tmp_path / "prog.py", "import time\nprint('running', flush=True)\ntime.sleep(60)\n")
    write(tmp_path / "quick.py", "print('quick')\n")
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = environment(extra={"TMPDIR": str(temp)})
    (temp / "pulsetrace-children-other").mkdir()  # not a run's (no session.json): left alone
    command = pulsetrace_command(["run", "-q", "-o", "trace.pulse", "prog.py"])
    with subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True) as root:
        assert root.stdout is not None and root.stdout.readline() == "running\n"
        root.kill()
    assert sorted(os.listdir(temp))[0].startswith("pulsetrace-children-") and len(os.listdir(temp)) == 2
    done = run_pulsetrace(["run", "-q", "-o", "quick.pulse", "quick.py"], tmp_path, env={"TMPDIR": str(temp)})
    assert done.returncode == 0 and done.stdout == "quick\n"
    assert os.listdir(temp) == ["pulsetrace-children-other"]
