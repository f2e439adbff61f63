"""Which source files the live view traces: selectors, each a callable that takes a path.

``pulsetrace.live(files=...)`` and ``pulsetrace live`` take one of these (or any callable of your
own that takes an absolute path and returns a bool). A selector is asked once per file; the answer
is kept, so a selector may read the file.

>>> import pulsetrace
>>> pulsetrace.live(files=pulsetrace.files.path_contains("myapp/", "tools/"))
"""

from __future__ import annotations

import os
import re
import threading
from functools import lru_cache
from typing import Callable, Dict, Iterable, Optional, Pattern, Union

from ..filegroups import PROJECT, FileGrouper

FileSelector = Callable[[str], bool]

# The marker comment that opts a file in under the default selector: a comment that says only
# "pulsetrace" ("# pulsetrace", "#pulsetrace"), alone on its line or after code.
MARKER = re.compile(r"#[ \t]*pulsetrace[ \t]*$", re.MULTILINE)
_MAX_READ = 4 * 1024 * 1024  # a file this big is not searched for the marker


def is_source_file(path: str) -> bool:
    """Whether ``path`` names a real file (not ``<string>``, ``<frozen ...>`` or a vanished file)."""
    return bool(path) and not path.startswith("<") and os.path.isfile(path)


def read_text(path: str) -> Optional[str]:
    """The text of a source file, or None if it cannot be read (binary, gone, too big)."""
    try:
        if os.path.getsize(path) > _MAX_READ:
            return None
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def _all(path: str) -> bool:
    return is_source_file(path)


all = _all  # noqa: A001 - the public name, as in ``pulsetrace.files.all``


def path_contains(*substrings: str) -> FileSelector:
    """Files whose absolute path contains any of ``substrings``."""
    if not substrings:
        raise ValueError("path_contains() needs at least one substring")
    wanted = tuple(os.path.normcase(s) for s in substrings)

    def select(path: str) -> bool:
        normal = os.path.normcase(os.path.abspath(path))
        return is_source_file(path) and any(s in normal for s in wanted)

    select.__qualname__ = f"path_contains{substrings!r}"
    return select


def contains_regex(pattern: Union[str, Pattern[str]]) -> FileSelector:
    """Files whose text contains a match of ``pattern`` (a regular expression, searched with re.search)."""
    compiled = re.compile(pattern) if isinstance(pattern, str) else pattern

    def select(path: str) -> bool:
        if not is_source_file(path):
            return False
        text = read_text(path)
        return text is not None and compiled.search(text) is not None

    select.__qualname__ = f"contains_regex({compiled.pattern!r})"
    return select


def marked() -> FileSelector:
    """Files that contain the marker comment ``# pulsetrace`` (spaces optional)."""
    return contains_regex(MARKER)


def any_of(*selectors: FileSelector) -> FileSelector:
    """Files that any of ``selectors`` selects."""

    def select(path: str) -> bool:
        return any(selector(path) for selector in selectors)

    return select


def the_file(filename: str) -> FileSelector:
    """Exactly one file."""
    wanted = os.path.normcase(os.path.abspath(filename))

    def select(path: str) -> bool:
        return os.path.normcase(os.path.abspath(path)) == wanted and is_source_file(path)

    return select


def project(root: Optional[str] = None) -> FileSelector:
    """The project's own files: under ``root`` (default: the script's directory), not the standard
    library, not site-packages."""
    grouper = FileGrouper(root)

    def select(path: str) -> bool:
        return is_source_file(path) and grouper.group(path) == PROJECT

    return select


def default_for_caller(calling_file: str) -> FileSelector:
    """What ``pulsetrace.live()`` traces by default: the calling file and the files with the marker."""
    return any_of(the_file(calling_file), marked())


class FileSet:
    """Remembers a selector's answer for every file name it was asked about, and gives each selected
    file a short id: the server names files by these ids only, never by a path from a request."""

    def __init__(self, selector: FileSelector, exclude_dirs: Iterable[str] = ()) -> None:
        """``exclude_dirs``: directories whose files are never selected (pulsetrace's own)."""
        self._selector = selector
        self._excluded = tuple(os.path.join(os.path.normcase(os.path.abspath(d)), "") for d in exclude_dirs)
        self._ids: Dict[str, str] = {}
        self._paths: Dict[str, str] = {}
        self._cached = lru_cache(maxsize=None)(self._decide)
        self._lock = threading.Lock()  # ids are handed out from the server's threads

    def _decide(self, filename: str) -> bool:
        if not filename or filename.startswith("<"):
            return False
        if self._excluded and os.path.normcase(os.path.abspath(filename)).startswith(self._excluded):
            return False
        try:
            return bool(self._selector(filename))
        except Exception:  # a selector of the user's that fails selects nothing: the program goes on
            return False

    def __contains__(self, filename: object) -> bool:
        return isinstance(filename, str) and self._cached(filename)

    def file_id(self, filename: str) -> Optional[str]:
        """The id of a selected file (given on first use), None if the file is not selected."""
        found = self._ids.get(filename)
        if found is not None:
            return found
        if filename not in self:
            return None
        with self._lock:
            if filename not in self._ids:
                new_id = f"f{len(self._ids) + 1}"
                self._ids[filename] = new_id
                self._paths[new_id] = filename
            return self._ids[filename]

    def path_of(self, file_id: str) -> Optional[str]:
        """The file behind an id handed out by file_id(), None for any other string."""
        return self._paths.get(file_id)
