"""Qualified names recovered from source (used on Python 3.9/3.10, checked on every version)."""

from __future__ import annotations

import sys
import textwrap
from typing import Any, Dict

from pulsetrace.model.qualnames import qualnames_in

SOURCE = textwrap.dedent(
    '''
    class Box:
        def open(self):
            return lambda: 1

        class Lid:
            @staticmethod
            @property
            def hinge():
                pass

    def outer():
        def inner():
            return [x for x in (y for y in range(3))]
        class Local:
            def m(self):
                pass
        return inner

    async def co():
        pass
    '''
)


def test_names_match_what_cpython_calls_them() -> None:
    found = qualnames_in(SOURCE)
    # (name, first line) as the code objects report them; SOURCE starts with an empty line 1.
    assert found[("Box", 2)] == "Box"
    assert found[("open", 3)] == "Box.open"
    assert found[("<lambda>", 4)] == "Box.open.<locals>.<lambda>"
    assert found[("Lid", 6)] == "Box.Lid"
    assert found[("hinge", 7)] == "Box.Lid.hinge"  # decorated: starts at its first decorator
    assert found[("outer", 12)] == "outer"
    assert found[("inner", 13)] == "outer.<locals>.inner"
    assert found[("m", 16)] == "outer.<locals>.Local.m"
    assert found[("co", 20)] == "co"
    assert found[("<listcomp>", 14)] == "outer.<locals>.inner.<locals>.<listcomp>"
    # The first iterable of a comprehension is evaluated in the enclosing scope.
    assert found[("<genexpr>", 14)] == "outer.<locals>.inner.<locals>.<genexpr>"


def test_keys_are_what_code_objects_report() -> None:
    found = qualnames_in(SOURCE)
    namespace: Dict[str, Any] = {}
    exec(compile(SOURCE, "<qualnames>", "exec"), namespace)
    functions = [
        namespace["Box"].open,
        namespace["Box"].Lid.__dict__["hinge"].__func__.fget,
        namespace["outer"],
        namespace["outer"](),
        namespace["co"],
    ]
    for function in functions:
        code = function.__code__
        qualname = found[(code.co_name, code.co_firstlineno)]
        assert qualname == function.__qualname__
        if sys.version_info >= (3, 11):
            assert qualname == code.co_qualname
