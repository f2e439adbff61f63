"""Compile a cell (or a line magic's statement) as IPython would, and run it under a Tracer.

IPython's own steps are kept: its input transformations (``%magics``, ``!shell`` and the like inside
the code), its AST transformers, its compiler flags (``from __future__`` imports of earlier cells),
and its code cache, so tracebacks show the cell's lines. The value of a final expression is the
magic's result, which IPython then displays as the cell's ``Out`` (as with ``%%time``); the code
runs in the user's namespace.

The tracer starts and stops inside ``CellRecording``: IPython's frames around the magic were entered
before recording began, and pulsetrace's own frames are never recorded, so the trace starts at the
cell's code (its ``<module>``) and goes down from there.
"""

from __future__ import annotations

import ast
import threading
from dataclasses import dataclass, replace
from types import CodeType
from typing import Any, Callable, Dict, Mapping, Set

from ..model import ProcessTrace, Trace
from ..options import TraceOptions
from ..tracer import Tracer

_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE, without importing inspect for one constant


class TopLevelAwaitError(ValueError):
    """The code awaits at its top level, which the magic cannot run yet."""


@dataclass(frozen=True)
class CellCode:
    """The compiled code of a cell, as one code object (so the trace has one ``<module>`` for it)."""

    code: CodeType
    has_value: bool  # the cell ends with an expression, whose value is stored as the global VALUE_NAME
    filename: str  # the name IPython's code cache knows the source by


@dataclass(frozen=True)
class CellTrace:
    """A finished recording of one cell."""

    trace: Trace  # everything that was recorded, every thread
    cell_threads: ProcessTrace  # the process restricted to the cell's threads (see cell_threads)
    other_threads: int  # threads left out of ``cell_threads``


# Where the value of the final expression goes: a global (the user namespace is always a dict, while a
# function's locals may be a proxy that cannot forget a name), and not an identifier, so that no name
# of the user's code can be the same. It is stored as the cell's last step and removed at once.
VALUE_NAME = "<pulsetrace: cell value>"


def compile_cell(shell: Any, source: str, number: int, first_line: int = 1) -> CellCode:
    """Compile ``source`` with ``shell``'s transformations, compiler and code cache.

    ``first_line`` is the line of the cell where ``source`` starts (2 for a cell magic's body, whose
    first line is ``%%pulsetrace``), so that tracebacks and the trace name the lines a person sees.
    Raises SyntaxError as IPython would, and TopLevelAwaitError for code that awaits at top level.
    """
    transformed = shell.transform_cell(source)
    # IPython drops leading blank lines; put them back, with one per line above ``source``.
    padding = "\n" * (first_line - 1 + _leading_blank_lines(source) - _leading_blank_lines(transformed))
    transformed = padding + transformed
    filename = shell.compile.cache(transformed, number, raw_code=padding + source)
    try:
        tree = shell.transform_ast(shell.compile.ast_parse(transformed, filename=filename))
        has_value = bool(tree.body) and isinstance(tree.body[-1], ast.Expr)
        if has_value:  # ``expr`` becomes ``global <VALUE_NAME>; <VALUE_NAME> = expr``, on the same lines
            last = tree.body.pop()
            store = ast.Name(id=VALUE_NAME, ctx=ast.Store())
            tree.body.append(ast.copy_location(ast.Global(names=[VALUE_NAME]), last))
            tree.body.append(ast.copy_location(ast.Assign(targets=[store], value=last.value), last))
            ast.fix_missing_locations(tree)
        code = shell.compile(tree, filename, "exec")
    except SyntaxError:
        if _awaits_at_top_level(transformed):
            raise TopLevelAwaitError(
                "the code awaits at its top level, which pulsetrace cannot trace yet: "
                "move the awaits into an async function and run it with asyncio.run()"
            ) from None
        raise
    return CellCode(code, has_value, filename)


def _leading_blank_lines(text: str) -> int:
    count = 0
    for line in text.splitlines():
        if line.strip():
            break
        count += 1
    return count


def _awaits_at_top_level(source: str) -> bool:
    try:
        code = compile(source, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    except SyntaxError:
        return False
    return bool(code.co_flags & _CO_COROUTINE)


def run_cell_code(code: CellCode, global_ns: Dict[str, Any], local_ns: Mapping[str, Any]) -> Any:
    """Run the compiled cell; the value of its final expression, or None."""
    __tracebackhide__ = True  # noqa: F841
    try:
        exec(code.code, global_ns, local_ns)
    finally:
        value = global_ns.pop(VALUE_NAME, None) if code.has_value else None
    return value


class CellRecording:
    """One traced run of a cell: ``start()`` the tracer, then ``run()`` the code.

    Starting is separate so that its failure (another tracer is recording, a core that cannot work
    here) is told apart from an exception of the code, which must reach IPython unchanged.
    """

    def __init__(self, options: TraceOptions) -> None:
        self.tracer = Tracer(options=options)
        self._before: Set[int] = set()

    def start(self) -> None:
        """Start recording; TracerError if it cannot."""
        self._before = _other_thread_idents()
        self.tracer.start()

    def run(
        self,
        code: CellCode,
        global_ns: Dict[str, Any],
        local_ns: Mapping[str, Any],
        on_trace: Callable[[CellTrace], None],
    ) -> Any:
        """Run ``code`` and return what it returns; exceptions propagate unchanged.

        ``on_trace`` gets the recording once the tracer has stopped, however the code ended (before
        an exception goes on).
        """
        __tracebackhide__ = True  # noqa: F841  (debuggers and newer IPython hide this frame)
        try:
            return run_cell_code(code, global_ns, local_ns)
        finally:
            trace = self.tracer.stop()
            on_trace(_cell_trace(trace, self._before))


def _other_thread_idents() -> Set[int]:
    current = threading.get_ident()
    idents = (thread.ident for thread in threading.enumerate())
    return {ident for ident in idents if ident is not None and ident != current}


def _cell_trace(trace: Trace, before: Set[int]) -> CellTrace:
    """The trace, and its process restricted to the cell's threads.

    The cell's threads are the one that ran it and those started while it ran. Threads that were
    already running (a Jupyter kernel's I/O, heartbeat and control threads, or a thread an earlier
    cell started) are kept in the trace but left out of the summary: a kernel thread that waited on
    a socket the whole time would otherwise top the table by self time.
    """
    process = trace.process()
    kept = [thread for thread in process.threads if thread.ident not in before]
    return CellTrace(trace, replace(process, threads=kept), len(process.threads) - len(kept))
