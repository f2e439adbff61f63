"""Which group a source file belongs to: the program's own project, the standard library, site-packages.

Line collection keeps the project's lines in detail and summarises the rest per function; the
heatmap groups and badges files the same way. One function decides, so both always agree.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from functools import lru_cache
from typing import Optional, Tuple

PROJECT = "project"
STDLIB = "stdlib"
SITE_PACKAGES = "site-packages"
OTHER = "other"

GROUPS = (PROJECT, STDLIB, SITE_PACKAGES, OTHER)  # in the order reports show them
GROUP_TITLES = {
    PROJECT: "Project",
    STDLIB: "Standard library",
    SITE_PACKAGES: "Site-packages",
    OTHER: "Other",
}

_PACKAGE_DIRS = ("site-packages", "dist-packages")


def _install_dirs() -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """(standard library directories, site-packages directories) of this interpreter."""
    paths = sysconfig.get_paths()
    stdlib = {paths.get("stdlib", ""), paths.get("platstdlib", "")}
    packages = {paths.get("purelib", ""), paths.get("platlib", "")}
    return (
        tuple(sorted(os.path.normcase(os.path.abspath(p)) for p in stdlib if p)),
        tuple(sorted(os.path.normcase(os.path.abspath(p)) for p in packages if p)),
    )


def _under(path: str, directories: Tuple[str, ...]) -> bool:
    return any(path == d or path.startswith(d + os.sep) for d in directories)


class FileGrouper:
    """Classifies file names against one project root (the traced script's directory, or the cwd)."""

    def __init__(self, project_root: Optional[str] = None) -> None:
        root = project_root if project_root is not None else os.getcwd()
        self.project_root = os.path.normcase(os.path.abspath(root))
        self._stdlib, self._packages = _install_dirs()

    def group(self, filename: str) -> str:
        """PROJECT, STDLIB, SITE_PACKAGES or OTHER for a code object's ``co_filename``."""
        return self._group(filename)

    @lru_cache(maxsize=4096)  # noqa: B019 - one grouper per run; the cache dies with it
    def _group(self, filename: str) -> str:
        if filename.startswith("<frozen "):  # importlib's bootstrap, frozen stdlib modules
            return STDLIB
        if not filename or filename.startswith("<"):  # <string>, <stdin>, <ipython-input-...>
            return OTHER
        path = os.path.normcase(os.path.abspath(filename))
        parts = path.split(os.sep)
        # site-packages first: a virtualenv or a user site may live under the stdlib or project dir
        if _under(path, self._packages) or any(part in _PACKAGE_DIRS for part in parts):
            return SITE_PACKAGES
        if _under(path, self._stdlib):
            return STDLIB
        if _under(path, (self.project_root,)):
            return PROJECT
        return OTHER


def default_grouper() -> FileGrouper:
    """A grouper whose project is the directory of the running script (``sys.argv[0]``), else the cwd."""
    script = sys.argv[0] if sys.argv else ""
    if script and os.path.isfile(script):
        return FileGrouper(os.path.dirname(os.path.abspath(script)))
    return FileGrouper()
