"""Reading python command lines as the interpreter does (pulsetrace.pycommand), and which of them a traced
program's run rewrites (pulsetrace.children.ChildTracing.command_for)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import pytest

from pulsetrace.children import CHILD_OF_FLAG, ChildTracing, bootstrap_code
from pulsetrace.options import TraceOptions
from pulsetrace.pycommand import CODE, MODULE, SCRIPT, PythonCommand, parse_python_command

PLAIN = ["-E", "-s", "-S", "-P", "-q", "-v", "-b", "-d"]  # options that take no value


@pytest.mark.parametrize(
    "words, options, kind, value, arguments",
    [
        (["prog.py", "a", "-m", "x"], [], SCRIPT, "prog.py", ["a", "-m", "x"]),
        (["-u", "-X", "dev", "prog.py"], ["-u", "-X", "dev"], SCRIPT, "prog.py", []),
        (["-W", "ignore", "-OO", "-m", "pkg.mod", "a"], ["-W", "ignore", "-OO"], MODULE, "pkg.mod", ["a"]),
        (["-mpkg", "--flag"], [], MODULE, "pkg", ["--flag"]),
        (["-uBc", "print(1)", "arg"], ["-uB"], CODE, "print(1)", ["arg"]),
        (["-Bcprint(1)"], ["-B"], CODE, "print(1)", []),
        (["-Wignore", "-Xutf8", "-c", "pass"], ["-Wignore", "-Xutf8"], CODE, "pass", []),
        (["--check-hash-based-pycs", "never", "s"], ["--check-hash-based-pycs", "never"], SCRIPT, "s", []),
        ([*PLAIN, "s.py"], PLAIN, SCRIPT, "s.py", []),
    ],
)
def test_programs(words: List[str], options: List[str], kind: str, value: str, arguments: List[str]) -> None:
    assert parse_python_command(words) == PythonCommand(options, kind, value, arguments)


@pytest.mark.parametrize(
    "words",
    [
        [],  # the interactive interpreter
        ["-u"],
        ["-"],  # the program on standard input
        ["-", "arg"],
        ["-i", "s.py"],  # interactive afterwards
        ["-x", "s.py"],  # skips the first line: not how pulsetrace reads a script
        ["-V"],
        ["--version"],
        ["--help"],
        ["-h"],
        ["-c"],  # python's own usage error
        ["-m"],
        ["-W"],
        ["-Z", "s.py"],  # an option python does not know
        [1, "s.py"],
    ],
)
def test_not_programs(words: List[Any]) -> None:
    assert parse_python_command(words) is None


def test_words_keep_their_types() -> None:
    command = parse_python_command([b"-u", Path("prog.py"), b"arg"])
    assert command == PythonCommand([b"-u"], SCRIPT, Path("prog.py"), [b"arg"])
    assert command is not None and command.program_words() == [Path("prog.py")]
    module = parse_python_command(["-m", "mod", "a\nb"])
    assert module is not None and module.program_words() == ["-m", "mod"]
    assert module.describe() == "python -m mod a b"  # one line, for messages


# -- the rewritten command lines ---------------------------------------------------------------------


def rewritten(words: List[Any]) -> Optional[List[Any]]:
    return ChildTracing("/run/dir", TraceOptions()).command_for(["/usr/bin/python3", *words])


def test_script_command() -> None:
    assert rewritten(["-u", "prog.py", "a"]) == [
        "/usr/bin/python3", "-u", "-c", bootstrap_code(), "run", CHILD_OF_FLAG, "/run/dir",
        "--", "prog.py", "a",
    ]  # fmt: skip


def test_module_and_code_commands() -> None:
    head = ["/usr/bin/python3", "-c", bootstrap_code(), "run", CHILD_OF_FLAG, "/run/dir"]
    assert rewritten(["-m", "pkg", "-x"]) == [*head, "-m", "pkg", "-x"]
    assert rewritten(["-Bc", "print(1)", "a"]) == ["/usr/bin/python3", "-B", *head[1:], "-c", "print(1)", "a"]


def test_spawned_multiprocessing_child_is_rewritten() -> None:
    code = "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5, pipe_handle=7)"
    command = rewritten(["-c", code, "--multiprocessing-fork"])
    assert command is not None and command[-3:] == ["-c", code, "--multiprocessing-fork"]


@pytest.mark.parametrize(
    "words",
    [
        ["-c", "from multiprocessing.resource_tracker import main;main(5)"],
        ["-c", "from multiprocessing.forkserver import main; main(3, 4, [], **{})"],
        ["-m", "pulsetrace", "run", "x.py"],
        ["-i", "x.py"],
        [],
    ],
)
def test_commands_left_alone(words: List[str]) -> None:
    assert rewritten(words) is None


@pytest.mark.parametrize(
    "words, ignores",
    [
        (["-I", "x.py"], True),
        (["-E", "-c", "pass"], True),
        (["-bS", "-m", "pkg"], True),
        (["-Ic", "pass"], True),
        (["-u", "-X", "dev", "x.py"], False),
        (["-W", "E", "x.py"], False),  # E is -W's value, not an option
        (["-WE", "x.py"], False),
        (["-XI", "x.py"], False),
        (["--check-hash-based-pycs", "always", "x.py", "-I"], False),  # -I is the script's
    ],
)
def test_options_that_ignore_the_environment(words: List[str], ignores: bool) -> None:
    command = parse_python_command(words)
    assert command is not None and command.ignores_environment() is ignores


def test_known_supported_pythons(tmp_path: Path) -> None:
    from pulsetrace.childenv import known_supported_python

    (tmp_path / "python3.12").write_text("")
    (tmp_path / "python3").symlink_to(tmp_path / "python3.12")
    (tmp_path / "wrapper").symlink_to(tmp_path / "python3.8")
    assert known_supported_python(tmp_path / "python3.12") and known_supported_python(tmp_path / "python3")
    assert known_supported_python("/usr/bin/python3.9") and known_supported_python("/opt/python3.13t")
    assert not known_supported_python("/usr/bin/python3.8")
    assert not known_supported_python(tmp_path / "wrapper")  # links to a 3.8
    assert not known_supported_python(tmp_path / "no" / "python3")  # says no version, links nowhere
    assert not known_supported_python("/usr/bin/pypy3.10")
