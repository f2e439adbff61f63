"""The hooks that make a traced program's children traced too (pulsetrace.children has the run).

The ways a child process comes about, and how each is traced:

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

- Other programs that are, or may start, a Python interpreter (another Python, a shell, ``env``, a
  ``#!`` script of Python; ``os.system``'s shell): they start with the run's variables in their
  environment, and every Python they start records itself (pulsetrace.childenv). Any other program
  is started as it was asked.

Before any ``os.exec*`` that succeeds the process's recording would be gone with it: the session
saves it first (``before_exec``, ``before_other_exec``), and starts recording again if the exec
fails after all (``after_failed_exec``). Not reached: multiprocessing's other helper process (its
resource tracker, which lives until the program has ended) and Pythons that ignore the environment
(``-E``, ``-I``, ``-S``) unless their command line is rewritten like this interpreter's: that needs a
name that says which CPython they are (``_rewritten_for_another_python``).
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Callable, List, NamedTuple, Optional, Tuple

from .childenv import (
    RUN_VARIABLE,
    env_list_with_run,
    environment_with_run,
    is_python_by_name,
    known_supported_python,
    reaches_python,
    variables,
)
from .children import ChildTracing, traced_program
from .filters import ignore_function
from .pycommand import PythonCommand, parse_python_command

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
_real_system: Any = None
# The session's, called before this process replaces itself by a Python program of this interpreter
# (os.exec*): it saves what it recorded, and may give the command line to run instead (None: a
# descendant's, the default).
BeforeExec = Callable[[Any, PythonCommand], Optional[List[Any]]]  # (argv, its command)
# The session's, called before this process replaces itself by any other program: it saves what it
# recorded; False when that ended the run (the root's), so the new program is not reached.
BeforeOtherExec = Callable[[], bool]
_before_exec: Optional[BeforeExec] = None
_before_other_exec: Optional[BeforeOtherExec] = None
_after_failed_exec: Optional[Callable[[], None]] = None


def install(
    tracing: ChildTracing,
    on_fork_in_child: Callable[[], None],
    before_exec: Optional[BeforeExec] = None,
    before_other_exec: Optional[BeforeOtherExec] = None,
    after_failed_exec: Optional[Callable[[], None]] = None,
) -> None:
    """Trace this process's children as part of ``tracing``'s run: rewrite the commands that start
    this interpreter, give the run's variables to commands that may start another Python, call
    ``on_fork_in_child`` in the child of every fork, ``before_exec`` before the process replaces
    itself by a Python program, ``before_other_exec`` before it replaces itself by anything else,
    and ``after_failed_exec`` when such an exec failed after all."""
    global _current, _fork_callback, _fork_handler_registered, _real_fork_exec, _real_posix_spawn, _real_fork
    global _before_exec, _real_execv, _real_execve, _real_spawnvef, _before_other_exec, _after_failed_exec
    global _real_system
    _current = tracing
    _fork_callback = on_fork_in_child
    _before_exec = before_exec
    _before_other_exec = before_other_exec
    _after_failed_exec = after_failed_exec
    if _real_system is None and hasattr(os, "system"):
        _real_system = _in_place_of(os.system, _system)
        os.system = _system
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
    global _real_execv, _real_execve, _real_spawnvef, _before_other_exec, _after_failed_exec, _real_system
    _current = None
    _fork_callback = None
    _before_exec = _before_other_exec = _after_failed_exec = None
    if _real_system is not None:
        if os.system is _system:
            os.system = _real_system
        _real_system = None
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


class Launch(NamedTuple):
    """How a command that starts a new program is started: ``argv`` (rewritten, or as given);
    ``traced``, what the child runs when the root should wait for it to record (None: nothing to
    wait for); ``reached``, whether it gets the run's variables (pulsetrace.childenv)."""

    argv: Any
    traced: Optional[str] = None
    reached: bool = False


@ignore_function
def _launch(candidates: Any, argv: Any) -> Launch:
    """How to start ``argv``; ``candidates``: the executable's possible paths, tried in turn as execve
    would."""
    tracing = _current
    if tracing is None or not isinstance(argv, (list, tuple)):
        return Launch(argv)
    executable = _first_executable(candidates)
    if executable is None:
        return Launch(argv)
    try:
        if _is_this_interpreter(executable):
            command = traced_program(argv)
            if command is None:
                forkserver = tracing.forkserver_command(argv)
                return Launch(argv if forkserver is None else forkserver)  # neither is waited for
            return Launch(tracing.rewrite(argv[0], command), command.describe())
        if not reaches_python(executable):
            return Launch(argv)
        if is_python_by_name(executable) and argv:  # another Python: it records itself, wait for it
            other = parse_python_command(list(argv[1:]))
            if other is not None and _rewritten_for_another_python(executable, other):
                return Launch(tracing.rewrite(argv[0], other), other.describe())
            return Launch(argv, None if other is None else other.describe(), True)
        return Launch(argv, None, True)  # a shell or a launcher: whatever Python it starts records
    except Exception:  # a command pulsetrace cannot read runs as it was given
        return Launch(argv)


@ignore_function
def _note_started(pid: Any, command: Optional[str]) -> None:
    tracing = _current
    if tracing is not None and command is not None and isinstance(pid, int) and pid > 0:
        tracing.note_started(pid, command)


@ignore_function
def _with_run(add: Callable[[Any, str], Any], env: Any) -> Any:
    """``env`` with the run's variables, as ``add`` puts them in (``env`` as it was if it cannot)."""
    tracing = _current
    try:
        return env if tracing is None else add(env, tracing.directory)
    except Exception:
        return env


