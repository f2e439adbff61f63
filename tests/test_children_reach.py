"""Python processes that pulsetrace reaches through their environment (pulsetrace.childenv): started by a
shell, by os.system, as a ``#!`` script, or by another interpreter; and what happens to the trace when
the process replaces itself by another program (os.exec*), or fails to.

Each test runs the real CLI on a real program, checks that the program behaved exactly as under plain
python (the reached children print what they see of their environment, so a leak would show), and
reads the one trace the run wrote.
"""

from __future__ import annotations

import glob
import os
import stat
import sys
from pathlib import Path
from typing import List, Optional

import pytest

from helpers_cli import run_pulsetrace, write
from pulsetrace.childenv import env_list_with_run, environment_with_run, reaches_python
from pulsetrace.model import Trace
from test_children import calls, notes, traced_run

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="child processes are traced on POSIX")

# What a reached child prints of itself: it must be what it would have been without pulsetrace.
CHILD = """
import os, sys

def reached(tag):
    print(tag, sys.argv[1:], os.environ.get("PYTHONPATH", "<unset>").split(os.pathsep)[0].endswith("src"),
          sorted(name for name in os.environ if name.startswith("PULSETRACE_CHILD")),
          any("pulsetrace-children" in entry for entry in sys.path),
          sys.path[0] == os.path.dirname(os.path.abspath(__file__)), flush=True)

reached(sys.argv[1])
"""


def by_name(trace: Trace, name: str) -> List[str]:
    return [process.name for process in trace.processes if calls(process).get(name)]


def test_shell_os_system_and_shebang_children(tmp_path: Path) -> None:
    """A Python started through a shell (shell=True, os.system, sh -c) or as a #! script is traced,
    and sees the environment, sys.path and sitecustomize it would have had."""
    write(tmp_path / "child.py", CHILD)
    tool = write(tmp_path / "tool.py", f"#!{sys.executable}\n" + CHILD)
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    write(
        tmp_path / "prog.py",
        """
import os, subprocess, sys
py = sys.executable
subprocess.run(f"{py} child.py shell", shell=True)
os.system(f"{py} child.py system")
subprocess.run(["sh", "-c", f"{py} child.py sh-c"])
subprocess.run(["./tool.py", "shebang"])
print(os.popen(f"{py} child.py popen").read(), end="")
print("parent", sorted(name for name in os.environ if name.startswith("PULSETRACE")), flush=True)
""",
    )
    traced, trace = traced_run(tmp_path, ["prog.py"])
    # The children saw their own environment: PYTHONPATH as given, no PULSETRACE_CHILD_* left.
    assert traced.stdout.count("True [] False True") == 5, traced.stdout
    assert "parent []" in traced.stdout
    reached = trace.processes[1:]
    assert len(reached) == 5 and all(calls(process)["reached"] == 1 for process in reached)
    assert sorted(process.name for process in reached) == [
        "python ./tool.py shebang",
        "python child.py popen",
        "python child.py sh-c",
        "python child.py shell",
        "python child.py system",
    ]
    assert all(process.metadata["started_by"] == "exec" for process in reached)


def test_programs_that_cannot_start_python_are_left_alone(tmp_path: Path) -> None:
    """printenv (not a shell, not Python) gets exactly the environment it would have had."""
    write(
        tmp_path / "prog.py",
        "import subprocess\n"
        "out = subprocess.run(['printenv'], capture_output=True, text=True).stdout\n"
        "print(sorted(line.split('=')[0] for line in out.splitlines() if 'PULSETRACE' in line "
        "or 'pulsetrace-children' in line))\n",
    )
    traced, trace = traced_run(tmp_path, ["prog.py"])
    assert traced.stdout == "[]\n" and len(trace.processes) == 1


