"""The tracing options: one definition shared by ``Tracer(...)``, the command line and pyproject.toml.

Every option has the same name everywhere: ``Tracer(max_stack_depth=5)``, ``--max-stack-depth 5``
and ``max_stack_depth = 5`` under ``[tool.pulsetrace]``. ``OPTIONS`` describes each one (kind,
default, purpose group, help); ``TraceOptions`` holds validated values. A bad value raises
``OptionError`` naming the option, so every source reports it the same way.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field, fields, replace
from typing import Any, Dict, Mapping, Optional, Tuple

from .reprs import DEFAULT_REPR_LIMIT


class OptionError(ValueError):
    """A tracing option with an unknown name or a value it cannot take."""


@dataclass(frozen=True)
class OptionSpec:
    name: str
    kind: str  # "bool", "int", "duration", "seconds", "files", "str", "choice"
    group: str  # what the option is for, as --help groups them
    help: str
    choices: Tuple[str, ...] = ()


GROUP_FILTERS = "what is recorded"
GROUP_EVENTS = "extra events on the timeline"
GROUP_VALUES = "arguments and return values"
GROUP_LINES = "line statistics (the heatmap)"
GROUP_CORE = "recording engine"
GROUP_OUTPUT = "output"

OPTIONS: Tuple[OptionSpec, ...] = (
    OptionSpec("output", "str", GROUP_OUTPUT, "where to save the trace; the format follows the extension"),
    OptionSpec(
        "max_stack_depth",
        "int",
        GROUP_FILTERS,
        "record calls at most N deep per thread; deeper calls and what they call are not recorded",
    ),
    OptionSpec(
        "include_files",
        "files",
        GROUP_FILTERS,
        "record only functions in these files, directories or glob patterns",
    ),
    OptionSpec(
        "exclude_files",
        "files",
        GROUP_FILTERS,
        "do not record functions in these files, directories or glob patterns, nor what they call",
    ),
    OptionSpec("ignore_c_function", "bool", GROUP_FILTERS, "do not record C functions (builtins, C methods)"),
    OptionSpec(
        "ignore_frozen",
        "bool",
        GROUP_FILTERS,
        "do not record functions of frozen modules (importlib's bootstrap)",
    ),
    OptionSpec(
        "min_duration",
        "duration",
        GROUP_FILTERS,
        "drop calls shorter than this, e.g. 50us, 0.2ms (a bare number is microseconds)",
    ),
    OptionSpec(
        "trace_only",
        "bool",
        GROUP_FILTERS,
        "sparse mode: record only functions decorated with @pulsetrace.trace_only",
    ),
    OptionSpec(
        "trace_children",
        "bool",
        GROUP_FILTERS,
        "also trace the program's Python child processes (os.fork, multiprocessing, subprocess, os.exec*, "
        "os.system; through shells and #! scripts too) into "
        "the same trace; --no-children (or --no-trace-children) records the program's own process only",
    ),
    OptionSpec(
        "children_timeout",
        "seconds",
        GROUP_FILTERS,
        "when the program ends, wait at most this many seconds for child processes still running "
        "(pool workers, daemons) before saving without them",
    ),
    OptionSpec("log_args", "bool", GROUP_VALUES, "record repr() of the arguments of Python calls"),
    OptionSpec("log_retval", "bool", GROUP_VALUES, "record repr() of the return values of Python calls"),
    OptionSpec("repr_limit", "int", GROUP_VALUES, "cut each recorded repr() to this many characters"),
    OptionSpec("log_print", "bool", GROUP_EVENTS, "record every print() as an instant (output is unchanged)"),
    OptionSpec("log_exceptions", "bool", GROUP_EVENTS, "record every raised exception as an instant"),
    OptionSpec("log_gc", "bool", GROUP_EVENTS, "record garbage collections as slices"),
    OptionSpec(
        "lines",
        "bool",
        GROUP_LINES,
        "also record each source line's hits, self and total time, and the calls each line makes",
    ),
    OptionSpec(
        "line_detail",
        "choice",
        GROUP_LINES,
        "which files keep every line: project (default; the standard library and site-packages are "
        "summarised per function) or all",
        ("project", "all"),
    ),
    OptionSpec(
        "core", "choice", GROUP_CORE, "the core that records (default: c if it was built)", ("c", "python")
    ),
    OptionSpec(
        "backend",
        "choice",
        GROUP_CORE,
        "the interpreter hook (default: monitoring on Python 3.12+, setprofile before)",
        ("monitoring", "setprofile"),
    ),
    OptionSpec("process_name", "str", GROUP_OUTPUT, "the name of this process in the trace"),
)
OPTION_NAMES = tuple(spec.name for spec in OPTIONS)
SPECS: Dict[str, OptionSpec] = {spec.name: spec for spec in OPTIONS}


@dataclass(frozen=True)
class TraceOptions:
    """Validated tracing options (see OPTIONS for what each does)."""

    output: Optional[str] = None
    max_stack_depth: Optional[int] = None  # None: unlimited
    include_files: Tuple[str, ...] = ()
    exclude_files: Tuple[str, ...] = ()
    ignore_c_function: bool = False
    ignore_frozen: bool = False
    min_duration: int = 0  # nanoseconds
    trace_only: bool = False
    trace_children: bool = True
    children_timeout: float = 5.0  # seconds
    log_args: bool = False
    log_retval: bool = False
    repr_limit: int = DEFAULT_REPR_LIMIT
    log_print: bool = False
    log_exceptions: bool = False
    log_gc: bool = False
    lines: bool = False
    line_detail: str = "project"
    core: Optional[str] = None
    backend: Optional[str] = None
    process_name: Optional[str] = None
    sources: Dict[str, str] = field(default_factory=dict, compare=False)  # option -> where it was set

    @classmethod
    def from_values(cls, values: Mapping[str, Any], source: str = "") -> TraceOptions:
        """Options from raw values (strings from a command line, TOML values, Python values)."""
        return cls().updated(values, source)

    def updated(self, values: Mapping[str, Any], source: str = "", *, check: bool = True) -> TraceOptions:
        """These options with ``values`` (validated) taking priority.

        ``check=False`` leaves the rules between options (``check()``) to the caller, for one that
        merges several sources and checks once at the end.
        """
        converted: Dict[str, Any] = {}
        for name, raw in values.items():
            converted[name] = convert(spec_for(name, source), raw, source)
        merged = self.replaced(converted, {name: source for name in converted})
        if check:
            merged.check(source)
        return merged

    def replaced(self, converted: Mapping[str, Any], sources: Mapping[str, str]) -> TraceOptions:
        """These options with values that are already converted (no validation), and their sources."""
        merged = replace(self, **converted)
        all_sources = dict(self.sources)
        all_sources.update(sources)
        object.__setattr__(merged, "sources", all_sources)
        return merged

    def check(self, source: str = "") -> None:
        """Rules that involve several options."""
        if self.include_files and self.exclude_files:
            include = self.sources.get("include_files", "")
            exclude = self.sources.get("exclude_files", source)
            if include and exclude and include != exclude:
                where = f" (include_files in {include}, exclude_files in {exclude})"
            else:
                where = _where(exclude or include)
            raise OptionError(f"include_files and exclude_files cannot be combined{where}: give one of them")
        if self.lines and self.log_exceptions and sys.version_info < (3, 12):
            raise OptionError(
                "lines and log_exceptions cannot be combined before Python 3.12 (both need the trace hook): "
                "give one of them"
            )

    def as_dict(self) -> Dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "sources"}


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ns|us|µs|ms|s)?\s*$")
_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000, None: 1_000}


def parse_duration(text: str) -> int:
    """``50us``, ``0.2ms``, ``1s``, ``300ns`` or a bare number of microseconds, in nanoseconds."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration (examples: 50us, 0.2ms, 1s)")
    return round(float(match.group(1)) * _UNIT_NS[match.group(2)])


