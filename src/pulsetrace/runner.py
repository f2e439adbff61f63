"""Run a script, a module (-m) or a code string (-c) exactly as ``python`` would, and keep the trace.

The traced program must not be able to tell it is traced: it gets the ``sys.argv``, ``sys.path[0]``,
``__main__`` module, standard streams, warnings, tracebacks and exit status it would get under plain
``python``. Where CPython's own behaviour is hard to reproduce (how an uncaught exception or
KeyboardInterrupt ends the process), the exception is handed back to CPython itself, and only the
pulsetrace frames are cut from the printed traceback (see ``_TracebackFilter``).

When tracing stops and how the trace is saved on every way out: see ``session.py``.

Known differences: code that walks the stack above ``<module>`` (``inspect.stack()``,
``traceback.print_stack()``, ``warnings.warn`` with a large ``stacklevel``) sees the pulsetrace frames
that call the program, the recursion limit is reached a few frames earlier, and
``signal.getsignal(SIGTERM)`` returns pulsetrace's handler instead of ``SIG_DFL``.
"""

from __future__ import annotations

import builtins
import importlib.machinery
import importlib.util
import linecache
import os
import pkgutil
import re
import runpy
import sys
from dataclasses import dataclass
from types import CodeType, FrameType, ModuleType, TracebackType
from typing import Any, Callable, List, Optional, Protocol, Sequence, Type

from .children import bootstrap_code
from .pycommand import CODE, MODULE, SCRIPT, describe_program
from .session import TraceSession, UntracedSession, format_size


class LaunchError(Exception):
    """The program could not be started (missing script or module); carries python's exit status."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


@dataclass(frozen=True)
class Target:
    """What to run: ``kind`` is SCRIPT (value: path as given), MODULE (module name) or CODE (source)."""

    kind: str
    value: str
    args: Sequence[str] = ()

    def launch_words(self) -> List[str]:
        """How python's command line names this program: ``script``, ``-m module`` or ``-c code``."""
        return {SCRIPT: [self.value], MODULE: ["-m", self.value], CODE: ["-c", self.value]}[self.kind]

    def describe(self) -> str:
        """``python prog.py a b``: the program and its arguments on one line, for names and messages."""
        return describe_program([*self.launch_words(), *self.args])


# -- the __main__ namespace ---------------------------------------------------------------------------


def _fresh_main(loader: Any) -> ModuleType:
    """A new ``__main__`` module laid out like the one CPython creates at startup (same keys, same order)."""
    main = ModuleType("__main__")  # __name__, __doc__, __package__, __loader__, __spec__
    main.__loader__ = loader
    namespace = vars(main)
    namespace["__annotations__"] = {}
    namespace["__builtins__"] = builtins
    return main


def _install_main(main: ModuleType) -> None:
    sys.modules["__main__"] = main


def _has_own_path0() -> bool:
    """True if CPython put a sys.path[0] entry in front for pulsetrace itself (to be replaced)."""
    if getattr(sys.flags, "safe_path", False) or (sys.version_info < (3, 11) and sys.flags.isolated):
        return False
    if not sys.path:
        return False
    launcher = sys.argv[0] if sys.argv else ""
    candidates = {os.getcwd(), ""}
    if launcher and launcher not in ("-c", "-m"):
        candidates.add(os.path.dirname(os.path.realpath(launcher)))
    return sys.path[0] in candidates


def _adds_path0() -> bool:
    """Whether ``python`` would add the script's directory (or cwd) in front of sys.path (not with -P/-I)."""
    if getattr(sys.flags, "safe_path", False):
        return False
    return not (sys.version_info < (3, 11) and sys.flags.isolated)


def _program_orig_argv(program_words: List[str]) -> Optional[List[str]]:
    """sys.orig_argv as ``python [its options] <program_words>`` would have it (None if unsure).

    pulsetrace was started as ``python [options] -m pulsetrace ...`` or through its console script;
    the interpreter's own options are kept, pulsetrace's part is replaced by the program's.
    """
    orig = getattr(sys, "orig_argv", None)
    if not orig or not sys.argv:
        return None
    ours = len(sys.argv) - 1  # pulsetrace's words after its argv[0], at the end of orig_argv
    if ours > len(orig) or orig[len(orig) - ours :] != sys.argv[1:]:
        return None
    head = orig[: len(orig) - ours]
    if head[-2:] == ["-m", "pulsetrace"]:
        interpreter = head[:-2]
    elif head[-1:] == ["-mpulsetrace"] or (len(head) > 1 and head[-1] == sys.argv[0]):
        interpreter = head[:-1]
    elif head[-2:] == ["-c", bootstrap_code()]:  # a traced program's child (pulsetrace.children)
        interpreter = head[:-2]
    else:
        return None
    return [*interpreter, *program_words]


