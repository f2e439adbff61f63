"""The interpreter being benchmarked: its version and the environment its children run with.

pulsetrace is used as installed when that interpreter imports it from this checkout; otherwise (not
installed, or installed from another checkout or worktree) from the source tree
(``PYTHONPATH=<repo>/src``), so the benchmark measures the code beside it.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parent.parent
SOURCE_TREE = REPO / "src"

_DESCRIBE = """
import json, sys
found = {"version": list(sys.version_info[:3]), "full_version": sys.version, "executable": sys.executable}
for name in ("pulsetrace", "viztracer"):
    try:
        module = __import__(name)
        found[name] = {"file": module.__file__, "version": getattr(module, "__version__", "?")}
    except BaseException as exc:
        found[name] = {"error": f"{type(exc).__name__}: {exc}"}
print(json.dumps(found))
"""


@dataclass
class Target:
    """An interpreter to benchmark and how to run it."""

    python: str
    version: Tuple[int, int]
    full_version: str
    env: Dict[str, str]
    pulsetrace: Dict[str, str] = field(default_factory=dict)  # file/version, or error
    pulsetrace_source: str = ""  # "installed" or "source tree"
    viztracer: Dict[str, str] = field(default_factory=dict)


def _describe(python: str, env: Dict[str, str]) -> Dict[str, object]:
    done = subprocess.run([python, "-c", _DESCRIBE], env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


def child_env(extra_path: Optional[Path]) -> Dict[str, str]:
    """The environment children get: ours, a fixed hash seed, and maybe the source tree on the path."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["PYTHONHASHSEED"] = "0"
    if extra_path is not None:
        env["PYTHONPATH"] = str(extra_path)
    return env


def inspect(python: str) -> Target:
    env = child_env(None)
    found = _describe(python, env)
    source = "installed"
    pulsetrace = dict(found["pulsetrace"])  # type: ignore[call-overload]
    if "error" in pulsetrace or not _inside(pulsetrace.get("file", ""), SOURCE_TREE):
        env = child_env(SOURCE_TREE)
        found = _describe(python, env)
        source = f"source tree (PYTHONPATH={SOURCE_TREE})"
        pulsetrace = dict(found["pulsetrace"])  # type: ignore[call-overload]
    version: List[int] = list(found["version"])  # type: ignore[call-overload]
    return Target(
        python=python,
        version=(version[0], version[1]),
        full_version=str(found["full_version"]).split()[0],
        env=env,
        pulsetrace=pulsetrace,
        pulsetrace_source=source,
        viztracer=dict(found["viztracer"]),  # type: ignore[call-overload]
    )


def _inside(path: str, directory: Path) -> bool:
    try:
        Path(path).resolve().relative_to(directory.resolve())
    except ValueError:
        return False
    return True