def convert(spec: OptionSpec, raw: Any, source: str = "") -> Any:
    """The value of one option from a raw value; OptionError names the option and the source."""
    try:
        return _convert(spec, raw)
    except (TypeError, ValueError) as exc:
        raise OptionError(f"bad value for {spec.name}{_where(source)}: {exc}") from None


def _convert(spec: OptionSpec, raw: Any) -> Any:
    kind = spec.kind
    if raw is None and kind in ("str", "choice", "int"):
        return None
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        word = raw.strip().lower() if isinstance(raw, str) else None
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise ValueError(f"{raw!r} is not true or false")
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, (int, str)):
            raise ValueError(f"{raw!r} is not a whole number")
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not a whole number") from None
        if value < (0 if spec.name == "max_stack_depth" else 1):
            raise ValueError(f"{value} is too small")
        return value
    if kind == "duration":
        if isinstance(raw, bool):
            raise ValueError(f"{raw!r} is not a duration (examples: 50us, 0.2ms, 1s)")
        if isinstance(raw, (int, float)):
            if raw < 0:
                raise ValueError(f"{raw!r} is negative")
            return round(raw * 1_000)
        if isinstance(raw, str):
            return parse_duration(raw)
        raise ValueError(f"{raw!r} is not a duration (examples: 50us, 0.2ms, 1s)")
    if kind == "seconds":
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise ValueError(f"{raw!r} is not a number of seconds")
        try:
            seconds = float(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not a number of seconds") from None
        if not seconds >= 0 or seconds == float("inf"):  # also refuses nan
            raise ValueError(f"{raw!r} is not a number of seconds from 0 up")
        return seconds
    if kind == "files":
        if isinstance(raw, str):
            return (raw,) if raw else ()
        if isinstance(raw, (list, tuple)) and all(isinstance(item, str) for item in raw):
            return tuple(raw)
        raise ValueError(f"{raw!r} is not a list of paths")
    if kind == "choice":
        if raw not in spec.choices:
            raise ValueError(f"{raw!r} is not one of: {', '.join(spec.choices)}")
        return raw
    if not isinstance(raw, str):
        raise ValueError(f"{raw!r} is not a string")
    return raw


def spec_for(name: str, source: str = "") -> OptionSpec:
    """The description of option ``name``; OptionError (with a did-you-mean) if there is none."""
    spec = SPECS.get(name)
    if spec is None:
        raise OptionError(_unknown(name, source))
    return spec


def _where(source: str) -> str:
    return f" (in {source})" if source else ""


def _unknown(name: str, source: str) -> str:
    import difflib

    close = difflib.get_close_matches(name.replace("-", "_"), OPTION_NAMES, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown option {name!r}{_where(source)}{hint}"
