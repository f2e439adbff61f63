"""The traced program cannot tell: `pulsetrace run` against plain `python` on the same programs.

Each test writes a real program to tmp_path, runs it with ``python`` and with ``python -m pulsetrace
run`` in the same environment, and compares stdout, stderr (less pulsetrace's one summary line) and
the exit status.
"""

from __future__ import annotations

import json
import os
import py_compile
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any, Dict, List

import pytest

from helpers_cli import (
    Result,
    assert_same_run,
    cores_available,
    environment,
    load_json_trace,
    pulsetrace_command,
    python_command,
    run_pulsetrace,
    run_python,
    slice_names,
    summary_of,
    write,
)

CORES = cores_available()


def compare(
    tmp_path: Path, program: List[str], *, stdin: str = "", core: Any = None, saved: bool = True
) -> Result:
    """Run ``program`` (python arguments) both ways in tmp_path, assert they match, return the traced run."""
    trace = tmp_path / "trace.json"
    if trace.exists():
        trace.unlink()
    plain = run_python(program, tmp_path, stdin=stdin)
    traced = run_pulsetrace(["run", "-o", "trace.json", *program], tmp_path, stdin=stdin, core=core)
    assert_same_run(plain, traced, summary=saved)
    assert trace.exists() == saved
    return traced


# -- what the program sees --------------------------------------------------------------------------

INTROSPECT = """
    import atexit, json, sys, warnings

    def describe():
        loader = globals().get("__loader__")
        spec = globals().get("__spec__")
        return {
            "argv": sys.argv,
            "orig_argv": getattr(sys, "orig_argv", None),
            "path": sys.path,
            "name": __name__,
            "file": globals().get("__file__"),
            "cached": globals().get("__cached__", "missing"),
            "package": __package__,
            "doc": __doc__,
            "keys": list(globals())[:9],
            "loader": [type(loader).__name__ if not isinstance(loader, type) else loader.__name__,
                       getattr(loader, "name", None), getattr(loader, "path", None)],
            "spec": None if spec is None else [spec.name, spec.origin, spec.parent, spec.has_location],
            "is_main": sys.modules["__main__"].__dict__ is globals(),
            "builtins": getattr(globals().get("__builtins__"), "__name__", None),
            "exc_info": repr(sys.exc_info()),
            "warnoptions": sys.warnoptions,
            "code_file": sys._getframe().f_code.co_filename,
        }

    atexit.register(lambda: print("atexit", json.dumps({"file": globals().get("__file__", "gone")})))
    print(json.dumps(describe(), indent=1, sort_keys=True))
"""


def test_script_sees_what_python_gives_it(tmp_path: Path) -> None:
    write(tmp_path / "app" / "prog.py", INTROSPECT)
    traced = compare(tmp_path, ["app/prog.py", "one", "-o", "--two"])
    seen = json.loads(traced.stdout.split("\natexit")[0])
    assert seen["argv"] == ["app/prog.py", "one", "-o", "--two"]
    assert seen["file"] == str(tmp_path / "app" / "prog.py")
    assert seen["path"][0] == str(tmp_path / "app")
    assert seen["spec"] is None and seen["name"] == "__main__"
    assert 'atexit {"file": "gone"}' in traced.stdout  # python drops __file__ once the script is over


def test_script_through_a_symlink(tmp_path: Path) -> None:
    write(tmp_path / "real" / "prog.py", INTROSPECT)
    (tmp_path / "links").mkdir()
    (tmp_path / "links" / "prog.py").symlink_to(tmp_path / "real" / "prog.py")
    traced = compare(tmp_path, ["./links/../links/prog.py"])
    assert json.loads(traced.stdout.split("\natexit")[0])["path"][0] == str(tmp_path / "real")


