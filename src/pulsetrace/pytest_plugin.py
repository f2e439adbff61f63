"""The pytest plugin: ``pytest --pulsetrace`` traces each test, ``--pulsetrace-session`` the whole run.

Registered through the ``pytest11`` entry point, so installing pulsetrace is enough (``-p
no:pulsetrace`` turns it off). This module only adds the command-line options and, when one of the
two flags is given, checks the others and registers the tracing plugin (``pytest_tracing``).
Without them it does nothing else: no hook runs per test, and neither the tracing hooks, the
configuration loader nor the writers are imported (importing this module imports the ``pulsetrace``
package, as ``import pulsetrace`` does, and that is all).

Any mistake on the command line (a bad format, a tracing option with a bad value) is a usage error
from pytest, before any test runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Sequence

import pytest

if TYPE_CHECKING:
    from .config import Setting
    from .options import TraceOptions
    from .pytest_tracing import TracingPlan

DEFAULT_DIRECTORY = ".pulsetrace"
DEFAULT_FORMAT = "pulse"
SESSION_NAME = "session"
OPTION_FLAG = "--pulsetrace-option"
PHASE_CHOICES = {"call": ("call",), "all": ("setup", "call", "teardown")}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pulsetrace", "tracing tests with pulsetrace")
    group.addoption(
        "--pulsetrace",
        dest="pulsetrace_dir",
        nargs="?",
        const=DEFAULT_DIRECTORY,
        default=None,
        metavar="DIR",
        help=f"write a trace of each test to DIR (default: {DEFAULT_DIRECTORY}), one file per test named "
        "after its node id; give DIR as --pulsetrace=DIR",
    )
    group.addoption(
        "--pulsetrace-session",
        dest="pulsetrace_session",
        nargs="?",
        const="",
        default=None,
        metavar="FILE",
        help=f"write one trace of the whole session to FILE (default: {DEFAULT_DIRECTORY}/{SESSION_NAME}"
        f".{DEFAULT_FORMAT}; the format follows its extension); give FILE as --pulsetrace-session=FILE",
    )
    group.addoption(
        "--pulsetrace-format",
        dest="pulsetrace_format",
        default=None,
        metavar="EXT",
        help=f"the format of the traces, by file extension: {DEFAULT_FORMAT} (default), json, json.gz, "
        "pstats, collapsed, speedscope.json, ...",
    )
    group.addoption(
        "--pulsetrace-phases",
        dest="pulsetrace_phases",
        choices=sorted(PHASE_CHOICES),
        default="call",
        help="what the trace of a test covers: the test itself (call, the default) or its setup and "
        "teardown (fixtures) too (all)",
    )
    group.addoption(
        OPTION_FLAG,
        dest="pulsetrace_options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a tracing option by its name, as in [tool.pulsetrace], e.g. ignore_c_function=true, "
        "include_files=src (repeatable)",
    )


def pytest_configure(config: pytest.Config) -> None:
    directory = config.getoption("pulsetrace_dir")
    session_file = config.getoption("pulsetrace_session")
    if directory is None and session_file is None:
        return
    plan = plan_from(config)
    from .pytest_tracing import PerTestTracing, SessionTracing

    plugin = PerTestTracing(plan) if plan.directory is not None else SessionTracing(plan)
    config.pluginmanager.register(plugin, "pulsetrace-tracing")


def plan_from(config: pytest.Config) -> TracingPlan:
    """What the command line asks for; pytest.UsageError for anything that cannot work."""
    from .options import OptionError
    from .pytest_tracing import TracingPlan
    from .writers import OutputError, choose_writer, known_extensions

    directory = config.getoption("pulsetrace_dir")
    session_file = config.getoption("pulsetrace_session")
    if directory is not None and session_file is not None:
        raise pytest.UsageError("--pulsetrace and --pulsetrace-session cannot be combined: give one of them")
    args = config.invocation_params.args
    _refuse_space_form(args, "--pulsetrace", directory)
    _refuse_space_form(args, "--pulsetrace-session", session_file)
    base = Path(config.invocation_params.dir)  # tests may chdir; the traces go where pytest started
    given_format = config.getoption("pulsetrace_format")
    extension = "." + (given_format or DEFAULT_FORMAT).strip().lstrip(".").lower()
    if extension not in known_extensions():
        known = ", ".join(ext.lstrip(".") for ext in known_extensions())
        raise pytest.UsageError(f"--pulsetrace-format: unknown format {given_format!r} (known: {known})")
    try:
        options = tracing_options(config.getoption("pulsetrace_options"), str(base))
    except OptionError as exc:
        raise pytest.UsageError(str(exc)) from None
    phases = PHASE_CHOICES[config.getoption("pulsetrace_phases")]
    if directory is not None:
        path = base / os.path.expanduser(directory)
        if path.exists() and not path.is_dir():
            raise pytest.UsageError(f"--pulsetrace={directory}: that is a file, not a directory")
        return TracingPlan(options, phases, extension, directory=path, shown=directory)
    shown = session_file or f"{DEFAULT_DIRECTORY}/{SESSION_NAME}{extension}"
    if shown == "-":
        raise pytest.UsageError(
            "--pulsetrace-session=-: pytest's report goes to standard output; name a file"
        )
    path = base / os.path.expanduser(shown)
    try:
        choose_writer(shown)  # (the format is in the name: messages show it as the user gave it)
    except OutputError as exc:
        raise pytest.UsageError(f"--pulsetrace-session: {exc}") from None
    if path.is_dir():
        raise pytest.UsageError(f"--pulsetrace-session={session_file}: that is a directory")
    return TracingPlan(options, phases, extension, session_file=path, shown=shown)


def _refuse_space_form(args: Sequence[str], flag: str, value: object) -> None:
    """``pytest --pulsetrace tests/`` would take tests/ as the output directory (argparse reads an
    optional value that way) and write traces among the tests: ask for ``--pulsetrace=DIR``."""
    for word, following in zip(args, args[1:]):
        if word == flag and following == value:
            raise pytest.UsageError(
                f"{flag} reads {following!r} as where to write the traces: to mean that, write "
                f"{flag}={following}; otherwise put {flag} after the test paths"
            )


def tracing_options(items: Sequence[str], cwd: str) -> TraceOptions:
    """TraceOptions from ``[tool.pulsetrace]`` in the nearest pyproject.toml and the ``KEY=VALUE``
    items (which win), as ``pulsetrace run`` reads them; OptionError names a bad key and its source.

    ``output`` is not taken from anywhere (PULSETRACE_OUTPUT included): the plugin names its files.
    """
    from .config import gather, merge

    command_line = option_settings(items)
    settings = [setting for setting in gather(command_line, cwd=cwd).settings if setting.name != "output"]
    return merge(settings, cwd=cwd)


def option_settings(items: Sequence[str]) -> List[Setting]:
    """One Setting per option named in ``--pulsetrace-option KEY=VALUE`` items.

    A bare ``KEY`` means true (for on/off options); a file list may be given in several items or
    separated by commas, as on ``pulsetrace run``'s command line.
    """
    from .config import Setting
    from .options import OptionError, spec_for

    values: Dict[str, object] = {}
    sources: Dict[str, str] = {}
    for item in items:
        key, equals, value = item.partition("=")
        name = key.strip().replace("-", "_")
        source = f"{OPTION_FLAG} {item}"
        spec = spec_for(name, source)
        if name == "output":
            raise OptionError(
                f"output cannot be set with {OPTION_FLAG}: the traces go to --pulsetrace=DIR "
                "or --pulsetrace-session=FILE"
            )
        if not equals:
            if spec.kind != "bool":
                raise OptionError(f"{name} needs a value: {OPTION_FLAG} {name}=VALUE")
            value = "true"
        if spec.kind == "files":
            paths = values.setdefault(name, [])
            assert isinstance(paths, list)
            paths.extend(path for path in value.split(",") if path)
        else:
            values[name] = value
        sources[name] = source
    return [Setting(name, value, sources[name]) for name, value in values.items()]