# -- programs -----------------------------------------------------------------------------------------


class Program:
    """A program ready to run: the paths are resolved and the code is loaded, nothing has run yet."""

    argv0: str = ""
    path0: Optional[str] = None  # what goes in front of sys.path (None: nothing)

    def __init__(self, target: Target) -> None:
        self.target = target
        self.main: Optional[ModuleType] = None
        # The innermost pulsetrace frame below the program's code: tracebacks are cut after it.
        self.marker: Optional[FrameType] = None

    def prepare(self) -> None:
        """Set sys.argv, sys.path[0] and a fresh __main__ the way python does before running anything."""
        own_path0 = _has_own_path0()
        orig_argv = _program_orig_argv([*self.launch_words(), *self.target.args])
        if orig_argv is not None:
            sys.orig_argv = orig_argv
        sys.argv[:] = [self.argv0, *self.target.args]
        if own_path0:
            del sys.path[0]
        if self.path0 is not None:
            sys.path.insert(0, self.path0)
        self.main = self.make_main()
        _install_main(self.main)

    def launch_words(self) -> List[str]:
        """How python's command line names this program (for sys.orig_argv)."""
        return self.target.launch_words()

    def make_main(self) -> ModuleType:
        return _fresh_main(importlib.machinery.BuiltinImporter)

    def execute(self, start_tracing: Callable[[], None]) -> None:
        """Start tracing, then run the program's code at once; sets ``marker`` to its own frame first."""
        raise NotImplementedError

    def compile_error(self) -> Optional[BaseException]:
        """The error python would report before running anything (a SyntaxError), if any."""
        return None

    # What python does for a script file, and not for -m or -c: flush stderr and stdout once the code
    # is over (before it prints an uncaught exception), and afterwards remove the __file__ it had set.
    flushes_after_run = False
    drops_file_after = False


class ScriptProgram(Program):
    """``python path/to/script.py``: the source (or .pyc) file run as __main__."""

    flushes_after_run = True
    drops_file_after = True

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self.argv0 = target.value
        # python makes the path absolute (without normalising it) for __file__, the code and messages.
        self.filename = os.path.join(os.getcwd(), target.value)
        if _adds_path0():
            self.path0 = os.path.dirname(os.path.realpath(self.filename))
        self.code: Optional[CodeType] = None
        self._error: Optional[BaseException] = None
        self._is_pyc = False
        self._load()

    def _load(self) -> None:
        try:
            with open(self.filename, "rb") as file:
                data = file.read()
        except OSError as exc:
            raise LaunchError(
                f"can't open file {self.filename!r}: [Errno {exc.errno}] {exc.strerror}", 2
            ) from None
        magic = importlib.util.MAGIC_NUMBER
        self._is_pyc = self.filename.endswith(".pyc") or data[:2] == magic[:2]
        try:
            if self._is_pyc:
                self.code = _code_from_pyc(data)
            else:
                _check_undeclared_utf8(data, self.filename)
                self.code = compile(data, self.filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RuntimeError) as exc:
            exc.__traceback__ = None
            self._error = exc

    def make_main(self) -> ModuleType:
        main = super().make_main()
        namespace = vars(main)
        namespace["__file__"] = self.filename
        namespace["__cached__"] = None
        loader_class = (
            importlib.machinery.SourcelessFileLoader if self._is_pyc else importlib.machinery.SourceFileLoader
        )
        main.__loader__ = loader_class("__main__", self.filename)
        return main

    def compile_error(self) -> Optional[BaseException]:
        return self._error

    def execute(self, start_tracing: Callable[[], None]) -> None:
        assert self.main is not None and self.code is not None
        namespace = self.main.__dict__  # before tracing starts: the trace begins with the program
        self.marker = sys._getframe()
        start_tracing()
        exec(self.code, namespace)


_CODING_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+", re.MULTILINE)


# CPython's own wording of that error: before 3.11 it links the old PEP address, and 3.10 counts the
# line one too high.
_PEP_263_URL = "https://peps.python.org/pep-0263/" if sys.version_info >= (3, 11) else "https://python.org/dev/peps/pep-0263/"
_PEP_263_LINE_SHIFT = 1 if sys.version_info[:2] == (3, 10) else 0


