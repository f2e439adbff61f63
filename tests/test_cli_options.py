"""Tracing options through the real command line: `pulsetrace run` in a subprocess on small programs.

Each flag is checked by its effect on the written trace (read back from the native .pulse file), or,
for options whose effect belongs to other parts (custom events), by the value the running Tracer
got. pyproject.toml and PULSETRACE_OUTPUT are checked the same way, with the command line winning.

The tests marked "recorded by the cores" need the cores' filters (max_stack_depth, include/exclude
files, ignore_c_function, min_duration); the others test only configuration.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from helpers_cli import Result, cores_available, run_pulsetrace, summary_of, write
from pulsetrace.events import FUNC_C, FUNC_PYTHON
from pulsetrace.model.native import read_trace
from pulsetrace.recording import FunctionInfo

CORES = cores_available()

# Prints the options of the Tracer that records it (the program runs in pulsetrace's process).
PROBE = """
    import json, pulsetrace
    tracer = pulsetrace.running_tracer()
    print(json.dumps(tracer.options.as_dict() if tracer is not None else None))
"""


@dataclass
class Call:
    function: FunctionInfo
    depth: int  # 1 = outermost recorded slice of its thread
    duration_ns: int


def recorded_calls(path: Path) -> List[Call]:
    """Every slice of a .pulse trace with its nesting depth and duration."""
    process = read_trace(path).process()
    calls: List[Call] = []
    for thread in process.threads:
        stack: List[int] = []  # index in calls of each open slice, and its entry time
        starts: List[int] = []
        for event in thread.events():
            if event.is_enter:
                stack.append(len(calls))
                starts.append(event.ns)
                calls.append(Call(process.functions[event.func], len(stack), 0))
            else:
                index, start = stack.pop(), starts.pop()
                calls[index].duration_ns = event.ns - start
    return calls


def names(calls: List[Call], kind: Optional[int] = None) -> List[str]:
    return [call.function.name for call in calls if kind is None or call.function.kind == kind]


def project(tmp_path: Path, pyproject: str = "") -> Path:
    """A project directory with its own pyproject.toml, so no file around the test's leaks in."""
    write(tmp_path / "pyproject.toml", pyproject)
    return tmp_path


def probe(result: Result) -> Dict[str, Any]:
    assert result.returncode == 0, result.stderr
    options = json.loads(result.stdout.splitlines()[-1])
    assert isinstance(options, dict)
    return options


# -- every flag reaches the Tracer --------------------------------------------------------------------


def test_every_flag_reaches_the_tracer(tmp_path: Path) -> None:
    write(project(tmp_path) / "probe.py", PROBE)
    flags = [
        "--max-stack-depth", "7",
        "--exclude-files", "vendor,gen/*.py",
        "--exclude-files", "/abs/x.py",
        "--ignore-c-function",
        "--ignore-frozen",
        "--no-trace-children",
        "--children-timeout", "2.5",
        "--min-duration", "0.2ms",
        "--log-args",
        "--log-retval",
        "--repr-limit", "33",
        "--log-print",
        "--log-exceptions",
        "--log-gc",
        "--line-detail", "all",  # --lines is not combined with --log-exceptions before 3.12
        "--core", "python",
        "--process-name", "probe job",
        "-o", "t.pulse",
    ]  # fmt: skip
    options = probe(run_pulsetrace(["run", *flags, "probe.py"], tmp_path))
    assert options == {
        "output": "t.pulse",
        "max_stack_depth": 7,
        "include_files": [],
        "exclude_files": [str(tmp_path / "vendor"), str(tmp_path / "gen" / "*.py"), "/abs/x.py"],
        "ignore_c_function": True,
        "ignore_frozen": True,
        "min_duration": 200_000,
        "trace_only": False,
        "trace_children": False,
        "children_timeout": 2.5,
        "log_args": True,
        "log_retval": True,
        "repr_limit": 33,
        "log_print": True,
        "log_exceptions": True,
        "log_gc": True,
        "lines": False,
        "line_detail": "all",
        "core": "python",
        "backend": None,
        "process_name": "probe job",
    }
    assert (tmp_path / "t.pulse").exists()
    assert read_trace(tmp_path / "t.pulse").process().name == "probe job"


