"""Options from pyproject.toml, the environment and the command line (pulsetrace.config, in process).

Discovery, priority, relative paths and every error path, each error checked for the key and the
source it names. The end-to-end runs of the real command line are in test_cli_options.py.
"""

from __future__ import annotations

import argparse
import os
import textwrap
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from pulsetrace import config
from pulsetrace.cli.main import build_parser, main
from pulsetrace.cli.run import RunCommand, command_line_settings, flag, split_command_line
from pulsetrace.config import ConfigError, Setting, find_pyproject, load_options
from pulsetrace.options import OPTIONS, OptionError, TraceOptions
from pulsetrace.session import TraceSession


def _pyproject(directory: Path, body: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "pyproject.toml"
    path.write_text(textwrap.dedent(body).lstrip("\n"))
    return path


def _load(
    cwd: Path, cli: Optional[List[Setting]] = None, env: Optional[Dict[str, str]] = None
) -> TraceOptions:
    return load_options(cli or [], cwd=str(cwd), environ=env or {})


def _parser() -> argparse.ArgumentParser:
    _, parsers = build_parser([RunCommand()])
    return parsers["run"]


def _cli(words: List[str]) -> List[Setting]:
    """The command-line settings of ``pulsetrace run WORDS prog.py``."""
    parser = _parser()
    options, target = split_command_line(parser, [*words, "prog.py"])
    assert target is not None and target.value == "prog.py", (options, target)
    return command_line_settings(parser.parse_args(options))


def _table(path: Path) -> str:
    return f"{path}, table [tool.pulsetrace]"


# -- discovery ----------------------------------------------------------------------------------------


def test_nearest_pyproject_in_the_directory_or_a_parent(tmp_path: Path) -> None:
    outer = _pyproject(tmp_path, "[tool.pulsetrace]\nmax_stack_depth = 3\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_pyproject(str(deep)) == str(outer)
    assert _load(deep).max_stack_depth == 3
    inner = _pyproject(tmp_path / "a", "[tool.pulsetrace]\nmax_stack_depth = 7\n")
    assert find_pyproject(str(deep)) == str(inner)
    assert _load(deep).max_stack_depth == 7


def test_the_nearest_pyproject_counts_even_without_the_table(tmp_path: Path) -> None:
    """A nested project does not inherit the settings of the project around it."""
    _pyproject(tmp_path, "[tool.pulsetrace]\nmax_stack_depth = 3\n")
    inner = _pyproject(tmp_path / "nested", "[project]\nname = 'nested'\n")
    assert find_pyproject(str(tmp_path / "nested")) == str(inner)
    assert _load(tmp_path / "nested") == TraceOptions()


def test_search_stops_at_the_filesystem_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    looked: List[str] = []

    def isfile(path: str) -> bool:
        looked.append(path)
        return False

    monkeypatch.setattr(config.os.path, "isfile", isfile)
    start = tmp_path / "x" / "y"
    assert find_pyproject(str(start)) is None
    assert looked[0] == str(start / "pyproject.toml")
    assert looked[-1] == os.path.join(os.path.abspath(os.sep), "pyproject.toml")
    assert len(looked) == len(start.parts)


def test_the_current_directory_is_the_default_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _pyproject(tmp_path, "[tool.pulsetrace]\nlog_args = true\n")
    monkeypatch.chdir(tmp_path)
    assert find_pyproject() == str(path)
    options = load_options([], environ={})
    assert options.log_args and options.sources["log_args"] == _table(path)


def test_a_directory_named_pyproject_toml_is_not_a_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").mkdir()
    found = find_pyproject(str(tmp_path))
    assert found is None or not found.startswith(str(tmp_path))


# -- every option, its value, its source --------------------------------------------------------------


def test_every_kind_of_value_from_pyproject(tmp_path: Path) -> None:
    path = _pyproject(
        tmp_path,
        """
        [tool.pulsetrace]
        output = "traces/run.pulse"
        max_stack_depth = 12
        exclude_files = ["vendor", "/abs/lib.py"]
        ignore_c_function = true
        ignore_frozen = true
        min_duration = "0.2ms"
        log_args = true
        log_retval = true
        repr_limit = 40
        log_print = true
        log_exceptions = true
        log_gc = true
        trace_only = false
        process_name = "worker"
        """,
    )
    options = _load(tmp_path)
    assert options == TraceOptions(
        output=str(tmp_path / "traces" / "run.pulse"),
        max_stack_depth=12,
        exclude_files=(str(tmp_path / "vendor"), "/abs/lib.py"),
        ignore_c_function=True,
        ignore_frozen=True,
        min_duration=200_000,
        log_args=True,
        log_retval=True,
        repr_limit=40,
        log_print=True,
        log_exceptions=True,
        log_gc=True,
        process_name="worker",
    )
    assert set(options.sources.values()) == {_table(path)}


def test_a_bare_number_of_microseconds(tmp_path: Path) -> None:
    _pyproject(tmp_path, "[tool.pulsetrace]\nmin_duration = 50\n")
    assert _load(tmp_path).min_duration == 50_000
    _pyproject(tmp_path, "[tool.pulsetrace]\nmin_duration = 2.5\n")
    assert _load(tmp_path).min_duration == 2_500


def test_a_single_path_may_be_a_string(tmp_path: Path) -> None:
    _pyproject(tmp_path, '[tool.pulsetrace]\ninclude_files = "src"\n')
    assert _load(tmp_path).include_files == (str(tmp_path / "src"),)


# -- priority: pyproject.toml < environment < command line ------------------------------------------


def test_priority(tmp_path: Path) -> None:
    path = _pyproject(tmp_path, '[tool.pulsetrace]\noutput = "from_file.json"\nmax_stack_depth = 4\n')
    options = _load(tmp_path)
    assert options.output == str(tmp_path / "from_file.json")
    assert options.sources["output"] == _table(path)

    env = {"PULSETRACE_OUTPUT": "from_env.pulse"}
    options = _load(tmp_path, env=env)
    assert options.output == "from_env.pulse"
    assert options.sources["output"] == "environment variable PULSETRACE_OUTPUT"
    assert options.max_stack_depth == 4  # untouched options keep their pyproject value

    options = _load(tmp_path, _cli(["-o", "from_cli.json", "--max-stack-depth", "9"]), env)
    assert (options.output, options.max_stack_depth) == ("from_cli.json", 9)
    assert options.sources["output"] == "command-line option -o/--output"
    assert options.sources["max_stack_depth"] == "command-line option --max-stack-depth"


def test_an_empty_environment_variable_is_unset(tmp_path: Path) -> None:
    _pyproject(tmp_path, '[tool.pulsetrace]\noutput = "kept.json"\n')
    assert _load(tmp_path, env={"PULSETRACE_OUTPUT": ""}).output == str(tmp_path / "kept.json")


def test_the_command_line_turns_a_pyproject_switch_off(tmp_path: Path) -> None:
    _pyproject(tmp_path, "[tool.pulsetrace]\nlog_args = true\nignore_c_function = true\n")
    options = _load(tmp_path, _cli(["--no-log-args"]))
    assert (options.log_args, options.ignore_c_function) == (False, True)


def test_a_command_line_list_replaces_the_pyproject_list(tmp_path: Path) -> None:
    _pyproject(tmp_path, '[tool.pulsetrace]\ninclude_files = ["src"]\n')
    options = _load(tmp_path, _cli(["--include-files", "lib"]))
    assert options.include_files == (str(tmp_path / "lib"),)
    # '' clears the list, so the other list can be given on the command line
    options = _load(tmp_path, _cli(["--include-files", "", "--exclude-files", "tests"]))
    assert options.include_files == () and options.exclude_files == (str(tmp_path / "tests"),)


def test_include_and_exclude_from_two_sources_name_both(tmp_path: Path) -> None:
    path = _pyproject(tmp_path, '[tool.pulsetrace]\ninclude_files = ["src"]\n')
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, _cli(["--exclude-files", "tests"]))
    message = str(caught.value)
    assert "include_files and exclude_files cannot be combined" in message
    assert _table(path) in message and "--exclude-files" in message


# -- the command line ---------------------------------------------------------------------------------


def test_one_flag_per_option() -> None:
    """Generated from OPTIONS: no option lacks its flag, no flag has another name."""
    actions = _parser()._option_string_actions
    for spec in OPTIONS:
        assert flag(spec.name) in actions, spec.name
        assert actions[flag(spec.name)].dest == spec.name
    assert actions["-o"].dest == "output"


@pytest.mark.parametrize(
    "words, name, value",
    [
        (["--include-files", "a"], "include_files", ["a"]),
        (["--include-files", "a", "--include-files", "b"], "include_files", ["a", "b"]),
        (["--include-files", "a,b", "--include-files=c"], "include_files", ["a", "b", "c"]),
        (["--exclude-files", ""], "exclude_files", []),
        (["--max-stack-depth", "3"], "max_stack_depth", "3"),
        (["--min-duration=50us"], "min_duration", "50us"),
        (["--ignore-c-function"], "ignore_c_function", True),
        (["--no-ignore-frozen"], "ignore_frozen", False),
        (["--core", "python"], "core", "python"),
        (["-o", "t.pulse"], "output", "t.pulse"),
        (["--process-name", "job 1"], "process_name", "job 1"),
    ],
)
def test_flags_give_settings(words: List[str], name: str, value: Any) -> None:
    settings = _cli(words)
    assert [(s.name, s.value) for s in settings] == [(name, value)]


def test_file_lists_do_not_swallow_the_script() -> None:
    """One path per flag: the next word after it is the program (documented in --help)."""
    parser = _parser()
    options, target = split_command_line(parser, ["--include-files", "src", "prog.py", "x"])
    assert options == ["--include-files", "src"]
    assert target is not None and (target.value, list(target.args)) == ("prog.py", ["x"])
    options, target = split_command_line(parser, ["--log-args", "--no-log-gc", "-m", "pkg"])
    assert options == ["--log-args", "--no-log-gc"] and target is not None and target.value == "pkg"


def test_no_flag_no_setting() -> None:
    assert _cli([]) == []


def test_command_line_paths_are_relative_to_the_current_directory(tmp_path: Path) -> None:
    _pyproject(tmp_path, "")
    work = tmp_path / "work"
    work.mkdir()
    options = _load(work, _cli(["--exclude-files", "gen/*.py", "-o", "out/t.json"]))
    assert options.exclude_files == (str(work / "gen" / "*.py"),)
    assert options.output == "out/t.json"  # kept as given for messages; the session makes it absolute


# -- relative paths in pyproject.toml -----------------------------------------------------------------


def test_pyproject_paths_are_relative_to_its_directory(tmp_path: Path) -> None:
    _pyproject(
        tmp_path,
        """
        [tool.pulsetrace]
        include_files = ["src", "scripts/*.py", "../shared", "/opt/abs.py"]
        output = "traces/t.json"
        """,
    )
    deep = tmp_path / "src" / "pkg"
    deep.mkdir(parents=True)
    options = _load(deep)
    assert options.include_files == (
        str(tmp_path / "src"),
        str(tmp_path / "scripts" / "*.py"),
        str(tmp_path.parent / "shared"),
        "/opt/abs.py",
    )
    assert options.output == str(tmp_path / "traces" / "t.json")


def test_output_dash_means_standard_output(tmp_path: Path) -> None:
    _pyproject(tmp_path, '[tool.pulsetrace]\noutput = "-"\n')
    assert _load(tmp_path).output == "-"


# -- errors: each names the key and the source --------------------------------------------------------


@pytest.mark.parametrize(
    "body, key, detail",
    [
        ("max_stack_deph = 3", "max_stack_deph", "did you mean 'max_stack_depth'?"),
        ("max-stack-depth = 3", "max-stack-depth", "did you mean 'max_stack_depth'?"),
        ("verbose = true", "verbose", "unknown option"),
        ('min_duration = "fast"', "min_duration", "'fast' is not a duration"),
        ("min_duration = -1", "min_duration", "is negative"),
        ("min_duration = true", "min_duration", "not a duration"),
        ('max_stack_depth = "deep"', "max_stack_depth", "'deep' is not a whole number"),
        ("max_stack_depth = 2.5", "max_stack_depth", "is not a whole number"),
        ("max_stack_depth = -1", "max_stack_depth", "too small"),
        ("repr_limit = 0", "repr_limit", "too small"),
        ('log_args = "maybe"', "log_args", "is not true or false"),
        ("log_args = 1", "log_args", "is not true or false"),
        ("include_files = 5", "include_files", "is not a list of paths"),
        ("include_files = [1, 2]", "include_files", "is not a list of paths"),
        ("output = 3", "output", "is not a string"),
        ('core = "c"', "core", "cannot be set in"),
        ('backend = "setprofile"', "backend", "cannot be set in"),
        ("[tool.pulsetrace.extra]\nx = 1", "extra", "unknown option"),
    ],
)
def test_bad_pyproject_settings(tmp_path: Path, body: str, key: str, detail: str) -> None:
    path = _pyproject(tmp_path, "[tool.pulsetrace]\n" + body + "\n")
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path)
    message = str(caught.value)
    assert repr(key) in message or f"for {key} " in message or message.startswith(f"{key} "), message
    assert _table(path) in message and detail in message
    assert "\n" not in message


