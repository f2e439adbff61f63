"""Reaching the Python processes whose command line pulsetrace cannot rewrite: through their environment.

pulsetrace.childhooks rewrites the commands that start this very interpreter. Other Python processes
of a traced program are out of that reach: another interpreter (``python3.12`` started by a 3.11
program, a tool installed as a ``#!/usr/bin/env python3`` script) and any Python started by a shell
(``shell=True``, ``os.system``, ``sh -c "python ..."``). For those, the run's directory holds a
``sitecustomize.py`` of its own (``boot/``, written by ``write_boot_file``), and the command that may
start one gets that directory in front of ``PYTHONPATH`` and the run's directory in
``PULSETRACE_CHILD_RUN``. Every Python it starts imports the file while it starts up (site does); the
file takes both variables and its directory in ``sys.path`` out again, runs the sitecustomize the
interpreter would have run, loads pulsetrace from the root's installation and records the process
into the run (``start_in_child``), from before its ``__main__`` to its end, as a descendant that the
root collects. So the program, and what it starts in turn, sees the environment and ``sys.path`` it
would have had.

Which commands get the two variables (``reaches_python``): an executable that is a Python interpreter
by its name (``python3.12``, ``python``), a script whose ``#!`` line names Python or a shell, a shell,
and the launchers that run another command (``env``, ``nice``, ``timeout`` ...). Every other program is
left as it was started. ``os.system`` gives its command to a shell that inherits the process's own
environment, so for the length of that call the variables are set there (``os.putenv``, never
``os.environ``, which the program reads).

Python started with ``-E``, ``-I`` (which ignore PYTHONPATH) or ``-S`` (no site) is not reached this
way: when the program starts one itself and its name says which CPython it is
(``known_supported_python``), pulsetrace.childhooks rewrites its command line instead. Not reached
at all: an interpreter older than 3.9 (which runs untraced), and a child whose environment is
replaced on the way (``sudo``, ``env -i``).
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, Dict, List, Mapping, Optional

RUN_VARIABLE = "PULSETRACE_CHILD_RUN"
BOOT_DIRECTORY = "boot"

# Executables that run another command, so that a Python program may be what they start.
_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash", "fish", "busybox"})
_LAUNCHERS = frozenset({"env", "nice", "nohup", "timeout", "stdbuf", "setsid", "time", "xargs", "chrt"})
_PYTHON_NAME = re.compile(r"^(python|pypy)(\d+(\.\d+)?)?[a-z]?(\.exe)?$")
_CPYTHON_VERSION = re.compile(r"^python(\d+)\.(\d+)[a-z]?$")
MINIMUM_VERSION = (3, 9)  # older interpreters run untraced (the boot file checks it too)
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

# The file every reached interpreter imports as its sitecustomize: plain syntax that any Python 3
# can read, so that an older interpreter gets its own environment back and runs untraced.
_BOOT_FILE = '''"""Written by pulsetrace for one traced run (pulsetrace.childenv): records this process."""
import os
import sys


def _pulsetrace_boot():
    boot, init, package = {boot!r}, {init!r}, {package!r}
    while boot in sys.path:
        sys.path.remove(boot)
    run = os.environ.pop({variable!r}, None)
    path = os.environ.get("PYTHONPATH")
    if path == boot:
        del os.environ["PYTHONPATH"]
    elif path is not None:
        parts = path.split(os.pathsep)
        if boot in parts:
            parts.remove(boot)
            os.environ["PYTHONPATH"] = os.pathsep.join(parts)
    ours = sys.modules.pop("sitecustomize", None)
    try:
        import sitecustomize  # the one this interpreter would have run: found after this directory
    except ImportError as exc:
        sys.modules["sitecustomize"] = ours
        if exc.name != "sitecustomize":
            sys.stderr.write("Error in sitecustomize; set PYTHONVERBOSE for traceback:\\n")
            sys.stderr.write("%s: %s\\n" % (type(exc).__name__, exc))
    except Exception as exc:
        sys.modules["sitecustomize"] = ours
        sys.stderr.write("Error in sitecustomize; set PYTHONVERBOSE for traceback:\\n")
        sys.stderr.write("%s: %s\\n" % (type(exc).__name__, exc))
    if run is None or sys.version_info < (3, 9) or sys.argv[:1] == [""]:
        return  # not a run's child, an interpreter pulsetrace does not support, or an interactive one
    loaded = "pulsetrace" in sys.modules
    try:
        if not loaded:
            import importlib.util
            spec = importlib.util.spec_from_file_location(
                "pulsetrace", init, submodule_search_locations=[package]
            )
            module = importlib.util.module_from_spec(spec)
            sys.modules["pulsetrace"] = module
            spec.loader.exec_module(module)
        from pulsetrace.childenv import start_in_child
        start_in_child(run)
    except BaseException:
        if not loaded:  # leave no half-loaded pulsetrace behind for the program to find
            for name in [name for name in sys.modules if name.split(".")[0] == "pulsetrace"]:
                del sys.modules[name]
        if os.environ.get("PULSETRACE_DEBUG"):
            import traceback
            traceback.print_exc()


_pulsetrace_boot()
del _pulsetrace_boot
'''


def boot_directory(run_directory: str) -> str:
    return os.path.join(run_directory, BOOT_DIRECTORY)


def write_boot_file(run_directory: str) -> None:
    """The root's: the ``sitecustomize.py`` that reached interpreters import (see the module's doc)."""
    boot = boot_directory(run_directory)
    os.mkdir(boot, 0o700)
    text = _BOOT_FILE.format(
        boot=boot,
        init=os.path.join(_PACKAGE_DIR, "__init__.py"),
        package=_PACKAGE_DIR,
        variable=RUN_VARIABLE,
    )
    with open(os.path.join(boot, "sitecustomize.py"), "w", encoding="utf-8") as file:
        file.write(text)


# -- which commands are reached -------------------------------------------------------------------


def reaches_python(executable: Any) -> bool:
    """Whether the program ``executable`` is, or may start, a Python interpreter: a Python by its
    name, a shell, a launcher, or a script whose ``#!`` line names one of those."""
    try:
        path = os.fsdecode(executable)
    except (TypeError, ValueError):
        return False
    if _runs_python(os.path.basename(path)):
        return True
    return _shebang_runs_python(path)