def test_defaults_reach_the_tracer(tmp_path: Path) -> None:
    write(project(tmp_path) / "probe.py", PROBE)
    options = probe(run_pulsetrace(["run", "probe.py"], tmp_path))
    assert options["max_stack_depth"] is None and options["log_args"] is False
    assert options["min_duration"] == 0 and options["repr_limit"] == 100
    assert (tmp_path / "result.html").exists()  # the default output


def test_children_flags_and_their_pyproject_keys(tmp_path: Path) -> None:
    project(tmp_path, "[tool.pulsetrace]\nchildren_timeout = 0.5\ntrace_children = false\n")
    write(tmp_path / "probe.py", PROBE)
    options = probe(run_pulsetrace(["run", "probe.py"], tmp_path))
    assert options["children_timeout"] == 0.5 and options["trace_children"] is False
    options = probe(run_pulsetrace(["run", "--children", "--children-timeout", "3", "probe.py"], tmp_path))
    assert options["children_timeout"] == 3.0 and options["trace_children"] is True
    options = probe(run_pulsetrace(["run", "--trace-children", "--no-children", "probe.py"], tmp_path))
    assert options["trace_children"] is False
    bad = run_pulsetrace(["run", "--children-timeout", "-1", "probe.py"], tmp_path)
    assert bad.returncode == 2 and bad.stderr.splitlines()[-1] == (
        "pulsetrace: error: bad value for children_timeout (in command-line option --children-timeout): "
        "'-1' is not a number of seconds from 0 up"
    )


def test_trace_only_and_backend_reach_the_tracer(tmp_path: Path) -> None:
    write(project(tmp_path) / "probe.py", PROBE)
    options = probe(run_pulsetrace(["run", "--trace-only", "--backend", "setprofile", "probe.py"], tmp_path))
    assert options["trace_only"] is True and options["backend"] == "setprofile"


# -- pyproject.toml, the environment and the command line -------------------------------------------


def test_pyproject_applies_and_the_command_line_overrides(tmp_path: Path) -> None:
    project(
        tmp_path,
        """
        [tool.pulsetrace]
        max_stack_depth = 2
        log_args = true
        min_duration = "1ms"
        include_files = ["src"]
        """,
    )
    write(tmp_path / "probe.py", PROBE)
    options = probe(run_pulsetrace(["run", "probe.py"], tmp_path))
    assert (options["max_stack_depth"], options["log_args"], options["min_duration"]) == (2, True, 1_000_000)
    assert options["include_files"] == [str(tmp_path / "src")]
    words = ["--max-stack-depth", "5", "--no-log-args", "--include-files", "", "--exclude-files", "x"]
    options = probe(run_pulsetrace(["run", *words, "probe.py"], tmp_path))
    assert (options["max_stack_depth"], options["log_args"], options["min_duration"]) == (5, False, 1_000_000)
    assert options["include_files"] == [] and options["exclude_files"] == [str(tmp_path / "x")]


def test_pyproject_is_found_from_a_subdirectory(tmp_path: Path) -> None:
    project(tmp_path, '[tool.pulsetrace]\ninclude_files = ["lib"]\noutput = "traces/t.json"\n')
    (tmp_path / "traces").mkdir()
    write(tmp_path / "sub" / "probe.py", PROBE)
    result = run_pulsetrace(["run", "probe.py"], tmp_path / "sub")
    options = probe(result)
    assert options["include_files"] == [str(tmp_path / "lib")]  # relative to the pyproject.toml
    assert (tmp_path / "traces" / "t.json").exists()
    assert summary_of(result).group(3) == str(tmp_path / "traces" / "t.json")