def _rewritten_for_another_python(executable: Any, command: PythonCommand) -> bool:
    """Whether another Python's command line is rewritten like this interpreter's rather than given the
    run's variables: when it would not read them (``-E``, ``-I``, ``-S``) and its name says it is a
    CPython pulsetrace runs on. The variables stay the way for the others: they reach any version and
    whatever it starts, and an interpreter too old for pulsetrace runs as it was asked."""
    return command.ignores_environment() and known_supported_python(executable)


def _first_executable(candidates: Any) -> Any:
    """The file execve will run: the first candidate that is an executable file (as exec*p searches)."""
    try:
        for candidate in candidates:
            if os.access(candidate, os.X_OK) and not os.path.isdir(candidate):
                return candidate
    except (TypeError, ValueError):
        pass
    return None


_ENV_LIST = 3  # fork_exec(args, executable_list, close_fds, pass_fds, cwd, env_list, ...): 3.9-3.13


def _fork_exec(args: Any, executable_list: Any, *rest: Any, **kwargs: Any) -> Any:
    launch = _launch(executable_list, args)
    if launch.reached and len(rest) > _ENV_LIST:
        rest = (*rest[:_ENV_LIST], _with_run(env_list_with_run, rest[_ENV_LIST]), *rest[_ENV_LIST + 1 :])
    _in_spawn.active = True
    try:
        pid = _real_fork_exec(launch.argv, executable_list, *rest, **kwargs)
    finally:
        _in_spawn.active = False
    _note_started(pid, launch.traced)
    return pid


def _posix_spawn(path: Any, argv: Any, *rest: Any, **kwargs: Any) -> Any:
    launch = _launch([path], argv)
    if launch.reached and rest:
        rest = (_with_run(environment_with_run, rest[0]), *rest[1:])
    pid = _real_posix_spawn(path, launch.argv, *rest, **kwargs)
    _note_started(pid, launch.traced)
    return pid


class ExecPlan(NamedTuple):
    """How to run ``os.exec*``: ``argv``; ``env`` to pass (None: as the call had it); whether this
    process's recording was saved first, and who to tell if the exec fails."""

    argv: Any
    env: Any = None
    saved: bool = False
    after_failure: Optional[Callable[[], None]] = None


@ignore_function
def _exec_plan(path: Any, argv: Any, env: Any) -> ExecPlan:
    """What to exec instead of ``argv``: this process saves what it recorded first; a Python program
    of this interpreter runs traced; another program that may start Python gets the run's
    variables; anything else is left as it is."""
    tracing, after_failure = _current, _after_failed_exec
    if tracing is None or not isinstance(argv, (list, tuple)) or not argv:
        return ExecPlan(argv)
    executable = _first_executable([path])
    if executable is None:
        return ExecPlan(argv)  # the exec fails as it would have: nothing to save for
    command: Optional[PythonCommand] = None
    try:
        if _is_this_interpreter(executable):
            command = traced_program(argv)
        elif is_python_by_name(executable):
            another = parse_python_command(list(argv[1:]))
            if another is not None and _rewritten_for_another_python(executable, another):
                command = another
    except Exception:
        command = None
    if command is not None:
        before = _before_exec
        instead: Any = None
        if before is not None:
            try:
                instead = before(argv, command)
            except Exception:
                instead = None
        if instead is None:
            try:
                instead = tracing.rewrite(argv[0], command)
            except Exception:
                instead = argv
        return ExecPlan(instead, None, before is not None, after_failure)
    other = _before_other_exec
    goes_on = True
    if other is not None:
        try:
            goes_on = other()
        except Exception:
            goes_on = False
    if goes_on and reaches_python(executable):
        env = _with_run(environment_with_run, env)
    return ExecPlan(argv, env, other is not None, after_failure)


@ignore_function
def _exec_failed(plan: ExecPlan) -> None:
    if plan.saved and plan.after_failure is not None:
        try:
            plan.after_failure()
        except Exception:
            pass


def _execv(path: Any, argv: Any) -> Any:
    real_execv, real_execve = _real_execv, _real_execve  # saving first may remove the hooks
    plan = _exec_plan(path, argv, None)
    try:
        if plan.env is not None:
            return real_execve(path, plan.argv, plan.env)
        return real_execv(path, plan.argv)
    except BaseException:
        _exec_failed(plan)
        raise


def _execve(path: Any, argv: Any, env: Any) -> Any:
    real_execve = _real_execve  # saving first may remove the hooks
    plan = _exec_plan(path, argv, env)
    try:
        return real_execve(path, plan.argv, plan.env)
    except BaseException:
        _exec_failed(plan)
        raise


@ignore_function
def _set_variables() -> Optional[List[Tuple[str, Optional[str]]]]:
    """os.system's shell inherits this process's environment: the run's variables go there (not
    into os.environ, which the program reads) for the call; what to put back after it."""
    tracing = _current
    if tracing is None:
        return None
    before = [(name, os.environ.get(name)) for name in ("PYTHONPATH", RUN_VARIABLE)]
    try:
        for name, value in variables(tracing.directory, before[0][1]).items():
            os.putenv(name, value)
    except Exception:
        pass
    return before


@ignore_function
def _put_back(before: Optional[List[Tuple[str, Optional[str]]]]) -> None:
    for name, value in before or ():
        try:
            if value is None:
                os.unsetenv(name)
            else:
                os.putenv(name, value)
        except Exception:
            pass


def _system(command: Any) -> Any:
    real_system = _real_system
    before = _set_variables()
    try:
        return real_system(command)
    finally:
        _put_back(before)


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