def test_core_and_backend_say_where_they_can_be_set(tmp_path: Path) -> None:
    _pyproject(tmp_path, '[tool.pulsetrace]\ncore = "python"\n')
    with pytest.raises(ConfigError, match="use --core or PULSETRACE_CORE"):
        _load(tmp_path)


def test_pyproject_that_is_not_toml(tmp_path: Path) -> None:
    path = _pyproject(tmp_path, "[tool.pulsetrace\nmax_stack_depth = 3\n")
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{path} is not valid TOML: ") and "line 1" in message


def test_pyproject_table_that_is_not_a_table(tmp_path: Path) -> None:
    path = _pyproject(tmp_path, "[tool]\npulsetrace = 5\n")
    with pytest.raises(ConfigError, match=r"\[tool.pulsetrace\] in .* must be a table"):
        _load(tmp_path)
    assert str(path)


def test_other_tables_are_not_read(tmp_path: Path) -> None:
    _pyproject(tmp_path, '[project]\nname = "x"\n[tool.other]\nmax_stack_depth = "nonsense"\n')
    assert _load(tmp_path) == TraceOptions()


@pytest.mark.parametrize(
    "words, key, flag_text, detail",
    [
        (["--min-duration", "fast"], "min_duration", "--min-duration", "'fast' is not a duration"),
        (["--max-stack-depth", "x"], "max_stack_depth", "--max-stack-depth", "'x' is not a whole number"),
        (["--repr-limit", "0"], "repr_limit", "--repr-limit", "too small"),
    ],
)
def test_bad_command_line_values(
    tmp_path: Path, words: List[str], key: str, flag_text: str, detail: str
) -> None:
    _pyproject(tmp_path, "")
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, _cli(words))
    message = str(caught.value)
    assert message.startswith(f"bad value for {key} (in command-line option {flag_text}): ")
    assert detail in message