def test_module_sees_what_python_gives_it(tmp_path: Path) -> None:
    write(tmp_path / "pkg" / "__init__.py", "import sys\nprint('init argv', sys.argv)\n")
    write(tmp_path / "pkg" / "mod.py", INTROSPECT)
    traced = compare(tmp_path, ["-m", "pkg.mod", "a", "-c", "x"])
    seen = json.loads(traced.stdout.split("\n", 1)[1].split("\natexit")[0])
    assert traced.stdout.startswith("init argv ['-m', 'a', '-c', 'x']")
    assert seen["argv"] == [str(tmp_path / "pkg" / "mod.py"), "a", "-c", "x"]
    assert seen["spec"][:3] == ["pkg.mod", str(tmp_path / "pkg" / "mod.py"), "pkg"]
    assert seen["path"][0] == str(tmp_path)


def test_package_main_module(tmp_path: Path) -> None:
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "pkg" / "__main__.py", INTROSPECT)
    compare(tmp_path, ["-m", "pkg", "arg"])


def test_code_string_sees_what_python_gives_it(tmp_path: Path) -> None:
    code = "import json, sys; print(json.dumps([sys.argv, sys.path[0], __name__, sorted(globals())]))"
    traced = compare(tmp_path, ["-c", code, "x", "--output", "y"])
    argv, path0, name, _ = json.loads(traced.stdout)
    assert argv == ["-c", "x", "--output", "y"] and path0 == "" and name == "__main__"


def test_code_string_introspection(tmp_path: Path) -> None:
    compare(tmp_path, ["-c", textwrap.dedent(INTROSPECT), "arg"])


def test_directory_with_main(tmp_path: Path) -> None:
    write(tmp_path / "app" / "__main__.py", INTROSPECT)
    compare(tmp_path, ["app", "arg"])