def other_interpreter() -> Optional[str]:
    """A Python of another version than this one (pyenv's, as CI has them), if there is one."""
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    roots = [os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv")]
    for root in filter(None, roots):
        for candidate in sorted(glob.glob(os.path.join(root, "versions", "3.*", "bin", "python3.*"))):
            name = os.path.basename(candidate)
            version = name[len("python") :]
            if (
                version != here
                and version.replace(".", "").isdigit()
                and tuple(map(int, version.split("."))) >= (3, 9)
            ):
                return candidate
    return None


OTHER = other_interpreter()


@pytest.mark.skipif(OTHER is None and not os.environ.get("CI"), reason="no Python of another version here")
def test_another_interpreter_is_traced(tmp_path: Path) -> None:
    """A child run by another Python version loads pulsetrace from the parent's installation (with
    the Python core if this installation has no C extension for it) and is in the trace."""
    assert OTHER is not None, "CI has the pyenv interpreters"
    write(tmp_path / "child.py", CHILD)
    write(
        tmp_path / "prog.py",
        f"import subprocess\nsubprocess.run([{OTHER!r}, 'child.py', 'other'])\n",
    )
    traced, trace = traced_run(tmp_path, ["prog.py"])
    assert traced.stdout == "other ['other'] True [] False True\n"
    root, child = trace.processes
    assert calls(child)["reached"] == 1 and child.name == "python child.py other"
    assert child.metadata["parent_pid"] == root.pid


# What a child of another Python that ignores the environment prints of itself.
ISOLATED_CHILD = """
import os, sys

def isolated(tag):
    print(tag, sys.argv, sys.flags.isolated, sys.flags.ignore_environment, sys.flags.no_site,
          sys.path[0], "site" in sys.modules,
          sorted(name for name in os.environ if name.startswith("PULSETRACE") or name == "PYTHONPATH"),
          flush=True)

isolated(sys.argv[1])
"""


@pytest.mark.skipif(OTHER is None and not os.environ.get("CI"), reason="no Python of another version here")
def test_another_python_that_ignores_the_environment_is_rewritten_and_traced(tmp_path: Path) -> None:
    """-E, -I and -S keep another Python from reading the run's variables (PYTHONPATH, sitecustomize):
    such a command line is rewritten as this interpreter's are, and the program sees the flags,
    sys.argv, sys.path and environment it would have had; an os.execv of one hands the run over."""
    assert OTHER is not None, "CI has the pyenv interpreters"
    write(tmp_path / "child.py", ISOLATED_CHILD)
    write(
        tmp_path / "prog.py",
        "import os, subprocess, sys\n"
        f"for flags in (['-I'], ['-E'], ['-S'], ['-IS', '-u']):\n"
        f"    subprocess.run([{OTHER!r}, *flags, 'child.py', ''.join(flags)])\n"
        f"subprocess.run([{OTHER!r}, '-I', '-c', 'import sys; print(sys.argv, sys.path[0])', 'x'])\n"
        f"os.execv({OTHER!r}, [{OTHER!r}, '-E', 'child.py', 'exec'])\n",
    )
    traced, trace = traced_run(tmp_path, ["prog.py"])  # the same output as under plain python
    assert len(traced.stdout.splitlines()) == 6
    named = sorted(process.name for process in trace.processes if calls(process).get("isolated"))
    assert named == sorted(f"python child.py {tag}" for tag in ["-I", "-E", "-S", "-IS-u"]) + [
        f"python child.py exec (run 2, pid {trace.processes[0].pid})"  # the root's pid, once more
    ]
    assert any(process.name.startswith("python -c import sys") for process in trace.processes)
    assert "lost" not in traced.stderr


def test_exec_of_another_program_saves_the_trace_first(tmp_path: Path) -> None:
    """The root replaced by a program that is not Python (os.execv of /bin/echo) saves the trace first,
    with its children's; a child that does the same saves its part too."""
    write(
        tmp_path / "prog.py",
        """
import os, subprocess, sys

CHILD = "import os; print('child', flush=True); os.execv('/bin/echo', ['echo', 'child echo'])"

def before():
    subprocess.run([sys.executable, "-c", CHILD])

before()
os.execv("/bin/echo", ["echo", "root echo"])
""",
    )
    traced, trace = traced_run(tmp_path, ["prog.py"])
    assert traced.stdout == "child\nchild echo\nroot echo\n"
    root, child = trace.processes
    assert calls(root)["before"] == 1 and calls(child)["builtins.print"] == 1


def test_a_failed_exec_goes_on_recording(tmp_path: Path) -> None:
    """An os.execv of this interpreter that fails (an argument over the kernel's limit) after the root
    saved its part: the program goes on, traced, and the part saved before is marked."""
    write(
        tmp_path / "prog.py",
        """
import os, sys

def before():
    pass

def after():
    pass

before()
try:
    os.execv(sys.executable, [sys.executable, "-c", "pass", "x" * 300_000])
except OSError as exc:
    print("exec failed", exc.errno, flush=True)
after()
""",
    )
    traced, trace = traced_run(tmp_path, ["prog.py"])
    assert traced.stdout.startswith("exec failed")
    first, second = trace.processes
    assert calls(first)["before"] == 1 and "after" not in calls(first)
    assert first.metadata["exec_failed"].startswith("python -c pass")
    assert calls(second)["after"] == 1


def test_lost_children_are_in_the_metadata_and_the_last_line(tmp_path: Path) -> None:
    """A child killed by SIGKILL is named in the root's metadata (children_lost) and at the end of the
    run's last line."""
    write(
        tmp_path / "prog.py",
        "import os, signal, subprocess, sys\n"
        "killer = 'import os, signal; os.kill(os.getpid(), signal.SIGKILL)'\n"
        "child = subprocess.Popen([sys.executable, '-c', killer])\n"
        "child.wait()\n"
        "print('killed', child.returncode == -signal.SIGKILL)\n",
    )
    result = run_pulsetrace(["run", "-o", "trace.pulse", "prog.py"], tmp_path)
    assert result.stdout == "killed True\n"
    from pulsetrace.model.native import read_trace

    trace = read_trace(tmp_path / "trace.pulse")
    (lost,) = trace.processes[0].metadata["children_lost"]
    assert lost["command"].startswith("python -c import os") and "SIGKILL" in lost["why"]
    last = result.stderr.splitlines()[-1]
    assert last.startswith("pulsetrace: wrote ") and last.endswith(
        f"; 1 child process lost (pid {lost['pid']})"
    )
    assert any("ended without saving" in note for note in notes(result))


# -- the pieces ---------------------------------------------------------------------------------------


def test_which_executables_are_reached(tmp_path: Path) -> None:
    script = write(tmp_path / "tool", "#!/usr/bin/env -S python3 -u\nprint(1)\n")
    shell_script = write(tmp_path / "run.sh", "#!/bin/sh\necho\n")
    other = write(tmp_path / "other", "#!/usr/bin/perl\n")
    binary = tmp_path / "binary"
    binary.write_bytes(b"\x7fELF" + bytes(100))
    for path in (
        "/usr/bin/python3.12",
        "python",
        "/bin/sh",
        "bash",
        "/usr/bin/env",
        "nice",
        script,
        shell_script,
    ):
        assert reaches_python(path), path
    for path in ("/usr/bin/printenv", "gcc", "ls", other, binary, tmp_path / "missing", b"\xff/x"):
        assert not reaches_python(path), path


def test_the_variables_go_in_front_of_pythonpath() -> None:
    env = environment_with_run({"PYTHONPATH": "/a", "HOME": "/h"}, "/run")
    assert env == {"PYTHONPATH": f"/run/boot{os.pathsep}/a", "HOME": "/h", "PULSETRACE_CHILD_RUN": "/run"}
    assert environment_with_run({b"HOME": b"/h"}, "/run") == {
        b"HOME": b"/h",
        b"PYTHONPATH": b"/run/boot",
        b"PULSETRACE_CHILD_RUN": b"/run",
    }
    listed = env_list_with_run([b"PYTHONPATH=/a", b"PULSETRACE_CHILD_RUN=/old", b"X=1"], "/run")
    assert listed == [
        b"X=1",
        b"PYTHONPATH=/run/boot" + os.pathsep.encode() + b"/a",
        b"PULSETRACE_CHILD_RUN=/run",
    ]
