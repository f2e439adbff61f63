"""The pytest plugin: a real pytest in a subprocess (pytester) with the plugin loaded, on real test files.

The checkout is not installed, so the inner pytest loads the plugin with ``-p pulsetrace.pytest_plugin``
and entry-point plugins off (the same run whatever else is installed); one test installs the entry
point the way pip would (a dist-info directory on the path) and checks that loading and
``-p no:pulsetrace``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Dict, List, Set

import pytest

from helpers_cli import SRC
from pulsetrace.events import ENTER_KINDS, FUNC_C
from pulsetrace.model.native import read_trace
from pulsetrace.pytest_names import MAX_STEM, TraceNames, safe_stem

pytest_plugins = ["pytester"]

PLUGIN = ("-p", "pulsetrace.pytest_plugin")
USAGE_ERROR = 4
DURATION = re.compile(r" in [\d.]+s\b")  # the last line of a run: "== 1 failed, 2 passed in 0.12s =="

MODULE = """
import pytest

def helper(n):
    return sum(range(n))

def test_one():
    assert helper(10) == 45

class TestA:
    @pytest.mark.parametrize("x", [1, "a/b"])
    def test_b(self, x):
        helper(3)
"""

OUTCOMES = """
import pytest

def failing_helper():
    return 41

def test_fails():
    print("printed by test_fails")
    assert failing_helper() == 42, "the answer is wrong"

def test_raises():
    raise ValueError("boom from test_raises")

def test_skips_inside():
    pytest.skip("skipped from inside")

@pytest.mark.skip(reason="skipped by marker")
def test_skipped_by_marker():
    pass

@pytest.mark.xfail(reason="known bug")
def test_xfails():
    assert failing_helper() == 42

@pytest.mark.xfail(reason="fixed bug")
def test_xpasses():
    pass

def test_passes():
    failing_helper()
"""

OWN_TRACER = """
import pulsetrace
import pytest

def helper():
    return 1

def test_own(tmp_path):
    with pulsetrace.Tracer(output=str(tmp_path / "own.pulse")):
        helper()
    assert (tmp_path / "own.pulse").exists()

def test_after():
    helper()

@pytest.fixture
def traced_fixture(tmp_path):
    tracer = pulsetrace.Tracer()
    tracer.start()
    yield
    tracer.stop()

def test_fixture_tracer(traced_fixture):
    helper()
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytester whose subprocesses import this checkout's pulsetrace and no entry-point plugins."""
    paths = [str(SRC)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    for name in ("PULSETRACE_CORE", "PULSETRACE_BACKEND", "PULSETRACE_OUTPUT", "PYTEST_ADDOPTS"):
        monkeypatch.delenv(name, raising=False)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*PLUGIN, "-p", "no:cacheprovider", *args, timeout=120)


def slice_names(path: Path) -> Set[str]:
    """The functions with at least one slice in a native trace."""
    names = set()
    for process in read_trace(path).processes:
        for thread in process.threads:
            for event in thread.events():
                if event.kind in ENTER_KINDS:
                    names.add(process.functions[event.func].name)
    return names


def files_in(directory: Path) -> List[str]:
    return sorted(path.name for path in directory.iterdir())


def our_lines(result: pytest.RunResult) -> List[str]:
    return [line for line in result.outlines if line.startswith("pulsetrace: ")]


# -- per-test traces ------------------------------------------------------------------------------------


def test_a_trace_per_test_named_after_its_node_id(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_mod=MODULE)
    result = run(inner, "--pulsetrace")
    result.assert_outcomes(passed=3)
    traces = inner.path / ".pulsetrace"
    assert files_in(traces) == [
        "test_mod.py__TestA__test_b[1].pulse",
        "test_mod.py__TestA__test_b[a_b].pulse",
        "test_mod.py__test_one.pulse",
    ]
    one = slice_names(traces / "test_mod.py__test_one.pulse")
    assert {"test_one", "helper"} <= one
    assert "TestA.test_b" not in one
    assert {"TestA.test_b", "helper"} <= slice_names(traces / "test_mod.py__TestA__test_b[1].pulse")
    assert read_trace(traces / "test_mod.py__test_one.pulse").process().name == "test_mod.py::test_one"
    (line,) = our_lines(result)
    assert re.fullmatch(
        r"pulsetrace: wrote 3 traces \(\d+ calls, [\d.]+ (B|KiB|MiB)\) to \.pulsetrace/", line
    )


