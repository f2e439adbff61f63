"""The hooks that make a traced program's children traced too (pulsetrace.children has the run).

Two ways lead to a child process:

- ``os.fork()`` (also multiprocessing's fork start method): the child is a copy of a traced process.
  An ``os.register_at_fork`` handler (the session's) stops the copied recording, which is the
  parent's to save, and starts a fresh one in the child.
- A new interpreter: subprocess (``run``, ``Popen``, ``check_output``, ``os.popen`` ...) and
  multiprocessing's spawn start method start it through ``_posixsubprocess.fork_exec`` or
  ``os.posix_spawn``. When the executable is this very interpreter and the command runs a program
  (a script, ``-m module`` or ``-c code``: pulsetrace.pycommand), the command is rewritten to run
  the same program under ``pulsetrace run --child-of DIR`` (pulsetrace.childrun) with the
  interpreter options it had, so it gets the same ``sys.argv``, ``sys.flags``, ``sys.path`` and
  ``__main__``. The rewritten command loads pulsetrace from the root's own installation, whatever
  the child's environment.

- multiprocessing's forkserver start method: the forkserver is started like a subprocess, and its
  command is rewritten to run it with these hooks but without recording (pulsetrace.childrun
  .run_forkserver): every process it forks for the program starts recording in the fork handler.

- ``os.exec*`` (all of them end in ``os.execv`` or ``os.execve``) of this interpreter running a
  program: the process saves what it recorded first (the session's ``before_exec``), then the new
  program runs traced, as a new track of the same pid. ``os.spawn*`` forks, then execs in the child:
  that child records nothing before its exec.

Not reached: other interpreters (another Python version; a virtual environment's ``python`` is the
same interpreter and is reached), commands run through a shell (``shell=True``, ``bash -c``,
``os.system``), and multiprocessing's other helper process (its resource tracker, which lives until
the program has ended).
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Callable, List, Optional, Tuple

from .children import ChildTracing, traced_program
from .filters import ignore_function
from .pycommand import PythonCommand

_current: Optional[ChildTracing] = None  # the run whose children this process traces now
_fork_callback: Optional[Callable[[], None]] = None
_fork_handler_registered = False
_in_spawn = threading.local()  # set while _posixsubprocess forks: its child only runs exec
_real_fork_exec: Any = None
_real_posix_spawn: Any = None
_real_fork: Any = None
_real_execv: Any = None
_real_execve: Any = None
_real_spawnvef: Any = None
# The session's, called before this process replaces itself by a traced program (os.exec*): it saves
# what it recorded, and may give the command line to run instead (None: a descendant's, the default).
BeforeExec = Callable[[Any, PythonCommand], Optional[List[Any]]]
_before_exec: Optional[BeforeExec] = None


def install(
    tracing: ChildTracing, on_fork_in_child: Callable[[], None], before_exec: Optional[BeforeExec] = None
) -> None:
    """Trace this process's children as part of ``tracing``'s run: rewrite the commands that start
    this interpreter, call ``on_fork_in_child`` in the child of every fork, and ``before_exec``
    before the process replaces itself by a Python program."""
    global _current, _fork_callback, _fork_handler_registered, _real_fork_exec, _real_posix_spawn, _real_fork
    global _before_exec, _real_execv, _real_execve, _real_spawnvef
    _current = tracing
    _fork_callback = on_fork_in_child
    _before_exec = before_exec
    if not _fork_handler_registered and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)  # for good: handlers cannot be removed
        _fork_handler_registered = True
    if _real_fork is None and hasattr(os, "fork"):
        _real_fork = _in_place_of(os.fork, _fork)
        os.fork = _fork
    if _real_execv is None and hasattr(os, "execv"):  # execl, execlp, execvp ... end in these two
        _real_execv = _in_place_of(os.execv, _execv)
        os.execv = _execv
        _real_execve = _in_place_of(os.execve, _execve)
        os.execve = _execve
    if _real_spawnvef is None and hasattr(os, "_spawnvef"):  # os.spawn*: fork, then exec in the child
        _real_spawnvef = _in_place_of(getattr(os, "_spawnvef"), _spawnvef)  # noqa: B009 (private, untyped)
        setattr(os, "_spawnvef", _spawnvef)  # noqa: B010
    try:
        import _posixsubprocess
    except ImportError:  # not POSIX
        return
    if _real_fork_exec is None:
        _real_fork_exec = _in_place_of(_posixsubprocess.fork_exec, _fork_exec)
        _posixsubprocess.fork_exec = _fork_exec
        _subprocess_binding(_real_fork_exec, _fork_exec)
    if _real_posix_spawn is None and hasattr(os, "posix_spawn"):
        _real_posix_spawn = _in_place_of(os.posix_spawn, _posix_spawn)
        os.posix_spawn = _posix_spawn


def _subprocess_binding(old: Any, new: Any) -> None:
    """subprocess (3.11+) binds ``_fork_exec`` when it is imported: if something imported it before the
    hooks went in (a library of the program, or of a sitecustomize), its own name is swapped too."""
    subprocess = sys.modules.get("subprocess")
    if subprocess is not None and getattr(subprocess, "_fork_exec", None) is old:
        subprocess._fork_exec = new  # type: ignore[attr-defined]


def _in_place_of(real: Any, wrapper: Any) -> Any:
    """Give ``wrapper`` the name and documentation of the function it stands in for; return ``real``."""
    for attribute in ("__name__", "__qualname__", "__doc__"):
        try:
            setattr(wrapper, attribute, getattr(real, attribute))
        except (AttributeError, TypeError):
            pass
    return real


def uninstall() -> None:
    """Children started from now on are not traced."""
    global _current, _fork_callback, _real_fork_exec, _real_posix_spawn, _real_fork, _before_exec
    global _real_execv, _real_execve, _real_spawnvef
    _current = None
    _fork_callback = None
    _before_exec = None
    for name, wrapper, real in (("execv", _execv, _real_execv), ("execve", _execve, _real_execve)):
        if real is not None and getattr(os, name) is wrapper:
            setattr(os, name, real)
    _real_execv = _real_execve = None
    if _real_spawnvef is not None:
        if getattr(os, "_spawnvef", None) is _spawnvef:
            setattr(os, "_spawnvef", _real_spawnvef)  # noqa: B010
        _real_spawnvef = None
    if _real_fork is not None:
        if os.fork is _fork:
            os.fork = _real_fork
        _real_fork = None
    if _real_fork_exec is not None:
        import _posixsubprocess

        if _posixsubprocess.fork_exec is _fork_exec:
            _posixsubprocess.fork_exec = _real_fork_exec
        _subprocess_binding(_fork_exec, _real_fork_exec)
        _real_fork_exec = None
    if _real_posix_spawn is not None:
        if os.posix_spawn is _posix_spawn:
            os.posix_spawn = _real_posix_spawn
        _real_posix_spawn = None


def _after_fork_in_child() -> None:
    if getattr(_in_spawn, "active", False):
        return  # subprocess's child between fork and exec (a preexec_fn runs there): not a process to trace
    callback = _fork_callback
    if callback is not None:
        callback()


_this_interpreter: Optional[str] = None


def _is_this_interpreter(path: Any) -> bool:
    global _this_interpreter
    if not sys.executable:
        return False
    if _this_interpreter is None:
        _this_interpreter = os.path.realpath(sys.executable)
    try:
        return os.path.realpath(os.fsdecode(path)) == _this_interpreter
    except (TypeError, ValueError):
        return False


# The hooks run in the middle of the traced program. What they do for pulsetrace happens in the
# functions marked @ignore_function, which the trace leaves out with everything they call; the
# wrappers themselves are pulsetrace's own code, skipped, and so are the real calls they make (the
# trace shows the program's Popen._execute_child or Process.start, not the fork or exec inside).


@ignore_function
def _rewritten(candidates: Any, argv: Any) -> Tuple[Any, Optional[str]]:
    """The argv to start instead, and what the child runs (None: it is not traced, argv is unchanged);
    ``candidates``: the executable's possible paths, tried in turn as execve would."""
    tracing = _current
    if tracing is None or not isinstance(argv, (list, tuple)):
        return argv, None
    executable = _first_executable(candidates)
    if executable is None or not _is_this_interpreter(executable):
        return argv, None
    try:
        command = traced_program(argv)
        if command is None:
            forkserver = tracing.forkserver_command(argv)
            return (argv, None) if forkserver is None else (forkserver, None)  # not waited for
        return tracing.rewrite(argv[0], command), command.describe()
    except Exception:  # a command pulsetrace cannot read runs as it was given
        return argv, None