def test_output_from_each_source(tmp_path: Path) -> None:
    project(tmp_path, '[tool.pulsetrace]\noutput = "from_file.json"\n')
    write(tmp_path / "prog.py", "print('ran')\n")
    assert run_pulsetrace(["run", "prog.py"], tmp_path).returncode == 0
    assert (tmp_path / "from_file.json").exists()
    env = {"PULSETRACE_OUTPUT": "from_env.pulse"}
    result = run_pulsetrace(["run", "prog.py"], tmp_path, env=env)
    assert summary_of(result).group(3) == "from_env.pulse" and (tmp_path / "from_env.pulse").exists()
    result = run_pulsetrace(["run", "-o", "from_cli.json.gz", "prog.py"], tmp_path, env=env)
    assert summary_of(result).group(3) == "from_cli.json.gz" and (tmp_path / "from_cli.json.gz").exists()


# -- errors: one line, exit status 2, before the program runs ------------------------------------------

RAN = "open('ran', 'w').close()\nprint('the program ran')\n"


@pytest.mark.parametrize(
    "pyproject, words, env, expected",
    [
        (
            "[tool.pulsetrace]\nmax_depth = 3\n",
            [],
            {},
            ["unknown option 'max_depth'", "pyproject.toml, table [tool.pulsetrace]", "'max_stack_depth'?"],
        ),
        (
            '[tool.pulsetrace]\nmin_duration = "fast"\n',
            [],
            {},
            ["bad value for min_duration", "pyproject.toml, table [tool.pulsetrace]", "'fast'"],
        ),
        ("[tool.pulsetrace\n", [], {}, ["pyproject.toml is not valid TOML", "line 1"]),
        ('[tool.pulsetrace]\ncore = "c"\n', [], {}, ["core cannot be set in", "--core"]),
        ("", ["--min-duration", "fast"], {}, ["bad value for min_duration", "--min-duration", "'fast'"]),
        ("", ["--max-stack-depth", "-2"], {}, ["bad value for max_stack_depth", "--max-stack-depth"]),
        (
            '[tool.pulsetrace]\ninclude_files = ["a"]\n',
            ["--exclude-files", "b"],
            {},
            ["include_files and exclude_files cannot be combined", "pyproject.toml", "--exclude-files"],
        ),
        ("", [], {"PULSETRACE_OUTPUT": "trace.txt"}, ["cannot tell the output format"]),
    ],
)
def test_bad_configuration_stops_before_the_program(
    tmp_path: Path, pyproject: str, words: List[str], env: Dict[str, str], expected: List[str]
) -> None:
    project(tmp_path, pyproject)
    write(tmp_path / "prog.py", RAN)
    result = run_pulsetrace(["run", *words, "prog.py"], tmp_path, env=env)
    assert result.returncode == 2
    assert result.stdout == "" and not (tmp_path / "ran").exists()
    assert result.stderr.startswith("pulsetrace: error: ") and result.stderr.count("\n") == 1, result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr
    assert not (tmp_path / "result.html").exists()


def test_missing_flag_value_is_a_usage_error(tmp_path: Path) -> None:
    write(project(tmp_path) / "prog.py", RAN)
    result = run_pulsetrace(["run", "--max-stack-depth"], tmp_path)
    assert result.returncode == 2 and "argument --max-stack-depth: expected one argument" in result.stderr
    assert not (tmp_path / "ran").exists()


# -- effects on the trace (recorded by the cores) ------------------------------------------------------

RECURSE = """
    def down(n):
        return down(n - 1) if n else len("x")
    down(20)
"""

TWO_FILES = {
    "main.py": """
        import json
        from lib import helper
        def local():
            return helper.work(3)
        print(json.dumps(local()))
    """,
    "lib/__init__.py": "",
    "lib/helper.py": """
        def inner(x):
            return sorted([x, 1])
        def work(n):
            return [inner(i) for i in range(n)]
    """,
}

DURATIONS = """
    import time
    def quick():
        return 1
    def slow():
        time.sleep(0.03)
    for _ in range(50):
        quick()
    slow()
"""


def _write_two_files(root: Path) -> None:
    for name, source in TWO_FILES.items():
        write(root / name, source)


def _traced(tmp_path: Path, core: str, words: List[str], script: str = "prog.py") -> List[Call]:
    result = run_pulsetrace(["run", "--core", core, "-o", "t.pulse", *words, script], tmp_path)
    assert result.returncode == 0, result.stderr
    return recorded_calls(tmp_path / "t.pulse")