def test_outcomes_and_output_are_those_of_the_plain_run(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_out=OUTCOMES)
    plain = run(inner, "-rA")
    traced = run(inner, "-rA", "--pulsetrace")
    expected = {"failed": 2, "passed": 1, "skipped": 2, "xfailed": 1, "xpassed": 1}
    assert plain.parseoutcomes() == traced.parseoutcomes() == expected
    assert traced.ret == plain.ret == pytest.ExitCode.TESTS_FAILED

    def report(result: pytest.RunResult) -> List[str]:  # the failures, captured output and summary
        lines = result.outlines[result.outlines.index(next(x for x in result.outlines if "FAILURES" in x)) :]
        return [line for line in lines if not line.startswith("pulsetrace: ") and not DURATION.search(line)]

    assert report(traced) == report(plain)
    traced.stdout.fnmatch_lines(
        [
            "*AssertionError: the answer is wrong*",
            "*printed by test_fails*",
            "*ValueError: boom from test_raises*",
        ]
    )
    traces = inner.path / ".pulsetrace"
    assert files_in(traces) == [
        f"test_out.py__{name}.pulse"
        for name in (
            "test_fails",
            "test_passes",
            "test_raises",
            "test_skips_inside",
            "test_xfails",
            "test_xpasses",
        )
    ]  # a test skipped by its marker never reaches its call
    assert {"test_fails", "failing_helper"} <= slice_names(traces / "test_out.py__test_fails.pulse")


def test_setup_and_teardown_are_traced_on_request(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        test_fix="""
        import pytest

        def set_up(): pass
        def tear_down(): pass
        def body(): pass

        @pytest.fixture
        def resource():
            set_up()
            yield
            tear_down()

        def test_it(resource):
            body()
        """
    )
    run(inner, "--pulsetrace").assert_outcomes(passed=1)
    call_only = slice_names(inner.path / ".pulsetrace" / "test_fix.py__test_it.pulse")
    assert "body" in call_only and not {"set_up", "tear_down"} & call_only
    # only the test: not pytest's reporting after it
    assert not {"pytest_runtest_makereport", "pytest_runtest_logreport"} & call_only
    run(inner, "--pulsetrace=all-phases", "--pulsetrace-phases=all").assert_outcomes(passed=1)
    everything = slice_names(inner.path / "all-phases" / "test_fix.py__test_it.pulse")
    assert {"set_up", "body", "tear_down"} <= everything


def test_directory_format_and_a_test_that_changes_directory(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        test_cd="""
        import os

        def test_moves(tmp_path, monkeypatch):
            monkeypatch.chdir(tmp_path)
        """
    )
    run(inner, "--pulsetrace=out/traces", "--pulsetrace-format=json").assert_outcomes(passed=1)
    assert not (inner.path / ".pulsetrace").exists()
    trace = json.loads((inner.path / "out" / "traces" / "test_cd.py__test_moves.json").read_text())
    assert any(event.get("name", "").startswith("test_moves (") for event in trace["traceEvents"])
    run(inner, "--pulsetrace=out/traces", "--pulsetrace-format=.collapsed").assert_outcomes(passed=1)
    assert files_in(inner.path / "out" / "traces") == [
        "test_cd.py__test_moves.collapsed",
        "test_cd.py__test_moves.json",
    ]


def test_without_the_flags_the_plugin_does_nothing(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        test_quiet="""
        import sys

        def test_nothing_imported():
            for name in ("pulsetrace.pytest_tracing", "pulsetrace.writers", "pulsetrace.config"):
                assert name not in sys.modules, name
        """
    )
    result = run(inner, "--pulsetrace-format=json", "--pulsetrace-option", "log_gc")
    result.assert_outcomes(passed=1)
    assert our_lines(result) == []
    pytesters = ("stdout", "stderr", "runpytest-")  # what pytester itself leaves there
    assert [name for name in files_in(inner.path) if not name.startswith(pytesters)] == ["test_quiet.py"]


