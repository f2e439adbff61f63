"""Qualified names for Python 3.9 and 3.10, whose code objects carry only the bare name.

3.11+ code objects have ``co_qualname`` ("Box.open", "outer.<locals>.inner"); before that, the core
only knows "open". The qualified name is recovered from the source: each def, class, lambda and
comprehension is found by its name and first line (a decorated one starts at its first decorator, as
co_firstlineno does), and named the way CPython names it.
"""

from __future__ import annotations

import ast
import linecache
import sys
from typing import Dict, List, Tuple, Union

from ..events import FUNC_PYTHON
from ..recording import FunctionInfo

_Scope = Union[ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda]
_COMPREHENSIONS = {
    ast.GeneratorExp: "<genexpr>",
    ast.ListComp: "<listcomp>",
    ast.SetComp: "<setcomp>",
    ast.DictComp: "<dictcomp>",
}


def _first_line(node: _Scope) -> int:
    decorators: List[ast.expr] = getattr(node, "decorator_list", [])
    return min([node.lineno, *(decorator.lineno for decorator in decorators)])


def qualnames_in(source: str) -> Dict[Tuple[str, int], str]:
    """(name, first line) -> qualified name for every scope with its own code object in ``source``."""
    found: Dict[Tuple[str, int], str] = {}

    def scan(node: ast.AST, prefix: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            name = "<lambda>" if isinstance(node, ast.Lambda) else node.name
            qualname = prefix + name
            found.setdefault((name, _first_line(node)), qualname)
            # CPython: a class's members are "C.m"; a function's or lambda's locals "f.<locals>.g".
            inner = qualname + ("." if isinstance(node, ast.ClassDef) else ".<locals>.")
            for child in ast.iter_child_nodes(node):
                scan(child, inner)
        elif isinstance(node, (ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp)):
            name = _COMPREHENSIONS[type(node)]
            qualname = prefix + name
            found.setdefault((name, node.lineno), qualname)
            # The first iterable is evaluated in the enclosing scope; the rest is the comprehension's
            # own scope, whose inner scopes get no "<locals>".
            first = node.generators[0]
            scan(first.iter, prefix)
            for child in ast.iter_child_nodes(node):
                if child is not first:
                    scan(child, qualname + ".")
            for part in (first.target, *first.ifs):
                scan(part, qualname + ".")
        else:
            for child in ast.iter_child_nodes(node):
                scan(child, prefix)

    scan(ast.parse(source), "")
    return found


def qualify(functions: List[FunctionInfo]) -> List[FunctionInfo]:
    """The function table with qualified names (unchanged on 3.11+, where cores have them)."""
    if sys.version_info >= (3, 11):
        return functions
    tables: Dict[str, Dict[Tuple[str, int], str]] = {}
    qualified = []
    for function in functions:
        if function.kind == FUNC_PYTHON and function.filename not in tables:
            try:
                tables[function.filename] = qualnames_in("".join(linecache.getlines(function.filename)))
            except (SyntaxError, ValueError):  # not Python source (or not readable): keep bare names
                tables[function.filename] = {}
        if function.kind == FUNC_PYTHON:
            name = tables[function.filename].get((function.name, function.lineno), function.name)
            function = function._replace(name=name)
        qualified.append(function)
    return qualified