def test_config_error_is_an_option_error() -> None:
    assert issubclass(ConfigError, OptionError)


# -- --help -------------------------------------------------------------------------------------------


def test_help_groups_options_and_shows_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _pyproject(tmp_path, "")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PULSETRACE_OUTPUT", raising=False)
    assert main(["run", "--help"]) == 0
    text = capsys.readouterr().out
    groups = ["output:", "what is recorded:", "arguments and return values:", "extra events on the timeline:"]
    positions = [text.index("\n" + group) for group in [*groups, "recording engine:"]]
    assert positions == sorted(positions)
    flat = " ".join(text.split())
    assert "--max-stack-depth N" in flat and "(default: no limit)" in flat
    assert "(default: result.html)" in flat and "(default: 100)" in flat
    assert "--ignore-c-function, --no-ignore-c-function" in flat
    assert "now " not in flat


def test_help_shows_what_pyproject_and_environment_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _pyproject(tmp_path, '[tool.pulsetrace]\nmax_stack_depth = 6\nexclude_files = ["a", "b"]\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PULSETRACE_OUTPUT", "env.pulse")
    assert main(["run", "--help"]) == 0
    flat = " ".join(capsys.readouterr().out.split())
    assert "(default: no limit; now 6 from pyproject.toml)" in flat
    assert "now a,b from pyproject.toml" in flat
    assert "now env.pulse from PULSETRACE_OUTPUT" in flat
    assert f"{path} [tool.pulsetrace]" in flat


def test_help_works_with_a_broken_pyproject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _pyproject(tmp_path, "[tool.pulsetrace\n")
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--help"]) == 0
    assert "--max-stack-depth" in capsys.readouterr().out


# -- the session hands the options to the Tracer ------------------------------------------------------


def test_session_builds_the_tracer_from_the_options(tmp_path: Path) -> None:
    options = TraceOptions(max_stack_depth=3, log_args=True, output=str(tmp_path / "o.json"))
    session = TraceSession(options=options)
    assert session.output == str(tmp_path / "o.json")
    tracer = session._make_tracer()
    assert tracer.options == options
    assert TraceSession().output == "result.html"
    session = TraceSession("given.json", options=options, core="python")
    assert session.output == "given.json" and session.options.core == "python"
    assert session._make_tracer().options.max_stack_depth == 3