# -- session mode ---------------------------------------------------------------------------------------


def test_one_trace_for_the_session(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_mod=MODULE)
    result = run(inner, "--pulsetrace-session")
    result.assert_outcomes(passed=3)
    assert files_in(inner.path / ".pulsetrace") == ["session.pulse"]
    assert {"test_one", "TestA.test_b", "helper"} <= slice_names(inner.path / ".pulsetrace" / "session.pulse")
    (line,) = our_lines(result)
    assert re.fullmatch(
        r"pulsetrace: wrote \d+ calls \([\d.]+ (B|KiB|MiB)\) to \.pulsetrace/session\.pulse", line
    )
    run(inner, "--pulsetrace-session=elsewhere/all.json").assert_outcomes(passed=3)
    trace = json.loads((inner.path / "elsewhere" / "all.json").read_text())
    assert any(event.get("name", "").startswith("test_one (") for event in trace["traceEvents"])


# -- a test with its own tracer -------------------------------------------------------------------------


def test_a_test_with_its_own_tracer_gets_none_and_passes(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_own=OWN_TRACER)
    result = run(inner, "--pulsetrace", "--pulsetrace-phases=all")
    result.assert_outcomes(passed=3)
    assert files_in(inner.path / ".pulsetrace") == ["test_own.py__test_after.pulse"]
    own = "it started a pulsetrace Tracer of its own"
    assert our_lines(result)[1:] == [
        f"pulsetrace: no trace for test_own.py::test_own: {own}",
        f"pulsetrace: no trace for test_own.py::test_fixture_tracer: {own}",
    ]
    session = run(inner, "--pulsetrace-session")
    session.assert_outcomes(passed=3)
    assert (inner.path / ".pulsetrace" / "session.pulse").exists()
    assert our_lines(session)[1:] == [f"pulsetrace: the session trace ends at test_own.py::test_own: {own}"]


# -- tracing options ------------------------------------------------------------------------------------


def test_tracing_options_from_the_flag_and_pyproject(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_mod=MODULE)
    run(inner, "--pulsetrace", "--pulsetrace-option", "ignore_c_function=true").assert_outcomes(passed=3)

    def c_functions(path: Path) -> List[str]:
        process = read_trace(path).process()
        return [name for kind, name, *_ in process.functions if kind == FUNC_C and name in slice_names(path)]

    with_c = inner.path / ".pulsetrace" / "test_mod.py__test_one.pulse"
    assert c_functions(with_c) == []
    inner.makefile(
        ".toml", pyproject='[tool.pulsetrace]\nexclude_files = ["elsewhere"]\noutput = "no.json"\n'
    )
    run(inner, "--pulsetrace", "--pulsetrace-option", "max_stack_depth=1").assert_outcomes(passed=3)
    assert "helper" not in slice_names(with_c)  # max_stack_depth from the flag
    assert not (inner.path / "no.json").exists()  # output comes from the plugin's flags only
    bad = run(inner, "--pulsetrace", "--pulsetrace-option", "include_files=src")
    assert bad.ret == USAGE_ERROR  # pyproject's exclude_files and the flag's include_files
    bad.stderr.fnmatch_lines(["*include_files and exclude_files cannot be combined*"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--pulsetrace-option", "ignore_c_function=maybe"], "*bad value for ignore_c_function*'maybe'*"),
        (["--pulsetrace-option", "ignore_c_func=1"], "*unknown option*did you mean 'ignore_c_function'*"),
        (["--pulsetrace-option", "max_stack_depth"], "*max_stack_depth needs a value*"),
        (["--pulsetrace-option", "output=x.json"], "*output cannot be set with --pulsetrace-option*"),
        (["--pulsetrace-format=docx"], "*--pulsetrace-format: unknown format 'docx' (known: *pulse*)"),
        (["--pulsetrace-session"], "*--pulsetrace and --pulsetrace-session cannot be combined*"),
        (["--pulsetrace", "test_mod.py"], "*write --pulsetrace=test_mod.py*after the test paths"),
    ],
)
def test_usage_errors(inner: pytest.Pytester, args: List[str], message: str) -> None:
    inner.makepyfile(test_mod=MODULE)
    flag = [] if args[0] == "--pulsetrace" else ["--pulsetrace"]
    check_usage_error(run(inner, *flag, *args), message)
    assert not (inner.path / ".pulsetrace").exists()


