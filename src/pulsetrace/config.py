"""Where the tracing options of a ``pulsetrace run`` come from, and which source wins.

Three sources, in rising priority (a later one overrides an earlier one, option by option):

1. ``[tool.pulsetrace]`` in the nearest ``pyproject.toml``: the first one found in the current
   directory or one of its parents, up to the filesystem root. The search stops at that first
   file even if it has no ``[tool.pulsetrace]`` table, so a nested project never picks up the
   settings of the project around it.
2. The environment: ``PULSETRACE_OUTPUT`` names the output file (an empty value counts as unset).
   (``PULSETRACE_CORE`` and ``PULSETRACE_BACKEND`` are read by ``pulsetrace.cores`` when neither
   the command line nor the code chose a core or backend.)
3. The command line: ``--max-stack-depth 5`` and so on (``pulsetrace.cli.run``).

Every option has the same name in all three (``pulsetrace.options.OPTIONS``). ``core`` and
``backend`` cannot be set in ``pyproject.toml``: they depend on the machine and the interpreter
(``backend = "monitoring"`` cannot work on Python 3.11), not on the project.

Relative paths are relative to where they were written: in ``pyproject.toml``, ``include_files``,
``exclude_files`` and ``output`` are relative to the directory of that file; on the command line
and in the environment, to the current directory. They are made absolute while loading (an output
path given on the command line or in the environment is kept as given for messages, and made
absolute by the session before the program starts), so the program changing directory later
changes nothing. Glob patterns are anchored the same way: ``"src/*.py"`` in pyproject.toml means
that directory's ``src``.

An unknown key, a bad value or a ``pyproject.toml`` that is not valid TOML raises ``ConfigError``,
whose message names the key and the source (file and table, variable, or flag).
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .options import OptionError, TraceOptions, convert, spec_for

PYPROJECT = "pyproject.toml"
TABLE = "tool.pulsetrace"
OUTPUT_VARIABLE = "PULSETRACE_OUTPUT"
DEFAULT_OUTPUT = "result.html"  # the standalone viewer; -o picks any other format

# Options that pyproject.toml may not set, and where to set them instead.
NOT_IN_PYPROJECT: Dict[str, str] = {
    "core": "it depends on the machine; use --core or PULSETRACE_CORE",
    "backend": "it depends on the interpreter; use --backend or PULSETRACE_BACKEND",
}


class ConfigError(OptionError):
    """An option source pulsetrace cannot use: unknown key, bad value, unreadable pyproject.toml."""


@dataclass(frozen=True)
class Setting:
    """One option value as a source gave it, before conversion."""

    name: str
    value: Any
    source: str  # for messages: "/p/pyproject.toml, table [tool.pulsetrace]", "--max-stack-depth", ...
    base: Optional[str] = None  # directory that relative paths are relative to (None: the current one)


@dataclass
class Sources:
    """The settings of every source, lowest priority first."""

    pyproject: Optional[str] = None  # the pyproject.toml that was read (None: none found)
    settings: List[Setting] = field(default_factory=list)


# -- pyproject.toml -----------------------------------------------------------------------------------


def find_pyproject(start: Optional[str] = None) -> Optional[str]:
    """The nearest pyproject.toml: in ``start`` (default: the current directory) or a parent of it."""
    directory = os.path.abspath(start if start is not None else os.getcwd())
    while True:
        candidate = os.path.join(directory, PYPROJECT)
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:  # the filesystem root
            return None
        directory = parent


def table_source(path: str) -> str:
    return f"{path}, table [{TABLE}]"


def _toml_module() -> Any:
    """tomllib (3.11+) or tomli, imported only when there is a file to read."""
    name = "tomllib" if sys.version_info >= (3, 11) else "tomli"
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ConfigError(
            f"cannot read {PYPROJECT}: Python {sys.version_info[0]}.{sys.version_info[1]} needs the "
            "'tomli' package for that (pip install tomli)"
        ) from None


def read_pyproject(path: str) -> List[Setting]:
    """The settings of ``[tool.pulsetrace]`` in ``path`` (none if the table is absent)."""
    toml = _toml_module()
    try:
        with open(path, "rb") as file:
            document = toml.load(file)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except toml.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    tool = document.get("tool", {})
    table = tool.get("pulsetrace") if isinstance(tool, dict) else None
    if table is None:
        return []
    source = table_source(path)
    if not isinstance(table, dict):
        raise ConfigError(f"[{TABLE}] in {path} must be a table of options, not {type(table).__name__}")
    base = os.path.dirname(path)
    settings = []
    for name, value in table.items():
        spec_for(name, source)  # unknown key: an error with a did-you-mean
        if name in NOT_IN_PYPROJECT:
            raise ConfigError(f"{name} cannot be set in {source}: {NOT_IN_PYPROJECT[name]}")
        settings.append(Setting(name, value, source, base))
    return settings


# -- the environment ----------------------------------------------------------------------------------


def environment_settings(environ: Optional[Mapping[str, str]] = None) -> List[Setting]:
    """The options set through environment variables (only the output file)."""
    environ = os.environ if environ is None else environ
    value = environ.get(OUTPUT_VARIABLE, "")
    if not value:
        return []
    return [Setting("output", value, f"environment variable {OUTPUT_VARIABLE}")]


# -- all of them --------------------------------------------------------------------------------------


def gather(
    command_line: Sequence[Setting] = (),
    *,
    cwd: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
    use_pyproject: bool = True,
) -> Sources:
    """Every setting from every source, lowest priority first."""
    sources = Sources()
    if use_pyproject:
        sources.pyproject = find_pyproject(cwd)
        if sources.pyproject is not None:
            sources.settings.extend(read_pyproject(sources.pyproject))
    sources.settings.extend(environment_settings(environ))
    sources.settings.extend(command_line)
    return sources


def merge(settings: Sequence[Setting], *, cwd: Optional[str] = None) -> TraceOptions:
    """TraceOptions from settings given lowest priority first; the rules between options checked last."""
    cwd = os.path.abspath(cwd if cwd is not None else os.getcwd())
    options = TraceOptions()
    for setting in settings:
        value = convert(spec_for(setting.name, setting.source), setting.value, setting.source)
        value = _resolve_paths(setting.name, value, setting.base, cwd)
        options = options.replaced({setting.name: value}, {setting.name: setting.source})
    options.check()
    return options


def load_options(
    command_line: Sequence[Setting] = (),
    *,
    cwd: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
    use_pyproject: bool = True,
) -> TraceOptions:
    """The options of a run: pyproject.toml, then the environment, then ``command_line``.

    Raises ConfigError naming the key and its source for anything that cannot be used.
    """
    try:
        sources = gather(command_line, cwd=cwd, environ=environ, use_pyproject=use_pyproject)
        return merge(sources.settings, cwd=cwd)
    except ConfigError:
        raise
    except OptionError as exc:
        raise ConfigError(str(exc)) from None


def _resolve_paths(name: str, value: Any, base: Optional[str], cwd: str) -> Any:
    """Relative paths made absolute against the directory of their source (globs stay globs).

    An output path from the command line or the environment is kept as given (the run's messages
    show it that way; the session makes it absolute before the program runs).
    """
    if name in ("include_files", "exclude_files"):
        return tuple(_absolute(path, base or cwd) for path in value)
    if name == "output" and base is not None and value not in (None, "-"):
        return _absolute(value, base)
    return value


def _absolute(path: str, base: str) -> str:
    expanded = os.path.expanduser(path)
    return os.path.normpath(os.path.join(base, expanded))


def settings_in_effect(cwd: Optional[str] = None) -> Tuple[Optional[str], Dict[str, Tuple[Any, str]]]:
    """For ``--help``: the pyproject.toml found, and {option: (value, where)} for what it or the
    environment sets (``where``: "pyproject.toml" or the variable's name). Empty, never an error,
    when they cannot be read: the run itself says why."""
    try:
        sources = gather(cwd=cwd)
    except (OptionError, OSError, ValueError):
        return None, {}
    return sources.pyproject, {
        setting.name: (setting.value, PYPROJECT if setting.base is not None else OUTPUT_VARIABLE)
        for setting in sources.settings
    }
