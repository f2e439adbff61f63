"""The writers registry, save(), check_writable() and the one output-file helper."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from pulsetrace import writers
from pulsetrace.events import ENTER_CALL, EXIT_RETURN, FUNC_PYTHON, pack
from pulsetrace.model import ProcessTrace, ThreadTrace, Trace
from pulsetrace.model.native import parse_trace, read_trace
from pulsetrace.recording import FunctionInfo
from pulsetrace.writers import (
    OutputError,
    SaveResult,
    Sink,
    Writer,
    check_writable,
    open_output,
    register,
    registry,
    save,
    writer_for,
    writer_named,
)

as_root = hasattr(os, "geteuid") and os.geteuid() == 0


def tiny_trace() -> Trace:
    records = pack(100, ENTER_CALL, 0) + pack(250, EXIT_RETURN, 0)
    process = ProcessTrace(
        pid=9,
        name="python x.py",
        functions=[FunctionInfo(FUNC_PYTHON, "f", "/x.py", 1)],
        threads=[ThreadTrace(1, 2, "MainThread", [records])],
        start_ns=100,
        stop_ns=300,
        wall_anchor_ns=10**18,
        mono_anchor_ns=100,
    )
    return Trace([process])


def leftovers(directory: Path) -> List[str]:
    return sorted(path.name for path in directory.iterdir())


# -- registry --------------------------------------------------------------------------------------


def test_writers_are_chosen_by_extension() -> None:
    assert writer_for("out.pulse").name == "native"
    assert writer_for("dir.d/out.json").name == "json"
    assert writer_for("OUT.JSON.GZ").name == "json.gz"
    assert writer_for("/a/b.json.gz").name == "json.gz"
    assert writer_for("out.speedscope.json").name == "speedscope"
    assert writer_for("lines.heatmap.html").name == "heatmap"
    assert writer_for("result.html").name == writer_for("R.HTM").name == "html"
    assert writers.known_extensions() == [
        ".collapsed",
        ".folded",
        ".heatmap.html",
        ".htm",
        ".html",
        ".json",
        ".json.gz",
        ".prof",
        ".pstats",
        ".pulse",
        ".speedscope.json",
    ]


def test_longest_extension_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    class GzOnly(Writer):
        name = "gz-only"
        extensions = (".gz",)

    monkeypatch.setattr(registry, "_WRITERS", dict(registry._WRITERS))
    register(GzOnly)
    assert writer_for("t.json.gz").name == "json.gz"
    assert writer_for("t.gz").name == "gz-only"


def test_unknown_extension_lists_the_known_ones() -> None:
    known = (
        r"known extensions: \.collapsed, \.folded, \.heatmap\.html, \.htm, \.html, \.json, \.json\.gz, "
        r"\.prof, "
    )
    with pytest.raises(OutputError, match=known):
        writer_for("trace.txt")
    with pytest.raises(OutputError, match="trace"):
        writer_for("trace")
    with pytest.raises(OutputError, match="unknown output format 'xml'"):
        writer_named("xml")


def test_an_extension_cannot_be_claimed_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    class Impostor(Writer):
        name = "impostor"
        extensions = (".pulse",)

    monkeypatch.setattr(registry, "_WRITERS", dict(registry._WRITERS))
    with pytest.raises(ValueError, match="already taken by 'native'"):
        register(Impostor)


def test_a_registered_writer_is_used_by_save(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class Counting(Writer):
        name = "count"
        extensions = (".count",)

        def write(self, trace: Trace, stream: Sink) -> None:
            stream.write(b"%d\n" % trace.event_count)

    monkeypatch.setattr(registry, "_WRITERS", dict(registry._WRITERS))
    register(Counting)
    result = save(tiny_trace(), tmp_path / "n.count")
    assert result == SaveResult(str(tmp_path / "n.count"), "count", 2, 2, 1)
    assert (tmp_path / "n.count").read_bytes() == b"2\n"


# -- save ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,format_name", [("t.pulse", "native"), ("t.json", "json"), ("t.json.gz", "json.gz")]
)
def test_save_reports_what_it_wrote(tmp_path: Path, name: str, format_name: str) -> None:
    path = tmp_path / name
    result = save(tiny_trace(), str(path))
    assert result.path == str(path) and result.format == format_name and result.events == 2
    assert result.bytes_written == path.stat().st_size > 0
    assert leftovers(tmp_path) == [name]


def test_format_name_overrides_the_extension(tmp_path: Path) -> None:
    path = tmp_path / "trace.bin"
    assert save(tiny_trace(), str(path), format_name="native").format == "native"
    assert read_trace(path).event_count == 2


def test_dash_writes_json_to_stdout(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    print("before", flush=False)
    result = save(tiny_trace(), "-")
    out = capsysbinary.readouterr().out
    assert out.startswith(b"before\n")
    document = json.loads(out[len(b"before\n") :])
    assert result.format == "json" and result.bytes_written == len(out) - len(b"before\n")
    assert [e["ph"] for e in document["traceEvents"]].count("X") == 1


def test_dash_can_carry_the_native_format(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    save(tiny_trace(), "-", format_name="native")
    assert parse_trace(capsysbinary.readouterr().out).event_count == 2


def test_the_tracer_saves_through_the_writers(tmp_path: Path) -> None:
    import pulsetrace

    tracer = pulsetrace.Tracer()
    tracer.start()
    sorted([3, 1, 2])
    tracer.stop()
    result = tracer.save(str(tmp_path / "t.pulse"))
    assert isinstance(result, SaveResult)
    assert result.format == "native" and result.bytes_written == (tmp_path / "t.pulse").stat().st_size


def test_importing_pulsetrace_does_not_load_the_writers() -> None:
    code = "import sys, pulsetrace; print('pulsetrace.writers' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_public_names_load_their_modules_on_first_use() -> None:
    """pytest imports pulsetrace at every start (the plugin's entry point): that must stay cheap."""
    code = (
        "import sys, pulsetrace\n"
        "print('pulsetrace.tracer' in sys.modules, 'pulsetrace.custom' in sys.modules)\n"
        "from pulsetrace import Tracer, instant\n"
        "print(Tracer.__module__, instant.__module__, 'instant' in dir(pulsetrace))\n"
        "try:\n    pulsetrace.no_such_name\nexcept AttributeError as exc:\n    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == [
        "False False",
        "pulsetrace.tracer pulsetrace.custom.api True",
        "module 'pulsetrace' has no attribute 'no_such_name'",
    ]


# -- check_writable --------------------------------------------------------------------------------


def test_check_writable_accepts_good_paths_and_leaves_nothing(tmp_path: Path) -> None:
    assert check_writable(tmp_path / "new.json").name == "json"
    (tmp_path / "old.pulse").write_bytes(b"old")
    assert check_writable(str(tmp_path / "old.pulse")).name == "native"
    assert check_writable("-").name == "json"
    assert leftovers(tmp_path) == ["old.pulse"]
    assert (tmp_path / "old.pulse").read_bytes() == b"old"


def test_check_writable_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        check_writable(str(tmp_path / "no" / "such" / "t.json"))


def test_check_writable_path_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "d.json").mkdir()
    with pytest.raises(OutputError, match="is a directory"):
        check_writable(str(tmp_path / "d.json"))


