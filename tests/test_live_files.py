"""pulsetrace.files: the selectors that choose the live view's files, and FileSet's ids."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import pulsetrace
from pulsetrace.live import files
from pulsetrace.live.files import FileSet


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("print('main')\n")
    (tmp_path / "app" / "marked.py").write_text("x = 1  # pulsetrace\n")
    (tmp_path / "app" / "tight.py").write_text("#pulsetrace\ny = 2\n")
    (tmp_path / "app" / "mention.py").write_text("# pulsetrace is a tracer\nz = 3\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "util.py").write_text("def helper():\n    return 42\n")
    return tmp_path


def test_public_names() -> None:
    assert pulsetrace.files is files
    assert callable(pulsetrace.live)
    import pulsetrace.live as live_package

    assert callable(live_package)  # importing the package keeps pulsetrace.live callable


def test_all_takes_real_files_only(tree: Path) -> None:
    assert files.all(str(tree / "lib" / "util.py"))
    assert files.all(json.__file__)
    assert not files.all("<string>")
    assert not files.all("<frozen importlib._bootstrap>")
    assert not files.all(str(tree / "missing.py"))


def test_path_contains(tree: Path) -> None:
    select = files.path_contains("lib" + os.sep, "nothing-here")
    assert select(str(tree / "lib" / "util.py"))
    assert not select(str(tree / "app" / "main.py"))
    with pytest.raises(ValueError):
        files.path_contains()


def test_contains_regex_reads_the_text(tree: Path) -> None:
    select = files.contains_regex(r"return \d+")
    assert select(str(tree / "lib" / "util.py"))
    assert not select(str(tree / "app" / "main.py"))


def test_marker_comment_spaces_optional(tree: Path) -> None:
    select = files.marked()
    assert select(str(tree / "app" / "marked.py"))
    assert select(str(tree / "app" / "tight.py"))
    assert not select(str(tree / "app" / "mention.py"))  # a comment that only mentions the name
    assert not select(str(tree / "app" / "main.py"))


def test_default_for_caller_is_the_caller_and_marked_files(tree: Path) -> None:
    select = files.default_for_caller(str(tree / "app" / "main.py"))
    assert select(str(tree / "app" / "main.py"))
    assert select(str(tree / "app" / "marked.py"))
    assert not select(str(tree / "lib" / "util.py"))


def test_project_leaves_out_stdlib_and_site_packages(tree: Path) -> None:
    select = files.project(str(tree))
    assert select(str(tree / "lib" / "util.py"))
    assert not select(json.__file__)
    assert not select(pytest.__file__)


def test_fileset_gives_ids_only_to_selected_files(tree: Path) -> None:
    chosen = FileSet(files.path_contains("app"))
    main = str(tree / "app" / "main.py")
    assert chosen.file_id(main) == "f1"
    assert chosen.file_id(main) == "f1"
    assert chosen.file_id(str(tree / "lib" / "util.py")) is None
    assert chosen.path_of("f1") == main
    assert chosen.path_of("f2") is None
    assert chosen.path_of("/etc/hostname") is None


def test_fileset_survives_a_failing_selector(tree: Path) -> None:
    def broken(path: str) -> bool:
        raise RuntimeError("boom")

    assert str(tree / "app" / "main.py") not in FileSet(broken)


def test_fileset_excludes_directories(tree: Path) -> None:
    chosen = FileSet(files.all, exclude_dirs=[str(tree / "lib")])
    assert str(tree / "lib" / "util.py") not in chosen
    assert str(tree / "app" / "main.py") in chosen
