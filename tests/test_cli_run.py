"""`pulsetrace run`: its command line, its errors, its one summary line and the trace file it writes."""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from helpers_cli import (
    SRC,
    SUMMARY,
    TABLE_TITLE,
    cores_available,
    load_json_trace,
    run_pulsetrace,
    run_python,
    slice_names,
    summary_of,
    write,
)
from pulsetrace import __version__
from pulsetrace.cli.main import build_parser, main
from pulsetrace.cli.run import RunCommand, split_command_line
from pulsetrace.model.native import read_trace
from pulsetrace.runner import CODE, MODULE, SCRIPT, Target, format_size

CORES = cores_available()

ECHO = """
    import json, sys
    def shout(words):
        return [word.upper() for word in words]
    print(json.dumps(sys.argv))
    print(json.dumps(shout(sys.argv[1:])))
"""


def _argv(stdout: str) -> List[str]:
    argv = json.loads(stdout.splitlines()[0])
    assert isinstance(argv, list)
    return argv


# -- splitting the command line (in process: no program runs) ---------------------------------------


def _split(words: List[str]) -> tuple[List[str], Optional[Target]]:
    _, parsers = build_parser([RunCommand()])
    return split_command_line(parsers["run"], words)


@pytest.mark.parametrize(
    "words, options, target",
    [
        (["prog.py"], [], Target(SCRIPT, "prog.py", [])),
        (["prog.py", "-o", "x", "--core", "c"], [], Target(SCRIPT, "prog.py", ["-o", "x", "--core", "c"])),
        (["-o", "t.json", "prog.py", "a"], ["-o", "t.json"], Target(SCRIPT, "prog.py", ["a"])),
        (["--output=t.json", "-q", "prog.py"], ["--output=t.json", "-q"], Target(SCRIPT, "prog.py", [])),
        (["-qo", "t.json", "prog.py"], ["-qo", "t.json"], Target(SCRIPT, "prog.py", [])),
        (["-ot.json", "prog.py"], ["-ot.json"], Target(SCRIPT, "prog.py", [])),
        (
            ["--core", "python", "-m", "pkg.mod", "-o", "y"],
            ["--core", "python"],
            Target(MODULE, "pkg.mod", ["-o", "y"]),
        ),
        (["-mpkg", "a"], [], Target(MODULE, "pkg", ["a"])),
        (["-qm", "pkg"], ["-q"], Target(MODULE, "pkg", [])),
        (["-c", "print(1)", "-q", "--", "z"], [], Target(CODE, "print(1)", ["-q", "--", "z"])),
        (["-o", "t.json", "--", "-odd.py", "-o"], ["-o", "t.json"], Target(SCRIPT, "-odd.py", ["-o"])),
        (["--", "prog.py", "--", "x"], [], Target(SCRIPT, "prog.py", ["--", "x"])),
        (["-o", "t.json"], ["-o", "t.json"], None),
        (["--"], [], None),
        (["--bogus", "prog.py"], ["--bogus"], Target(SCRIPT, "prog.py", [])),
    ],
)
def test_split_command_line(words: List[str], options: List[str], target: Optional[Target]) -> None:
    got_options, got_target = _split(words)
    assert got_options == options
    if target is None:
        assert got_target is None
    else:
        assert got_target is not None
        assert (got_target.kind, got_target.value, list(got_target.args)) == (
            target.kind,
            target.value,
            list(target.args),
        )


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"pulsetrace {__version__}\n"


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "missing command"),
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["run"], "missing the program to run"),
        (["run", "-o", "x.json"], "missing the program to run"),
        (["run", "-m"], "argument -m: expected one argument"),
        (["run", "--bogus", "prog.py"], "unrecognized arguments: --bogus"),
        (["run", "--core", "java", "prog.py"], "invalid choice: 'java'"),
        (["run", "-", "x"], "standard input"),
    ],
)
def test_usage_errors(capsys: pytest.CaptureFixture[str], argv: List[str], message: str) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err


def test_help_lists_the_run_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-h"]) == 0
    assert "run" in capsys.readouterr().out
    assert main(["run", "--help"]) == 0
    text = capsys.readouterr().out
    assert "-m module" in text and "--output" in text and "Run a Python program" in text


def test_format_size() -> None:
    assert format_size(0) == "0 B"
    assert format_size(1023) == "1023 B"
    assert format_size(1536) == "1.5 KiB"
    assert format_size(5 * 1024 * 1024) == "5.0 MiB"


