"""The progress line: shown only on a terminal and only for work that runs long, then erased."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from helpers_cli import environment, pulsetrace_command, write
from pulsetrace.progress import ERASE, Progress, delay_from_environment


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_long_work_on_a_terminal_shows_a_line_and_erases_it() -> None:
    terminal = FakeTerminal()
    with Progress("saving big.json", terminal, after=0.05) as progress:
        time.sleep(0.5)
    text = terminal.getvalue()
    assert progress.shown
    assert text.count("pulsetrace: saving big.json ") >= 2  # redrawn while the work runs
    assert text.endswith(ERASE) and "\n" not in text  # nothing left on screen, no new line


def test_short_work_shows_nothing() -> None:
    terminal = FakeTerminal()
    with Progress("saving small.json", terminal, after=5.0) as progress:
        pass
    assert terminal.getvalue() == "" and not progress.shown


def test_not_a_terminal_shows_nothing() -> None:
    pipe = io.StringIO()
    with Progress("saving big.json", pipe, after=0.0):
        time.sleep(0.3)
    assert pipe.getvalue() == ""


def test_an_error_inside_still_erases_and_propagates() -> None:
    terminal = FakeTerminal()
    with pytest.raises(KeyError), Progress("saving", terminal, after=0.0):
        time.sleep(0.3)
        raise KeyError("boom")
    assert terminal.getvalue().endswith(ERASE)


def test_delay_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSETRACE_PROGRESS_AFTER", "0.25")
    assert delay_from_environment() == 0.25
    monkeypatch.setenv("PULSETRACE_PROGRESS_AFTER", "soon")
    assert delay_from_environment() == 1.0
    monkeypatch.delenv("PULSETRACE_PROGRESS_AFTER")
    assert delay_from_environment() == 1.0


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_pulsetrace_run_on_a_terminal(tmp_path: Path) -> None:
    """stderr on a pseudo-terminal: the save shows the line (delay 0), stdout (a pipe) never does."""
    write(tmp_path / "prog.py", "print(sum(abs(i) for i in range(200000)))\n")
    primary, secondary = pty.openpty()
    env = environment(extra={"PULSETRACE_PROGRESS_AFTER": "0"})
    with subprocess.Popen(
        pulsetrace_command(["run", "-o", "t.json", "prog.py"]),
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=secondary, stdin=subprocess.DEVNULL,
    ) as process:  # fmt: skip
        os.close(secondary)
        stdout = process.stdout.read() if process.stdout else b""
        process.wait(60)
    seen = b""
    while select.select([primary], [], [], 0.5)[0]:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the other end is closed
            break
        if not chunk:
            break
        seen += chunk
    os.close(primary)
    text = seen.decode("utf-8", "replace")
    assert process.returncode == 0, text
    assert stdout == b"19999900000\n"
    assert "pulsetrace: saving t.json " in text and ERASE in text
    assert text.rstrip().splitlines()[-1].startswith("pulsetrace: wrote ")


def test_updates_draw_without_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """At interpreter shutdown Python 3.12+ starts no thread: the writer's updates draw the line."""

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't create new thread at interpreter shutdown")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    terminal = FakeTerminal()
    with Progress("saving big.json", terminal, after=0.0) as progress:
        for written in range(0, 5 * 1048576, 1048576):
            progress.update(written)
            time.sleep(0.25)
    text = terminal.getvalue()
    assert "pulsetrace: saving big.json " in text and " 4.0 MiB " in text and text.endswith(ERASE)