@pytest.mark.parametrize("core", CORES)
def test_max_stack_depth(tmp_path: Path, core: str) -> None:
    write(project(tmp_path) / "prog.py", RECURSE)
    calls = _traced(tmp_path, core, ["--max-stack-depth", "3"])
    assert max(call.depth for call in calls) == 3
    assert names(calls).count("down") == 2  # <module>, down, down; the rest is cut
    assert "builtins.len" not in names(calls)
    unlimited = _traced(tmp_path, core, [])
    assert names(unlimited).count("down") == 21 and "builtins.len" in names(unlimited)


@pytest.mark.parametrize("core", CORES)
def test_include_files(tmp_path: Path, core: str) -> None:
    _write_two_files(project(tmp_path))
    calls = _traced(tmp_path, core, ["--include-files", "lib"], "main.py")
    python = [call.function for call in calls if call.function.kind == FUNC_PYTHON]
    # (the <module> code of lib/__init__.py and lib/helper.py is in the included files too)
    assert {"work", "inner"} <= {f.name for f in python} and "local" not in names(calls)
    assert all(f.filename.startswith(str(tmp_path / "lib") + "/") for f in python), python
    assert names(calls).count("inner") == 3
    # C functions called directly from included functions are recorded; those of skipped ones are not
    assert "builtins.sorted" in names(calls, FUNC_C) and "json.dumps" not in names(calls)


@pytest.mark.parametrize("core", CORES)
def test_include_files_from_pyproject_relative_to_it(tmp_path: Path, core: str) -> None:
    _write_two_files(project(tmp_path, '[tool.pulsetrace]\ninclude_files = ["lib/helper.py"]\n'))
    (tmp_path / "elsewhere").mkdir()
    result = run_pulsetrace(["run", "--core", core, "-o", "t.pulse", "../main.py"], tmp_path / "elsewhere")
    assert result.returncode == 0, result.stderr
    calls = recorded_calls(tmp_path / "elsewhere" / "t.pulse")
    python = [call.function for call in calls if call.function.kind == FUNC_PYTHON]
    assert {"work", "inner"} <= {f.name for f in python}
    assert {f.filename for f in python} == {str(tmp_path / "lib" / "helper.py")}


@pytest.mark.parametrize("core", CORES)
def test_exclude_files(tmp_path: Path, core: str) -> None:
    _write_two_files(project(tmp_path))
    calls = _traced(tmp_path, core, ["--exclude-files", "lib"], "main.py")
    recorded = names(calls)
    assert "local" in recorded and "<module>" in recorded
    assert not {"work", "inner", "builtins.sorted"} & set(recorded)  # and nothing they call


@pytest.mark.parametrize("core", CORES)
def test_ignore_c_function(tmp_path: Path, core: str) -> None:
    write(project(tmp_path) / "prog.py", RECURSE)
    calls = _traced(tmp_path, core, ["--ignore-c-function"])
    assert names(calls, FUNC_C) == []
    assert names(calls).count("down") == 21


@pytest.mark.parametrize("core", CORES)
def test_ignore_c_function_from_pyproject_and_its_override(tmp_path: Path, core: str) -> None:
    write(project(tmp_path, "[tool.pulsetrace]\nignore_c_function = true\n") / "prog.py", RECURSE)
    assert names(_traced(tmp_path, core, []), FUNC_C) == []
    assert "builtins.len" in names(_traced(tmp_path, core, ["--no-ignore-c-function"]), FUNC_C)


@pytest.mark.parametrize("core", CORES)
def test_min_duration(tmp_path: Path, core: str) -> None:
    write(project(tmp_path) / "prog.py", DURATIONS)
    calls = _traced(tmp_path, core, ["--min-duration", "10ms"])
    recorded = names(calls)
    assert "quick" not in recorded and "slow" in recorded and "<module>" in recorded
    assert all(call.duration_ns >= 10_000_000 for call in calls if call.function.name in ("slow", "<module>"))
    assert names(_traced(tmp_path, core, [])).count("quick") == 50
