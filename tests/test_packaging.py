"""Installing where no C compiler works: the build warns and succeeds, and pulsetrace records with the
Python core and says so."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers_cli import SRC, Result, environment, summary_of, write

ROOT = SRC.parent


def source_copy(tmp_path: Path) -> Path:
    """The files a source install sees, without any built extension."""
    copy = tmp_path / "pulsetrace-src"
    copy.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    shutil.copytree(SRC, copy / "src", ignore=shutil.ignore_patterns("*.so", "__pycache__", "*.pyd"))
    return copy


def test_a_failed_compile_is_a_warning(tmp_path: Path) -> None:
    pytest.importorskip("setuptools")
    copy = source_copy(tmp_path)
    done = subprocess.run(
        [sys.executable, "setup.py", "build_ext", "--inplace"],
        cwd=copy, env={**os.environ, "CC": "/bin/false"}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr.count("WARNING: pulsetrace could not build its C extension") == 1, done.stderr
    assert "apt install gcc python3-dev" in done.stderr
    assert not list((copy / "src" / "pulsetrace").glob("_core*.so"))


def test_without_the_extension_the_python_core_records_and_says_so(tmp_path: Path) -> None:
    copy = source_copy(tmp_path)
    write(tmp_path / "prog.py", "def f(n):\n    return n + 1\nprint(f(1))\n")
    env = environment()
    env["PYTHONPATH"] = str(copy / "src")  # before the checkout's src, which has the extension
    done = subprocess.run(
        [sys.executable, "-m", "pulsetrace", "run", "-o", "t.pulse", "prog.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout == "2\n", done.stderr
    notes = [line for line in done.stderr.splitlines() if line.startswith("pulsetrace: note: ")]
    assert len(notes) == 1 and "slower Python core" in notes[0] and "C compiler" in notes[0], done.stderr
    assert int(summary_of(Result(0, "", done.stderr)).group(1)) > 0
    quiet = subprocess.run(
        [sys.executable, "-m", "pulsetrace", "run", "--quiet", "--core", "python", "prog.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert quiet.returncode == 0 and quiet.stderr == ""
