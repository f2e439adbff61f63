"""File groups: project, standard library, site-packages, other."""

import json
import os

import pytest

from pulsetrace import filegroups
from pulsetrace.filegroups import OTHER, PROJECT, SITE_PACKAGES, STDLIB, FileGrouper


@pytest.fixture
def grouper(tmp_path):
    return FileGrouper(str(tmp_path))


def test_stdlib_module_is_stdlib(grouper):
    assert grouper.group(json.__file__) == STDLIB
    assert grouper.group(os.__file__) == STDLIB


def test_frozen_module_is_stdlib(grouper):
    assert grouper.group("<frozen importlib._bootstrap>") == STDLIB


def test_installed_package_is_site_packages(grouper):
    assert grouper.group(pytest.__file__) == SITE_PACKAGES


def test_any_site_packages_directory_counts(grouper, tmp_path):
    assert grouper.group(str(tmp_path / "venv" / "lib" / "site-packages" / "pkg" / "m.py")) == SITE_PACKAGES
    assert grouper.group("/usr/lib/python3/dist-packages/pkg/m.py") == SITE_PACKAGES


def test_files_under_the_project_root_are_project(grouper, tmp_path):
    assert grouper.group(str(tmp_path / "script.py")) == PROJECT
    assert grouper.group(str(tmp_path / "pkg" / "sub" / "mod.py")) == PROJECT


def test_relative_names_resolve_against_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert FileGrouper(str(tmp_path)).group("script.py") == PROJECT


def test_pseudo_files_and_elsewhere_are_other(grouper):
    assert grouper.group("<string>") == OTHER
    assert grouper.group("") == OTHER
    assert grouper.group("/nowhere/else/at/all.py") == OTHER


def test_default_grouper_uses_the_scripts_directory(tmp_path, monkeypatch):
    script = tmp_path / "s.py"
    script.write_text("")
    monkeypatch.setattr("sys.argv", [str(script)])
    assert filegroups.default_grouper().project_root == os.path.normcase(str(tmp_path))


def test_every_group_has_a_title():
    assert set(filegroups.GROUP_TITLES) == set(filegroups.GROUPS)