# -- options and arguments reach the right place ----------------------------------------------------


def test_options_after_the_script_belong_to_the_script(tmp_path: Path) -> None:
    write(tmp_path / "prog.py", ECHO)
    args = ["-o", "other.json", "--core", "c", "-q", "-m", "x", "-c", "y", "--", "--help"]
    traced = run_pulsetrace(["run", "prog.py", *args], tmp_path)
    assert traced.returncode == 0, traced.stderr
    assert _argv(traced.stdout) == ["prog.py", *args]
    assert (tmp_path / "result.html").exists()  # the default output, not the script's "-o"
    assert not (tmp_path / "other.json").exists()
    assert summary_of(traced).group(3) == "result.html"


def test_double_dash_ends_pulsetrace_options(tmp_path: Path) -> None:
    write(tmp_path / "-dash.py", ECHO)
    traced = run_pulsetrace(["run", "-o", "t.json", "--", "-dash.py", "--", "-o"], tmp_path)
    assert traced.returncode == 0, traced.stderr
    assert _argv(traced.stdout) == ["-dash.py", "--", "-o"]
    assert (tmp_path / "t.json").exists()


def test_module_and_code_take_the_rest(tmp_path: Path) -> None:
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "pkg" / "echo.py", ECHO)
    traced = run_pulsetrace(["run", "-qo", "m.json", "-m", "pkg.echo", "-o", "x"], tmp_path)
    assert traced.returncode == 0, traced.stderr
    assert _argv(traced.stdout) == [str(tmp_path / "pkg" / "echo.py"), "-o", "x"]
    assert traced.stderr == ""  # -q: no summary
    code = "import json, sys; print(json.dumps(sys.argv))"
    traced = run_pulsetrace(["run", "--output=c.json", "-c", code, "-q", "--output"], tmp_path)
    assert _argv(traced.stdout) == ["-c", "-q", "--output"]
    assert (tmp_path / "m.json").exists() and (tmp_path / "c.json").exists()


# -- errors before the program runs -----------------------------------------------------------------


def test_missing_script(tmp_path: Path) -> None:
    traced = run_pulsetrace(["run", "-o", "t.json", "nowhere/missing.py"], tmp_path)
    plain = run_python(["nowhere/missing.py"], tmp_path)
    assert traced.returncode == plain.returncode == 2
    path = str(tmp_path / "nowhere" / "missing.py")
    assert (
        traced.stderr == f"pulsetrace: error: can't open file {path!r}: [Errno 2] No such file or directory\n"
    )
    assert plain.stderr.endswith(f": can't open file {path!r}: [Errno 2] No such file or directory\n")
    assert not (tmp_path / "t.json").exists()


@pytest.mark.parametrize(
    "module, message",
    [
        ("nosuchmodule", "No module named nosuchmodule"),
        ("pkg.nosuch", "No module named pkg.nosuch"),
        ("pkg", "No module named pkg.__main__; 'pkg' is a package and cannot be directly executed"),
    ],
)
def test_missing_module(tmp_path: Path, module: str, message: str) -> None:
    write(tmp_path / "pkg" / "__init__.py", "")
    traced = run_pulsetrace(["run", "-o", "t.json", "-m", module], tmp_path)
    plain = run_python(["-m", module], tmp_path)
    assert traced.returncode == plain.returncode == 1
    assert traced.stderr == f"pulsetrace: error: {message}\n"
    assert plain.stderr.endswith(f": {message}\n")
    assert not (tmp_path / "t.json").exists()