@pytest.mark.parametrize(
    "file, message",
    [("trace.docx", "*cannot tell the output format of 'trace.docx'*"), ("-", "*name a file")],
)
def test_usage_errors_of_the_session_file(inner: pytest.Pytester, file: str, message: str) -> None:
    inner.makepyfile(test_mod=MODULE)
    check_usage_error(run(inner, f"--pulsetrace-session={file}"), message)


def check_usage_error(result: pytest.RunResult, message: str) -> None:
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: " + message])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


# -- loading --------------------------------------------------------------------------------------------


def test_the_entry_point_loads_it_and_no_turns_it_off(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = inner.mkdir("site")
    info = site / "pulsetrace_plugin_check-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pulsetrace-plugin-check\nVersion: 0\n")
    (info / "entry_points.txt").write_text("[pytest11]\npulsetrace = pulsetrace.pytest_plugin\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ["PYTHONPATH"]]))
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    inner.makepyfile(test_mod=MODULE)
    args = ("-p", "no:cacheprovider")
    inner.runpytest_subprocess(*args, "--pulsetrace", timeout=120).assert_outcomes(passed=3)
    assert len(files_in(inner.path / ".pulsetrace")) == 3
    off = inner.runpytest_subprocess(*args, "-p", "no:pulsetrace", "--pulsetrace=x", timeout=120)
    assert off.ret == USAGE_ERROR  # the flag is unknown without the plugin
    inner.runpytest_subprocess(*args, "-p", "no:pulsetrace", timeout=120).assert_outcomes(passed=3)
    assert not (inner.path / "x").exists()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib")
def test_pyproject_declares_the_entry_point() -> None:
    import tomllib

    with open(SRC.parent / "pyproject.toml", "rb") as file:
        project = tomllib.load(file)["project"]
    assert project["entry-points"]["pytest11"] == {"pulsetrace": "pulsetrace.pytest_plugin"}


# -- file names -----------------------------------------------------------------------------------------


def test_file_names_are_readable_safe_and_distinct() -> None:
    assert safe_stem("tests/test_x.py::TestA::test_b[param-1]") == "tests_test_x.py__TestA__test_b[param-1]"
    unsafe = safe_stem('test_x.py::test[a b:"c"*é]')
    assert re.fullmatch(r"test_x\.py__test\[a_b__c___]-[0-9a-f]{10}", unsafe), unsafe
    long = safe_stem("test_x.py::test[" + "v" * 400 + "]")
    assert len(long) == MAX_STEM + 11 and long.startswith("test_x.py__test[vvv")
    assert safe_stem(".hidden/test.py::t").startswith("_hidden")
    names = TraceNames(".pulse")
    ids = ["a/b.py::t", "a_b.py::t", "t.py::T", "t.py::t", "t.py::t[é]", "t.py::t[ü]", "a/b.py::t"]
    given: Dict[str, str] = {}
    for nodeid in ids:
        given[nodeid] = names.name_for(nodeid)
    assert len(set(name.casefold() for name in given.values())) == len(set(ids))
    assert given["a/b.py::t"] == "a_b.py__t.pulse"  # first come keeps the plain name, on every call
    assert given["a_b.py::t"].startswith("a_b.py__t-")


# -- the tracer giving way ------------------------------------------------------------------------------


def test_a_tracer_that_gives_way_stops_when_another_starts() -> None:
    import pulsetrace

    tool = pulsetrace.Tracer(gives_way=True).start()
    own = pulsetrace.Tracer()
    try:
        own.start()
        assert not tool.running and pulsetrace.running_tracer() is own
        assert tool.trace.processes  # what it had recorded is kept
        with pytest.raises(pulsetrace.TracerError, match="another pulsetrace Tracer is already recording"):
            pulsetrace.Tracer(gives_way=True).start()  # only the one recording can give way
    finally:
        for tracer in (own, tool):
            if tracer.running:
                tracer.stop()
