"""Which functions are recorded: the per-code-object verdict both cores ask for once per function.

A core calls ``CodeFilter.__call__(code)`` the first time it meets a code object and keeps the
answer (code objects do not move between files):

- ``RECORD``: the function's slices are recorded;
- ``SKIP``: its slices are not recorded, and neither are the C functions it calls directly; Python
  functions it calls are judged on their own (so a callback into an included file shows up);
- ``HIDE``: neither it nor anything it calls, directly or not, is recorded in that thread until it
  returns (its whole subtree is cut out of the timeline).

The rule for files (documented in the README):
- ``include_files``: a function is recorded when its file is inside one of the given paths,
  directories or glob patterns; every other Python function is SKIPped, so an included function is
  recorded again wherever it is called from;
- ``exclude_files``: a function whose file matches is HIDden with everything it calls;
- giving both is an error (``FilterError``);
- ``ignore_frozen``: frozen modules (``<frozen importlib._bootstrap>``) are SKIPped;
- ``@pulsetrace.ignore_function``: the decorated function is HIDden, in the calling thread only.
"""

from __future__ import annotations

import fnmatch
import inspect
import os
from types import CodeType, ModuleType
from typing import (
    AbstractSet,
    Any,
    Callable,
    FrozenSet,
    Iterable,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
    TypeVar,
)

RECORD = 0
SKIP = 1
HIDE = 2

F = TypeVar("F", bound=Callable[..., Any])


class FilterError(ValueError):
    """Options that cannot be combined or understood (both include_files and exclude_files, ...)."""


_hidden_codes: Set[CodeType] = set()


def ignore_function(func: F) -> F:
    """Decorator: calls of ``func``, and everything they call, are not recorded (in that thread only).

    The function is returned unchanged, so it costs nothing when nothing is tracing; other threads
    keep being traced while one thread is inside it.
    """
    code = getattr(func, "__code__", None)
    if not isinstance(code, CodeType):
        raise TypeError(f"ignore_function needs a Python function, not {type(func).__name__}")
    _hidden_codes.add(code)
    return func


def hidden_codes() -> Set[CodeType]:
    """The live set of @ignore_function codes: a filter keeps this set, not a copy, so a function
    decorated while a Tracer records (``pulsetrace run`` starts recording before the program defines
    anything) is hidden from its first call on."""
    return _hidden_codes


def module_code_objects(modules: Iterable[ModuleType]) -> FrozenSet[CodeType]:
    """Every code object defined in these modules: their functions, methods (static, class, property
    getters) and everything nested in them (closures, comprehensions). Pulsetrace's own collectors use
    it to recognise their code, which must never show in what they record."""
    pending: List[CodeType] = []
    for module in modules:
        for value in list(vars(module).values()):
            members = list(vars(value).values()) if isinstance(value, type) else [value]
            for member in members:
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if isinstance(member, property):
                    member = member.fget
                if getattr(member, "__module__", None) == module.__name__ and inspect.isfunction(member):
                    pending.append(member.__code__)
    found: Set[CodeType] = set()
    while pending:
        code = pending.pop()
        if code not in found:
            found.add(code)
            pending.extend(const for const in code.co_consts if isinstance(const, CodeType))
    return frozenset(found)


def is_frozen_file(filename: str) -> bool:
    return filename.startswith("<frozen ") and filename.endswith(">")


class PathPattern:
    """One include/exclude entry: a file, a directory (everything under it) or a glob pattern."""

    def __init__(self, spec: str, base: str) -> None:
        self.spec = spec
        expanded = os.path.expanduser(spec)
        self.is_glob = any(ch in expanded for ch in "*?[")
        absolute = expanded if os.path.isabs(expanded) else os.path.join(base, expanded)
        self.path = os.path.normpath(absolute)

    def matches(self, filename: str) -> bool:
        if self.is_glob:
            return fnmatch.fnmatchcase(filename, self.path)
        return filename == self.path or filename.startswith(self.path.rstrip(os.sep) + os.sep)


def _patterns(specs: Sequence[str], base: str) -> List[PathPattern]:
    return [PathPattern(spec, base) for spec in specs]


class CodeFilter:
    """The verdict for each code object under one set of options (see the module docstring)."""

    def __init__(
        self,
        *,
        include_files: Sequence[str] = (),
        exclude_files: Sequence[str] = (),
        ignore_frozen: bool = False,
        hidden: Iterable[CodeType] = (),
        base: Optional[str] = None,
    ) -> None:
        if include_files and exclude_files:
            raise FilterError("include_files and exclude_files cannot be combined: give one of them")
        base = os.getcwd() if base is None else base
        self.include = _patterns(include_files, base)
        self.exclude = _patterns(exclude_files, base)
        self.ignore_frozen = ignore_frozen
        # A set is kept as it is (the live @ignore_function registry); anything else is copied.
        self.hidden: AbstractSet[CodeType] = hidden if isinstance(hidden, (set, frozenset)) else set(hidden)
        self._by_file = bool(self.include or self.exclude or self.ignore_frozen)

    def __call__(self, code: CodeType) -> int:
        if code in self.hidden:
            return HIDE
        if not self._by_file:
            return RECORD
        filename = code.co_filename
        if is_frozen_file(filename):
            if self.ignore_frozen:
                return SKIP
            return RECORD if not self.include else SKIP
        path = _absolute(filename)
        if self.include:
            return RECORD if any(p.matches(path) for p in self.include) else SKIP
        if self.exclude and any(p.matches(path) for p in self.exclude):
            return HIDE
        return RECORD


def _absolute(filename: str) -> str:
    if filename.startswith("<"):
        return filename  # <string>, <stdin>, <frozen ...>: match only as given
    return os.path.normpath(os.path.abspath(filename))


def describe(verdict: int) -> str:
    return {RECORD: "record", SKIP: "skip", HIDE: "hide"}[verdict]


def parse_file_list(value: Any) -> Tuple[str, ...]:
    """A list of paths from an option value (a string or a list of strings)."""
    if isinstance(value, str):
        return (value,)
    return tuple(str(item) for item in value)