@ignore_function
def _note_started(pid: Any, command: Optional[str]) -> None:
    tracing = _current
    if tracing is not None and command is not None and isinstance(pid, int) and pid > 0:
        tracing.note_started(pid, command)


def _first_executable(candidates: Any) -> Any:
    """The file execve will run: the first candidate that is an executable file (as exec*p searches)."""
    try:
        for candidate in candidates:
            if os.access(candidate, os.X_OK) and not os.path.isdir(candidate):
                return candidate
    except (TypeError, ValueError):
        pass
    return None


def _fork_exec(args: Any, executable_list: Any, *rest: Any, **kwargs: Any) -> Any:
    args, command = _rewritten(executable_list, args)
    _in_spawn.active = True
    try:
        pid = _real_fork_exec(args, executable_list, *rest, **kwargs)
    finally:
        _in_spawn.active = False
    _note_started(pid, command)
    return pid


def _posix_spawn(path: Any, argv: Any, *rest: Any, **kwargs: Any) -> Any:
    argv, command = _rewritten([path], argv)
    pid = _real_posix_spawn(path, argv, *rest, **kwargs)
    _note_started(pid, command)
    return pid


@ignore_function
def _rewritten_exec(path: Any, argv: Any) -> Any:
    """The argv to exec instead of ``argv``: a Python program runs traced (after this process's
    session saved what it recorded); anything else is left as it is."""
    tracing = _current
    if tracing is None or not isinstance(argv, (list, tuple)) or not argv:
        return argv
    if _first_executable([path]) is None or not _is_this_interpreter(path):
        return argv
    try:
        command = traced_program(argv)
    except Exception:
        return argv
    if command is None:
        return argv
    before = _before_exec
    if before is not None:
        try:
            instead = before(argv[0], command)
        except Exception:
            instead = None
        if instead is not None:
            return instead
    try:
        return tracing.rewrite(argv[0], command)
    except Exception:
        return argv


def _execv(path: Any, argv: Any) -> Any:
    return _real_execv(path, _rewritten_exec(path, argv))


def _execve(path: Any, argv: Any, env: Any) -> Any:
    return _real_execve(path, _rewritten_exec(path, argv), env)


def _spawnvef(*args: Any, **kwargs: Any) -> Any:
    # The child of this fork only runs exec: it records nothing until then, and the program it
    # execs (if it is a Python program) is traced as a child of this process.
    _in_spawn.active = True
    try:
        return _real_spawnvef(*args, **kwargs)
    finally:
        _in_spawn.active = False


def _fork() -> int:
    pid: int = _real_fork()
    if pid > 0:
        _note_started(pid, "a forked process")
    return pid