def test_interpreter_options_still_apply(tmp_path: Path) -> None:
    """Options given to the interpreter that runs pulsetrace reach the program (-W, -X, -O)."""
    write(tmp_path / "prog.py", textwrap.dedent(INTROSPECT) + "\nassert False, 'asserts are off under -O'\n")
    options = ["-O", "-W", "error::ResourceWarning", "-X", "dev"]
    plain = subprocess.run(
        python_command([*options, "prog.py"]), cwd=tmp_path, capture_output=True, text=True, env=environment()
    )
    traced = subprocess.run(
        [sys.executable, *options, "-m", "pulsetrace", "run", "-o", "t.json", "prog.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=environment(),
    )
    assert_same_run(Result(plain.returncode, plain.stdout, plain.stderr), Result(*_parts(traced)))


def _parts(done: subprocess.CompletedProcess[str]) -> tuple[int, str, str]:
    return done.returncode, done.stdout, done.stderr


# -- how the program ends ---------------------------------------------------------------------------

ENDINGS: Dict[str, str] = {
    "normal": "print('done')",
    "exit-3": "import sys\nprint('out')\nsys.exit(3)",
    "exit-message": "import sys\nsys.exit('fatal: it broke')",
    "exit-none": "raise SystemExit",
    "exit-list": "import sys\nsys.exit([1, 2])",
    "exit-big": "import sys\nsys.exit(256 + 7)",
    "exception": """
        import sys
        def inner():
            {}['missing']
        def outer():
            try:
                inner()
            except KeyError as exc:
                raise ValueError('wrapped') from exc
        print('before', flush=True)
        outer()
    """,
    "exception-group": """
        import sys
        if sys.version_info >= (3, 11):
            raise ExceptionGroup('many', [ValueError(1), TypeError(2)])
        raise ValueError('no groups before 3.11')
    """,
    "keyboard-interrupt": "print('working')\nraise KeyboardInterrupt",
    "syntax-error": "print('never')\ndef broken(:\n    pass\n",
    "custom-excepthook": """
        import sys
        def hook(kind, value, tb):
            import traceback
            print('hook:', kind.__name__, value, file=sys.stderr)
            traceback.print_tb(tb)
        sys.excepthook = hook
        def fail():
            raise RuntimeError('x')
        fail()
    """,
    "failing-excepthook": """
        import sys
        def hook(kind, value, tb):
            raise TypeError('the hook failed')
        sys.excepthook = hook
        raise RuntimeError('original')
    """,
    "excepthook-exits": """
        import sys
        sys.excepthook = lambda *info: sys.exit(9)
        raise RuntimeError('x')
    """,
    "atexit-sees-last-exception": """
        import atexit, sys
        atexit.register(lambda: print('last:', repr(sys.last_value),
                                      sys.last_traceback.tb_frame.f_code.co_name))
        raise LookupError('seen at exit')
    """,
}


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_endings_match_python(tmp_path: Path, ending: str) -> None:
    write(tmp_path / "prog.py", ENDINGS[ending])
    plain = run_python(["prog.py"], tmp_path)
    traced = run_pulsetrace(["run", "-o", "trace.json", "prog.py"], tmp_path)
    if ending == "syntax-error":  # nothing ran: python's message, and no trace
        assert_same_run(plain, traced, summary=False)
        assert not (tmp_path / "trace.json").exists()
        return
    assert_same_run(plain, traced)
    assert "/pulsetrace/" not in traced.split_summary()[0]
    assert (tmp_path / "trace.json").exists()


@pytest.mark.parametrize("core", CORES)
def test_uncaught_exception_each_core(tmp_path: Path, core: str) -> None:
    write(tmp_path / "prog.py", ENDINGS["exception"])
    traced = compare(tmp_path, ["prog.py"], core=core)
    assert traced.returncode == 1 and "Traceback (most recent call last)" in traced.stderr
    assert {"inner", "outer", "<module>"} <= slice_names(load_json_trace(tmp_path / "trace.json"))


@pytest.mark.parametrize("core", CORES)
def test_keyboard_interrupt_each_core(tmp_path: Path, core: str) -> None:
    write(tmp_path / "prog.py", ENDINGS["keyboard-interrupt"])
    traced = compare(tmp_path, ["prog.py"], core=core)
    assert traced.returncode == -signal.SIGINT  # python re-raises SIGINT on itself after the traceback


def test_exceptions_in_module_and_code_string(tmp_path: Path) -> None:
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "pkg" / "boom.py", "def f():\n    return 1 / 0\nf()\n")
    traced = compare(tmp_path, ["-m", "pkg.boom"])
    assert "<frozen runpy>" in traced.stderr or "runpy.py" in traced.stderr  # python -m shows runpy too
    compare(tmp_path, ["-c", "def f():\n    raise OSError(5, 'io')\nf()"])
    compare(tmp_path, ["-c", "import sys; sys.exit('bye')"])
    compare(tmp_path, ["-c", "x = (1,"], saved=False)  # a SyntaxError: nothing ran, nothing saved


def test_stdout_and_stderr_interleave_as_under_python(tmp_path: Path) -> None:
    """Buffered stdout is flushed before the traceback, as python does for a script."""
    write(
        tmp_path / "prog.py",
        "import sys\nprint('out 1')\nprint('err 1', file=sys.stderr)\nprint('out 2')\n1/0\n",
    )
    merged = {}
    for name, command in (
        ("plain", python_command(["prog.py"])),
        ("traced", pulsetrace_command(["run", "-q", "prog.py"])),
    ):
        done = subprocess.run(
            command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=environment()
        )
        merged[name] = (done.returncode, done.stdout)
    assert merged["plain"] == merged["traced"]


def test_reads_stdin(tmp_path: Path) -> None:
    write(tmp_path / "prog.py", "import sys\nfor line in sys.stdin:\n    print(line.strip().upper())\n")
    traced = compare(tmp_path, ["prog.py"], stdin="alpha\nbeta\n")
    assert traced.stdout == "ALPHA\nBETA\n"


