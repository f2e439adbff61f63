"""Compile the floor extension for the running interpreter, using that interpreter's sysconfig.

The result goes to ``benchmarks/floor/build/<cache tag>/`` (ignored by git) and is rebuilt whenever a
source file is newer. Run ``python benchmarks/floor/build.py`` to build by hand; the benchmark runner
does it for the interpreter it benchmarks.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
SOURCES = [HERE / "floor.c"]
HEADERS = [HERE / "records.h"]
MODULE = "_floor"


class FloorBuildError(RuntimeError):
    """The compiler failed; the message carries its output."""


def extension_path() -> Path:
    tag = sys.implementation.cache_tag or "python"
    return HERE / "build" / tag / (MODULE + str(sysconfig.get_config_var("EXT_SUFFIX")))


def _up_to_date(target: Path) -> bool:
    if not target.exists():
        return False
    built = target.stat().st_mtime
    return all(source.stat().st_mtime <= built for source in SOURCES + HEADERS)


def compile_command(target: Path) -> list[str]:
    """The one compiler invocation (compile and link) this interpreter's build flags call for."""
    config = sysconfig.get_config_var
    return [
        *shlex.split(config("CC") or "cc"),
        *shlex.split(config("CFLAGS") or ""),
        *shlex.split(config("CCSHARED") or "-fPIC"),
        "-O2",
        "-I", sysconfig.get_paths()["include"],
        "-I", str(HERE),
        *map(str, SOURCES),
        "-shared",
        "-o", str(target),
    ]


def build(force: bool = False) -> Path:
    """Build the extension if needed and return its path."""
    target = extension_path()
    if force or not _up_to_date(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        command = compile_command(target)
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise FloorBuildError(f"{shlex.join(command)}\n{done.stdout}{done.stderr}")
    return target


def load() -> ModuleType:
    """Import the built extension (without building it)."""
    path = extension_path()
    if not path.exists():
        raise FloorBuildError(f"floor extension not built: {path} (run benchmarks/floor/build.py)")
    loader = importlib.machinery.ExtensionFileLoader(MODULE, str(path))
    spec = importlib.util.spec_from_file_location(MODULE, path, loader=loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


if __name__ == "__main__":
    try:
        print(build(force="--force" in sys.argv))
    except FloorBuildError as exc:
        sys.exit(f"floor build failed: {exc}")
