"""Run the real ``pulsetrace`` command line and plain ``python`` on the same program, and compare."""

from __future__ import annotations

import gzip
import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
if str(SRC) not in sys.path:  # the tests exercise this checkout, installed or not
    sys.path.insert(0, str(SRC))

SUMMARY = re.compile(r"^pulsetrace: wrote (\d+) calls \((\d+(?:\.\d)? (?:B|KiB|MiB|GiB))\) to (.+)$")
# The terminal summary's title; its rows follow, each indented by two spaces.
TABLE_TITLE = re.compile(r"^pulsetrace: [\d,]+ calls in .+ functions by self time$")
TIMEOUT = 60


@dataclass
class Result:
    """What a finished process left behind."""

    returncode: int
    stdout: str
    stderr: str

    def split_summary(self) -> tuple[str, List[str]]:
        """The program's own stderr, and pulsetrace's lines that end it: ``pulsetrace: ...`` lines
        and the rows of the terminal summary's table (indented by two spaces) below its title."""
        lines = self.stderr.splitlines(keepends=True)
        ours: List[str] = []
        while lines and lines[-1].startswith(("pulsetrace: ", "  ")):
            ours.insert(0, lines.pop().rstrip("\n"))
        while ours and not ours[0].startswith("pulsetrace: "):  # indented lines of the program's own
            lines.append(ours.pop(0) + "\n")
        return "".join(lines), ours

    def summary_table(self) -> List[str]:
        """The terminal summary's title and rows ([] when there is none)."""
        _, ours = self.split_summary()
        return ours[:-1] if ours and SUMMARY.match(ours[-1]) else []


def cores_available() -> List[Any]:
    """pytest params for every core, the C one skipped where the extension was not built."""
    params = []
    try:
        importlib.import_module("pulsetrace._core")
        c_skip = None
    except ImportError as exc:
        c_skip = f"pulsetrace._core is not importable: {exc}"
    params.append(pytest.param("c", marks=[pytest.mark.skipif(c_skip is not None, reason=c_skip or "")]))
    py_missing = importlib.util.find_spec("pulsetrace.pycore") is None
    params.append(
        pytest.param("python", marks=[pytest.mark.skipif(py_missing, reason="pulsetrace.pycore not present")])
    )
    return params


def environment(core: Optional[str] = None, extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """The environment both python and pulsetrace get: this checkout's src first on PYTHONPATH."""
    env = dict(os.environ)
    for name in ("PULSETRACE_CORE", "PULSETRACE_BACKEND", "PULSETRACE_DEBUG", "PYTHONSTARTUP"):
        env.pop(name, None)
    paths = [str(SRC)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(SRC)]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONWARNINGS", None)
    if core is not None:
        env["PULSETRACE_CORE"] = core
    env.update(extra or {})
    return env


def python_command(args: Sequence[str]) -> List[str]:
    return [sys.executable, *args]


def pulsetrace_command(args: Sequence[str]) -> List[str]:
    return [sys.executable, "-m", "pulsetrace", *args]


def run(
    command: Sequence[str],
    cwd: Path,
    *,
    stdin: Optional[str] = None,
    core: Optional[str] = None,
    env: Optional[Mapping[str, str]] = None,
) -> Result:
    done = subprocess.run(
        list(command),
        cwd=str(cwd),
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=environment(core, env),
        timeout=TIMEOUT,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def run_python(args: Sequence[str], cwd: Path, **kwargs: Any) -> Result:
    """``python ARGS`` in ``cwd``."""
    return run(python_command(args), cwd, **kwargs)


def run_pulsetrace(args: Sequence[str], cwd: Path, **kwargs: Any) -> Result:
    """``pulsetrace ARGS`` in ``cwd`` (as ``python -m pulsetrace``)."""
    return run(pulsetrace_command(args), cwd, **kwargs)


def write(path: Path, source: str) -> Path:
    """Write a dedented program to ``path`` (parents created) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source).lstrip("\n"))
    return path


def assert_same_run(plain: Result, traced: Result, *, summary: bool = True) -> List[str]:
    """The traced run printed and exited exactly like the plain one, plus pulsetrace's summary line."""
    program_stderr, ours = traced.split_summary()
    # (helpers are not assertion-rewritten: say what differs)
    assert traced.stdout == plain.stdout, _differ("stdout", plain.stdout, traced.stdout)
    assert program_stderr == plain.stderr, _differ("stderr", plain.stderr, program_stderr)
    assert traced.returncode == plain.returncode, _differ("exit status", plain.returncode, traced.returncode)
    if summary:
        assert ours and SUMMARY.match(ours[-1]) and is_summary_table(ours[:-1]), traced.stderr
    else:
        assert ours == [], traced.stderr
    return ours


def _differ(what: str, plain: object, traced: object) -> str:
    return f"{what} differs\n--- python:\n{plain}\n--- pulsetrace:\n{traced}"


def is_summary_table(lines: Sequence[str]) -> bool:
    """Whether ``lines`` are a terminal summary (a title and indented rows) or nothing, after any
    ``pulsetrace: note: ...`` lines."""
    lines = [line for line in lines if not line.startswith("pulsetrace: note: ")]
    if not lines:
        return True
    return (
        bool(TABLE_TITLE.match(lines[0]))
        and len(lines) >= 3
        and all(row.startswith("  ") for row in lines[1:])
    )


def summary_of(result: Result) -> re.Match[str]:
    _, ours = result.split_summary()
    assert ours and is_summary_table(ours[:-1]), result.stderr
    match = SUMMARY.match(ours[-1])
    assert match is not None, ours[-1]
    return match


def load_json_trace(path: Path) -> Dict[str, Any]:
    """A .json or .json.gz trace, parsed."""
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    trace = json.loads(data)
    assert isinstance(trace, dict)
    return trace


def slice_names(trace: Mapping[str, Any]) -> Set[str]:
    """The names of the complete ("X") events of a Chrome trace, without their " (file:line)" suffix."""
    names = set()
    for event in trace["traceEvents"]:
        if event.get("ph") == "X":
            names.add(str(event["name"]).split(" (", 1)[0])
    return names