def test_check_writable_parent_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="not a directory"):
        check_writable(str(tmp_path / "file" / "t.json"))


def test_check_writable_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="known extensions"):
        check_writable(str(tmp_path / "t.txt"))


def test_check_writable_permission_denied_is_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(OutputError, match="permission denied"):
        check_writable(str(tmp_path / "t.json"))


@pytest.mark.skipif(as_root or sys.platform == "win32", reason="root may write anywhere")
def test_check_writable_real_read_only_directory(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            check_writable(str(locked / "t.json"))
        (tmp_path / "ro.json").write_text("x")
        (tmp_path / "ro.json").chmod(0o400)
        with pytest.raises(OutputError, match="read-only"):
            check_writable(str(tmp_path / "ro.json"))
    finally:
        locked.chmod(0o700)


# -- open_output -----------------------------------------------------------------------------------


class Exploding(Exception):
    pass


def test_a_failed_write_leaves_no_half_written_file(tmp_path: Path) -> None:
    target = tmp_path / "t.json"
    with pytest.raises(Exploding):
        with open_output(str(target)) as stream:
            stream.write(b"half of a trace")
            raise Exploding
    assert leftovers(tmp_path) == []


def test_a_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "t.json"
    target.write_bytes(b"previous run")
    for interruption in (Exploding, KeyboardInterrupt):
        with pytest.raises(interruption):
            with open_output(str(target)) as stream:
                stream.write(b"partial")
                raise interruption
    assert target.read_bytes() == b"previous run"
    assert leftovers(tmp_path) == ["t.json"]


def test_a_failing_writer_inside_save_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Failing(Writer):
        name = "failing"
        extensions = (".fail",)

        def write(self, trace: Trace, stream: Sink) -> None:
            stream.write(b"x" * 100_000)
            raise RuntimeError("boom")

    monkeypatch.setattr(registry, "_WRITERS", dict(registry._WRITERS))
    register(Failing)
    with pytest.raises(RuntimeError, match="boom"):
        save(tiny_trace(), str(tmp_path / "t.fail"))
    assert leftovers(tmp_path) == []


def test_io_errors_while_writing_become_output_errors(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="no space left"):
        with open_output(str(tmp_path / "t.json")):
            raise OSError(28, "No space left on device")
    assert leftovers(tmp_path) == []


def test_replacing_keeps_the_permission_bits(tmp_path: Path) -> None:
    target = tmp_path / "t.json"
    target.write_bytes(b"old")
    target.chmod(0o640)
    save(tiny_trace(), str(target))
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert json.loads(target.read_bytes())["displayTimeUnit"] == "ns"


def test_new_files_get_the_usual_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        save(tiny_trace(), str(tmp_path / "t.pulse"))
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "t.pulse").stat().st_mode) == 0o644


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_writes_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_bytes(b"old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    save(tiny_trace(), str(link))
    assert link.is_symlink()
    assert json.loads(real.read_bytes())["traceEvents"]


def test_open_output_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="is a directory"):
        with open_output(str(tmp_path)):
            pass