def _runs_python(name: str) -> bool:
    return bool(_PYTHON_NAME.match(name)) or name in _SHELLS or name in _LAUNCHERS


def is_python_by_name(executable: Any) -> bool:
    """Whether ``executable`` is named as a Python interpreter is (``python3.12``), not a shell."""
    try:
        return bool(_PYTHON_NAME.match(os.path.basename(os.fsdecode(executable))))
    except (TypeError, ValueError):
        return False


def known_supported_python(executable: Any) -> bool:
    """Whether ``executable`` is, by its name or the name of the file it links to, a CPython that
    pulsetrace supports (``python3.12``, or ``python3`` linking to it). A command line that starts it
    can be rewritten like one of this interpreter's (pulsetrace.childhooks), which reaches it even
    when it ignores the environment (``-E``, ``-I``, ``-S``)."""
    try:
        path = os.fsdecode(executable)
        names = [os.path.basename(path), os.path.basename(os.path.realpath(path))]
    except (TypeError, ValueError, OSError):
        return False
    for name in names:
        version = _CPYTHON_VERSION.match(name)
        if version is not None:
            return (int(version.group(1)), int(version.group(2))) >= MINIMUM_VERSION
    return False


def _shebang_runs_python(path: str) -> bool:
    """A script (``#!/usr/bin/env python3``, ``#!/bin/sh``) whose interpreter is one of those reached."""
    try:
        with open(path, "rb") as file:
            head = file.read(256)
    except OSError:
        return False
    if not head.startswith(b"#!"):
        return False
    words = head[2:].split(b"\n", 1)[0].decode("utf-8", "replace").split()
    if not words:
        return False
    names = [os.path.basename(words[0])]
    if names[0] == "env":  # #!/usr/bin/env [-S] python3: the word after env's options
        names += [word for word in words[1:] if not word.startswith("-")][:1]
    return any(_runs_python(name) for name in names)


# -- the two variables ------------------------------------------------------------------------------


def variables(run_directory: str, pythonpath: Optional[str]) -> Dict[str, str]:
    """The variables that reach a Python child, given the PYTHONPATH it would have had."""
    boot = boot_directory(run_directory)
    return {
        "PYTHONPATH": boot if pythonpath is None else boot + os.pathsep + pythonpath,
        RUN_VARIABLE: run_directory,
    }


def environment_with_run(env: Optional[Mapping[Any, Any]], run_directory: str) -> Dict[Any, Any]:
    """A copy of the mapping ``env`` (None: this process's environment) with the run's variables, for
    ``os.execve`` and ``os.posix_spawn`` (keys and values are str or bytes, kept as they are)."""
    result: Dict[Any, Any] = dict(os.environ if env is None else env)
    as_bytes = any(isinstance(key, bytes) for key in result)
    current = result.get(b"PYTHONPATH" if as_bytes else "PYTHONPATH")
    for name, value in variables(run_directory, None if current is None else os.fsdecode(current)).items():
        result.pop(name, None)
        result.pop(os.fsencode(name), None)
        result[os.fsencode(name) if as_bytes else name] = os.fsencode(value) if as_bytes else value
    return result


def env_list_with_run(env_list: Optional[List[bytes]], run_directory: str) -> List[bytes]:
    """``_posixsubprocess.fork_exec``'s ``[b"NAME=value", ...]`` (None: this process's environment)
    with the run's variables."""
    if env_list is None:
        env_list = [os.fsencode(name) + b"=" + os.fsencode(value) for name, value in os.environ.items()]
    pythonpath: Optional[str] = None
    kept = []
    for entry in env_list:
        name = entry.split(b"=", 1)[0]
        if name == b"PYTHONPATH":
            pythonpath = os.fsdecode(entry[len(b"PYTHONPATH=") :])
        elif name != RUN_VARIABLE.encode():
            kept.append(entry)
    added = variables(run_directory, pythonpath)
    return kept + [os.fsencode(name) + b"=" + os.fsencode(value) for name, value in added.items()]


# -- in the reached process -------------------------------------------------------------------------


def start_in_child(run_directory: str) -> None:
    """Record this process (started through the environment, see the module's doc) into the run of
    ``run_directory``, from now until it ends; nothing if that run is over."""
    from .children import ChildTracing
    from .pycommand import describe_program, parse_python_command
    from .session import start_descendant

    run = ChildTracing.load(run_directory)
    if run is None:
        return
    words = list(getattr(sys, "orig_argv", [])[1:]) or list(sys.argv)
    command = parse_python_command(words)
    described = command.describe() if command is not None else describe_program(sys.argv)
    start_descendant(run, described, started_by="exec", parent_pid=os.getppid())