def test_warnings_match_python(tmp_path: Path) -> None:
    write(
        tmp_path / "helper.py",
        "import warnings\ndef old():\n    warnings.warn('old api', DeprecationWarning, stacklevel=2)\n"
        "def hidden():\n    warnings.warn('hidden', DeprecationWarning)\n",
    )
    write(
        tmp_path / "prog.py",
        """
        import warnings, helper
        warnings.warn('main deprecation', DeprecationWarning)
        warnings.warn('a user warning')
        for _ in range(3):
            warnings.warn('once per location', RuntimeWarning)
        helper.old()
        helper.hidden()
        def caller():
            warnings.warn('from caller', UserWarning, stacklevel=2)
        caller()
        """,
    )
    traced = compare(tmp_path, ["prog.py"])
    assert "main deprecation" in traced.stderr and "hidden" not in traced.stderr


# -- signals and abrupt exits -----------------------------------------------------------------------

# Says "ready" only once the main thread sits in its long sleep, so that the signal lands on the same
# line with and without tracing (tracing makes the lines before it slower).
SLEEPER = """
    import signal, sys, threading, time
    {setup}
    def spin():
        while True:
            time.sleep(0.01)
    def announce(main, line):
        while sys._current_frames()[main].f_lineno != line:
            time.sleep(0.005)
        time.sleep(0.05)
        print('ready', flush=True)
    threading.Thread(target=spin, daemon=True).start()
    threading.Thread(target=announce, args=(threading.get_ident(), sys._getframe().f_lineno + 1)).start()
    time.sleep(30)
    print('not reached')
"""


def _run_until_signal(command: List[str], cwd: Path, signum: int, core: Any = None) -> Result:
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment(core)
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    return Result(process.returncode, first + out, err)


@pytest.mark.parametrize("core", CORES)
def test_sigterm_saves_and_dies_by_sigterm(tmp_path: Path, core: str) -> None:
    write(tmp_path / "prog.py", SLEEPER.format(setup="def spin_setup(): pass"))
    plain = _run_until_signal(python_command(["prog.py"]), tmp_path, signal.SIGTERM)
    traced = _run_until_signal(
        pulsetrace_command(["run", "-o", "t.json", "prog.py"]), tmp_path, signal.SIGTERM, core
    )
    assert plain.returncode == -signal.SIGTERM
    assert_same_run(plain, traced)
    assert "spin" in slice_names(load_json_trace(tmp_path / "t.json"))


def test_sigterm_handled_by_the_program(tmp_path: Path) -> None:
    setup = "signal.signal(signal.SIGTERM, lambda *a: (print('handled', flush=True), sys.exit(7)))"
    write(tmp_path / "prog.py", SLEEPER.format(setup=setup))
    plain = _run_until_signal(python_command(["prog.py"]), tmp_path, signal.SIGTERM)
    traced = _run_until_signal(
        pulsetrace_command(["run", "-o", "t.json", "prog.py"]), tmp_path, signal.SIGTERM
    )
    assert plain.returncode == 7
    assert_same_run(plain, traced)


def test_sigterm_from_a_thread_of_the_program(tmp_path: Path) -> None:
    write(
        tmp_path / "prog.py",
        """
        import os, signal, threading, time
        def work(n):
            return sum(range(n))
        work(1000)
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
        time.sleep(30)
        """,
    )
    traced = compare(tmp_path, ["prog.py"])
    assert traced.returncode == -signal.SIGTERM
    assert "work" in slice_names(load_json_trace(tmp_path / "trace.json"))


def test_sigint_from_outside(tmp_path: Path) -> None:
    write(tmp_path / "prog.py", SLEEPER.format(setup=""))
    plain = _run_until_signal(python_command(["prog.py"]), tmp_path, signal.SIGINT)
    traced = _run_until_signal(
        pulsetrace_command(["run", "-o", "t.json", "prog.py"]), tmp_path, signal.SIGINT
    )
    assert plain.returncode == -signal.SIGINT
    assert_same_run(plain, traced)
    assert (tmp_path / "t.json").exists()