def test_a_closed_stdout_pipe_is_an_output_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class ClosedPipe:
        def write(self, data: bytes) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            pass

    class FakeStdout:
        buffer = ClosedPipe()

        def flush(self) -> None:
            pass

    monkeypatch.setattr(sys, "stdout", FakeStdout())
    with pytest.raises(OutputError, match="stdout"):
        save(tiny_trace(), "-")


# -- a real recording, when the C core is built ----------------------------------------------------


def test_a_real_recording_saves_and_reads_back(tmp_path: Path) -> None:
    if not hasattr(pytest.importorskip("pulsetrace._core"), "Recorder"):
        pytest.skip("the C extension is not built (only its sources directory is importable)")
    from pulsetrace import Tracer

    def fib(n: int) -> int:
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    tracer = Tracer(core="c")
    with tracer:
        fib(12)
        sorted(range(10))
    trace = tracer.trace
    native = save(trace, str(tmp_path / "t.pulse"))
    exported = save(trace, str(tmp_path / "t.json"))
    loaded = read_trace(tmp_path / "t.pulse")
    assert native.events == exported.events == loaded.event_count == trace.event_count > 0
    for got, want in zip(loaded.processes[0].threads, trace.processes[0].threads):
        assert b"".join(got.chunks) == b"".join(want.chunks)
    names = {e.get("name", "") for e in json.loads((tmp_path / "t.json").read_bytes())["traceEvents"]}
    assert any(name.startswith("test_a_real_recording_saves_and_reads_back.<locals>.fib (") for name in names)