def test_directory_without_main(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    traced = run_pulsetrace(["run", "-o", "t.json", "empty"], tmp_path)
    assert traced.returncode == run_python(["empty"], tmp_path).returncode == 1
    assert (
        traced.stderr == f"pulsetrace: error: can't find '__main__' module in {str(tmp_path / 'empty')!r}\n"
    )


@pytest.mark.parametrize(
    "output, message",
    [
        ("no/such/dir/t.json", "does not exist"),
        ("trace.txt", "cannot tell the output format"),
        ("folder.json", "it is a directory"),
    ],
)
def test_unwritable_output_stops_before_the_program(tmp_path: Path, output: str, message: str) -> None:
    write(tmp_path / "prog.py", "open('ran', 'w').close()\nprint('ran')\n")
    (tmp_path / "folder.json").mkdir()
    traced = run_pulsetrace(["run", "-o", output, "prog.py"], tmp_path)
    assert traced.returncode == 2
    assert traced.stderr.startswith("pulsetrace: error: ") and message in traced.stderr
    assert traced.stderr.count("\n") == 1 and "Traceback" not in traced.stderr
    assert traced.stdout == "" and not (tmp_path / "ran").exists()


def test_backend_not_available_here(tmp_path: Path) -> None:
    write(tmp_path / "prog.py", "open('ran', 'w').close()\n")
    unavailable = "monitoring" if sys.version_info < (3, 12) else None
    if unavailable is None:
        pytest.skip("every backend is available on this Python")
    traced = run_pulsetrace(["run", "--backend", unavailable, "prog.py"], tmp_path)
    assert traced.returncode == 2 and "backend 'monitoring' is not available" in traced.stderr
    assert not (tmp_path / "ran").exists()


# -- after the program: the summary line and the trace file -----------------------------------------


@pytest.mark.parametrize("core", CORES)
def test_json_trace_and_summary(tmp_path: Path, core: str) -> None:
    write(
        tmp_path / "prog.py",
        """
        def leaf(n):
            for _ in range(30000):  # the most self time of the run
                pass
            return n * 2
        def branch():
            return [leaf(i) for i in range(3)]
        class Box:
            def open(self):
                return branch()
        print(Box().open())
        """,
    )
    (tmp_path / "out").mkdir()
    traced = run_pulsetrace(["run", "--core", core, "-o", "out/trace.json", "prog.py"], tmp_path)
    assert traced.returncode == 0, traced.stderr
    assert traced.stdout == "[0, 2, 4]\n"
    lines = traced.stderr.splitlines()
    match = SUMMARY.match(lines[-1])  # where the trace went: always the last line
    assert match is not None, traced.stderr
    # Above it, the terminal summary: the functions with the most self time, with their calls.
    assert TABLE_TITLE.match(lines[0]) and lines[1].split() == ["calls", "self", "%", "total", "function"]
    assert lines[2].split()[0] == "3" and lines[2].endswith("  leaf (prog.py:1)")
    assert len(lines) == 2 + 10 + 1  # the top 10 of more than 10 functions
    path = tmp_path / "out" / "trace.json"
    assert match.group(3) == "out/trace.json"
    assert match.group(2) == format_size(path.stat().st_size)
    trace = load_json_trace(path)
    assert {"leaf", "branch", "Box.open", "<module>"} <= slice_names(trace)
    leaf_slices = [e for e in trace["traceEvents"] if e.get("ph") == "X" and e["name"].startswith("leaf ")]
    assert len(leaf_slices) == 3
    assert int(match.group(1)) > 0
    assert trace["metadata"]["processes"][0]["metadata"]["core"] == core


@pytest.mark.parametrize("core", CORES)
def test_other_formats(tmp_path: Path, core: str) -> None:
    write(tmp_path / "prog.py", "def work():\n    return 1\nwork()\n")
    traced = run_pulsetrace(["run", "--core", core, "-o", "t.json.gz", "prog.py"], tmp_path)
    assert traced.returncode == 0, traced.stderr
    assert "work" in slice_names(json.loads(gzip.decompress((tmp_path / "t.json.gz").read_bytes())))
    traced = run_pulsetrace(["run", "--core", core, "-o", "t.pulse", "prog.py"], tmp_path)
    assert traced.returncode == 0, traced.stderr
    assert summary_of(traced).group(3) == "t.pulse" and (tmp_path / "t.pulse").stat().st_size > 0


def test_save_failure_keeps_the_program_exit_status(tmp_path: Path) -> None:
    """The program removes the output directory: the save fails, says so, and exit 3 stands."""
    (tmp_path / "out").mkdir()
    write(tmp_path / "prog.py", "import shutil, sys\nshutil.rmtree('out')\nprint('bye')\nsys.exit(3)\n")
    traced = run_pulsetrace(["run", "-o", "out/t.json", "prog.py"], tmp_path)
    assert traced.returncode == 3
    assert traced.stdout == "bye\n"
    lines = traced.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pulsetrace: could not save the trace to out/t.json: ")
    assert "Traceback" not in traced.stderr


def test_impossible_core_choice_is_a_usage_error(tmp_path: Path) -> None:
    write(tmp_path / "prog.py", "open('ran', 'w').close()\n")
    traced = run_pulsetrace(["run", "-o", "t.json", "prog.py"], tmp_path, env={"PULSETRACE_BACKEND": "none"})
    assert traced.returncode == 2 and "backend 'none'" in traced.stderr
    assert traced.stdout == "" and not (tmp_path / "ran").exists()


def _with_sitecustomize(tmp_path: Path, source: str) -> Dict[str, str]:
    """An environment whose interpreter runs ``source`` at startup, before pulsetrace does anything."""
    write(tmp_path / "site" / "sitecustomize.py", source)
    return {"PYTHONPATH": os.pathsep.join([str(SRC), str(tmp_path / "site")])}


def test_start_failure_runs_the_program_untraced(tmp_path: Path) -> None:
    env = _with_sitecustomize(
        tmp_path,
        """
        import pulsetrace.tracer
        def start(self):
            raise RuntimeError("simulated start failure")
        pulsetrace.tracer.Tracer.start = start
        """,
    )
    write(tmp_path / "prog.py", "import sys\nprint('ran')\nsys.exit(4)\n")
    traced = run_pulsetrace(["run", "-o", "t.json", "prog.py"], tmp_path, env=env)
    assert (traced.returncode, traced.stdout) == (4, "ran\n")
    assert traced.stderr == (
        "pulsetrace: could not start tracing, running the program untraced: "
        "RuntimeError: simulated start failure\n"
    )
    assert not (tmp_path / "t.json").exists()


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is new in 3.12")
@pytest.mark.parametrize("core", CORES)
def test_no_free_monitoring_tool_id(tmp_path: Path, core: str) -> None:
    """Other tools hold every sys.monitoring id: pulsetrace says so and the program still runs."""
    env = _with_sitecustomize(
        tmp_path, "import sys\nfor i in range(6):\n    sys.monitoring.use_tool_id(i, f'other {i}')\n"
    )
    write(tmp_path / "prog.py", "print('ran')\n")
    traced = run_pulsetrace(
        ["run", "--backend", "monitoring", "-o", "t.json", "prog.py"], tmp_path, core=core, env=env
    )
    assert (traced.returncode, traced.stdout) == (0, "ran\n")
    assert traced.stderr.startswith("pulsetrace: could not start tracing, running the program untraced: ")
    assert traced.stderr.count("\n") == 1


@pytest.mark.parametrize("backend", ["setprofile", "monitoring"])
def test_backends(tmp_path: Path, backend: str) -> None:
    if backend == "monitoring" and sys.version_info < (3, 12):
        pytest.skip("sys.monitoring is new in 3.12")
    write(tmp_path / "prog.py", "def work():\n    return 1\nwork()\n")
    traced = run_pulsetrace(["run", "--backend", backend, "-o", "t.json", "prog.py"], tmp_path)
    assert traced.returncode == 0, traced.stderr
    trace = load_json_trace(tmp_path / "t.json")
    assert trace["metadata"]["processes"][0]["metadata"]["backend"] == backend
    assert "work" in slice_names(trace)


@pytest.mark.parametrize("core", CORES)
def test_a_program_with_its_own_tracer(tmp_path: Path, core: str) -> None:
    """A program that starts a pulsetrace Tracer runs as it would untraced; the run's trace ends there."""
    write(
        tmp_path / "own.py",
        """
        import pulsetrace
        def before(n):
            return n + 1
        def inside(n):
            return n * 2
        before(1)
        with pulsetrace.Tracer(output="mine.json"):
            inside(3)
        print("done", pulsetrace.running_tracer())
        """,
    )
    plain = run_python(["own.py"], tmp_path)
    (tmp_path / "mine.json").unlink()
    traced = run_pulsetrace(["run", "--core", core, "-o", "run.pulse", "own.py"], tmp_path)
    assert traced.stdout == plain.stdout == "done None\n" and traced.returncode == 0, traced.stderr
    assert "the program started a pulsetrace Tracer of its own" in traced.stderr
    mine = load_json_trace(tmp_path / "mine.json")
    assert "inside" in slice_names(mine) and "before" not in slice_names(mine)
    run_names = {f.name for f in read_trace(tmp_path / "run.pulse").process().functions}
    assert "before" in run_names and "inside" not in run_names