@pytest.mark.parametrize("core", CORES)
def test_os_exit_saves_first(tmp_path: Path, core: str) -> None:
    write(
        tmp_path / "prog.py",
        """
        import atexit, os
        atexit.register(print, 'atexit does not run after os._exit')
        def compute():
            return 42
        print(compute(), flush=True)
        os._exit(3)
        """,
    )
    traced = compare(tmp_path, ["prog.py"], core=core)
    assert traced.returncode == 3
    assert "compute" in slice_names(load_json_trace(tmp_path / "trace.json"))


def test_forked_child_does_not_save(tmp_path: Path) -> None:
    write(
        tmp_path / "prog.py",
        """
        import os, sys
        pid = os.fork()
        if pid == 0:
            print('child', flush=True)
            if len(sys.argv) > 1:
                os._exit(0)
            sys.exit(0)
        os.waitpid(pid, 0)
        print('parent')
        """,
    )
    for args in (["prog.py"], ["prog.py", "os-exit"]):
        traced = compare(tmp_path, args)  # exactly one summary line: the parent's
        assert traced.stdout == "child\nparent\n"


def test_threads_and_atexit_are_traced(tmp_path: Path) -> None:
    write(
        tmp_path / "prog.py",
        """
        import atexit, threading, time
        def worker():
            time.sleep(0.1)
            print('worker done', flush=True)
        def at_exit_handler():
            print('at exit')
        atexit.register(at_exit_handler)
        threading.Thread(target=worker).start()
        print('main done', flush=True)
        """,
    )
    compare(tmp_path, ["prog.py"])
    names = slice_names(load_json_trace(tmp_path / "trace.json"))
    assert {"worker", "at_exit_handler", "<module>"} <= names


def test_program_that_changes_directory(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    write(tmp_path / "prog.py", "import os\nos.chdir('elsewhere')\nprint(os.getcwd() != '')\n")
    traced = compare(tmp_path, ["prog.py"])
    assert summary_of(traced).group(3) == "trace.json"
    assert not (tmp_path / "elsewhere" / "trace.json").exists()


def test_no_pulsetrace_frames_in_tracebacks(tmp_path: Path) -> None:
    write(
        tmp_path / "prog.py",
        "import sys\nsys.setrecursionlimit(80)\ndef down(n):\n    return down(n + 1)\ndown(0)\n",
    )
    traced = run_pulsetrace(["run", "-o", "t.json", "prog.py"], tmp_path)
    program_stderr, _ = traced.split_summary()
    assert traced.returncode == 1 and "RecursionError" in program_stderr
    assert "/pulsetrace/" not in program_stderr and "runner.py" not in program_stderr
    assert os.path.exists(tmp_path / "t.json")


def test_source_encodings(tmp_path: Path) -> None:
    (tmp_path / "latin.py").write_bytes(b"x = 1\nprint('caf\xe9')\n")  # not UTF-8, nothing declared
    compare(tmp_path, ["latin.py"], saved=False)
    (tmp_path / "cookie.py").write_bytes(b"# -*- coding: latin-1 -*-\nprint('caf\xe9')\n")
    compare(tmp_path, ["cookie.py"])
    (tmp_path / "bom.py").write_bytes(b"\xef\xbb\xbfprint('bom')\n")
    compare(tmp_path, ["bom.py"])


def test_compiled_file(tmp_path: Path) -> None:
    source = "import sys\nprint(type(__loader__).__name__, sys.argv)\ndef f():\n    1/0\nf()\n"
    write(tmp_path / "source.py", source)
    py_compile.compile(str(tmp_path / "source.py"), cfile=str(tmp_path / "prog.pyc"), doraise=True)
    traced = compare(tmp_path, ["prog.pyc", "arg"])
    assert traced.stdout.startswith("SourcelessFileLoader")
    (tmp_path / "bad.pyc").write_bytes(b"not a pyc")
    compare(tmp_path, ["bad.pyc"], saved=False)


def test_zip_application(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "app.pyz", "w") as archive:
        archive.writestr("__main__.py", textwrap.dedent(INTROSPECT))
    compare(tmp_path, ["app.pyz", "arg"])