def _check_undeclared_utf8(data: bytes, filename: str) -> None:
    """Raise python's own SyntaxError for a file that is not UTF-8 and declares no encoding.

    compile() words this error differently from the interpreter reading a script file.
    """
    if data.startswith(b"\xef\xbb\xbf") or _CODING_COOKIE.search(b"".join(data.splitlines(True)[:2])):
        return
    for lineno, line in enumerate(data.splitlines(True), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = line[exc.start]
            raise SyntaxError(
                f"Non-UTF-8 code starting with '\\x{bad:02x}' in file {filename} on line "
                f"{lineno + _PEP_263_LINE_SHIFT}, but no encoding declared; see {_PEP_263_URL} for details"
            ) from None


def _code_from_pyc(data: bytes) -> CodeType:
    """The code object of a .pyc file, with python's errors for a bad one."""
    import marshal

    if data[:4] != importlib.util.MAGIC_NUMBER:
        raise RuntimeError("Bad magic number in .pyc file")
    try:
        code = marshal.loads(data[16:])
    except (EOFError, ValueError, TypeError):
        code = None
    if not isinstance(code, CodeType):
        raise RuntimeError("Bad code object in .pyc file")
    return code


class MainImporterProgram(Program):
    """``python some_dir`` or ``python app.zip``: the ``__main__`` module found in that path entry."""

    def __init__(self, target: Target, filename: str) -> None:
        super().__init__(target)
        self.argv0 = target.value
        self.path0 = filename  # python inserts it even with -P: it is how __main__ is found

    def execute(self, start_tracing: Callable[[], None]) -> None:
        self.marker = sys._getframe()
        start_tracing()
        _run_module_as_main("__main__", False)


class ModuleProgram(Program):
    """``python -m package.module``: found, imported and run by runpy, as python itself does."""

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self.argv0 = "-m"  # runpy replaces it with the module's file once the module is found
        if _adds_path0():
            self.path0 = os.getcwd()

    def execute(self, start_tracing: Callable[[], None]) -> None:
        self.marker = sys._getframe()
        start_tracing()
        _run_module_as_main(self.target.value, True)


class CodeProgram(Program):
    """``python -c CODE``: the string compiled as ``<string>``, no __file__, cwd ('') on sys.path."""

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self.argv0 = "-c"
        if _adds_path0():
            self.path0 = ""
        self.source = target.value + "\n"  # python ends the command with a newline before compiling
        self.code: Optional[CodeType] = None
        self._error: Optional[BaseException] = None
        try:
            self.code = compile(self.source, "<string>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            exc.__traceback__ = None
            self._error = exc

    def compile_error(self) -> Optional[BaseException]:
        return self._error

    def execute(self, start_tracing: Callable[[], None]) -> None:
        assert self.main is not None and self.code is not None
        if sys.version_info >= (3, 13):  # python 3.13 keeps the -c source for tracebacks, as this does
            lines = [line + "\n" for line in self.source.splitlines()]
            linecache.cache["<string>"] = (len(self.source), None, lines, "<string>")
        namespace = self.main.__dict__
        self.marker = sys._getframe()
        start_tracing()
        exec(self.code, namespace)


# The function python's -m switch (and `python dir_or_zip`) calls: the module gets the same __spec__,
# sys.argv[0] and tracebacks (runpy's frames show in python -m tracebacks too). Called directly from
# ``execute`` so that no pulsetrace frame sits between the marker and runpy.
_run_module_as_main: Callable[[str, bool], Any] = runpy._run_module_as_main  # type: ignore[attr-defined]


def load_program(target: Target) -> Program:
    """Resolve and load the target without running anything; LaunchError if it cannot be started."""
    if target.kind == MODULE:
        return ModuleProgram(target)
    if target.kind == CODE:
        return CodeProgram(target)
    filename = os.path.join(os.getcwd(), target.value)
    if pkgutil.get_importer(filename) is not None:  # a directory or a zip file holding __main__.py
        return MainImporterProgram(target, filename)
    return ScriptProgram(target)


def _runpy_refused(exc: SystemExit) -> Optional[str]:
    """The message if runpy itself ended the run (module not found) rather than the program."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None or tb.tb_frame.f_code is not getattr(_run_module_as_main, "__code__", None):
        return None
    message = str(exc.code)
    prefix = f"{sys.executable}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


class ProgramSession(Protocol):
    """What runs beside the program: a TraceSession, or the live view's session."""

    def start(self) -> None:
        """Called just before the program's first line."""

    def abandon(self) -> None:
        """Called instead of the end when the program never started (no such module)."""


def run_program(program: Program, session: ProgramSession) -> int:
    """Run a loaded program under ``session``; 0 if it finished, else its own exception propagates.

    A SystemExit, KeyboardInterrupt or any other uncaught exception is re-raised for CPython to
    handle as it would for the program itself (exit status, "Traceback ..." through sys.excepthook,
    death by SIGINT); only the pulsetrace frames are hidden from the traceback.
    """
    program.prepare()
    try:
        _begin(program, session)
    except (LaunchError, SystemExit):
        raise
    except BaseException:
        _TracebackFilter(program).install()
        raise
    # Inline, like _begin's epilogue: these frames were entered before tracing began, so the work
    # done here after the program shows in the trace as little as possible.
    if program.drops_file_after and program.main is not None:
        namespace = program.main.__dict__
        for name in ("__file__", "__cached__"):
            if name in namespace:
                del namespace[name]
    return 0


def _begin(program: Program, session: ProgramSession) -> None:
    program.marker = sys._getframe()  # a compile error has no frame of the program: all are cut
    error = program.compile_error()
    try:
        if error is not None:
            raise error
        program.execute(session.start)
    except SystemExit as exc:
        refused = _runpy_refused(exc) if error is None else None
        if refused is not None:
            session.abandon()
            raise LaunchError(refused, 1) from None
        raise
    finally:
        if program.flushes_after_run:
            for stream in (sys.stderr, sys.stdout):
                try:
                    stream.flush()
                except Exception:  # python ignores these too (and the stream may be None)
                    pass


def _drop_main_file(program: Program) -> None:
    if program.drops_file_after and program.main is not None:
        program.main.__dict__.pop("__file__", None)
        program.main.__dict__.pop("__cached__", None)


_MISSING = object()


class _TracebackFilter:
    """A one-shot sys.excepthook that shows the program's uncaught exception as python would.

    CPython prints an uncaught exception by calling sys.excepthook (and sets sys.last_*); this stands in
    for the program's hook once: it cuts pulsetrace's frames from the traceback, puts the program's hook
    back, and calls it the way PyErr_Print does (including its messages when the hook fails).
    """

    def __init__(self, program: Program) -> None:
        self.program = program
        self.original: Any = sys.__dict__.get("excepthook", _MISSING)

    def install(self) -> None:
        sys.excepthook = self

    def _restore(self) -> None:
        if sys.__dict__.get("excepthook") is self:
            if self.original is _MISSING:
                del sys.excepthook
            else:
                sys.excepthook = self.original

    def strip(self, tb: Optional[TracebackType]) -> Optional[TracebackType]:
        entry = tb
        while entry is not None:
            if entry.tb_frame is self.program.marker:
                return entry.tb_next
            entry = entry.tb_next
        return tb

    def __call__(
        self, exc_type: Type[BaseException], value: BaseException, tb: Optional[TracebackType]
    ) -> None:
        self._restore()
        tb = self.strip(tb)
        value.__traceback__ = tb
        if hasattr(sys, "last_traceback"):
            sys.last_traceback = tb
        self._call_hook(exc_type, value, tb)  # a SystemExit from the hook ends python at once
        _drop_main_file(self.program)

    def _call_hook(
        self, exc_type: Type[BaseException], value: BaseException, tb: Optional[TracebackType]
    ) -> None:
        if self.original is _MISSING:
            sys.stderr.write("sys.excepthook is missing\n")
            sys.__excepthook__(exc_type, value, tb)
            return
        try:
            self.original(exc_type, value, tb)
        except SystemExit:
            raise  # python exits with it, as it does when a hook raises SystemExit
        except BaseException as hook_error:
            _flush_stdout()
            # The hook's traceback starts at the hook, as under python: cut this frame.
            tb_hook = hook_error.__traceback__
            hook_error.__traceback__ = tb_hook.tb_next if tb_hook is not None else None
            sys.stderr.write("Error in sys.excepthook:\n")
            sys.__excepthook__(type(hook_error), hook_error, hook_error.__traceback__)
            sys.stderr.write("\nOriginal exception was:\n")
            sys.__excepthook__(exc_type, value, tb)


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except Exception:
        pass


__all__: List[str] = [
    "CODE",
    "MODULE",
    "SCRIPT",
    "LaunchError",
    "Program",
    "Target",
    "TraceSession",
    "UntracedSession",
    "format_size",
    "load_program",
    "run_program",
]
