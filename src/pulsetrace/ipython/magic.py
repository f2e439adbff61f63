"""The ``%%pulsetrace`` cell magic and the ``%pulsetrace`` line magic: trace, then show the summary.

One function serves as both magics (IPython calls it with ``cell=None`` for the line magic). It
reads the options (``arguments``), compiles the code (``cellcode``) before recording starts, runs
it under a tracer, then keeps the trace in the user namespace as ``_pulsetrace``, saves it when an
output file was given, and displays the summary table: HTML for notebooks (followed by the trace
viewer inline, unless --no-viewer: ``inline``), the terminal table as the plain-text form (what a
terminal IPython shows).
"""

from __future__ import annotations

import os
import sys
from html import escape
from typing import Any, Callable, Dict, List, Mapping, Optional

from IPython.core import magic as ipython_magic
from IPython.core.error import UsageError
from IPython.display import display

from .. import writers
from ..reports.callstats import CallStats
from ..reports.hotlines import hot_lines_table
from ..reports.summary import summary_lines
from ..reports.summary_html import summary_html
from ..tracer import TracerError
from .arguments import HelpRequested, MagicArgumentError, MagicRequest, help_text, parse_magic_line
from .cellcode import CellRecording, CellTrace, TopLevelAwaitError, compile_cell
from .inline import inline_viewer_html

MAGIC_NAME = "pulsetrace"
TRACE_VARIABLE = "_pulsetrace"  # the last trace, in the user namespace
_OURS = "_pulsetrace_magic"  # marks the function we registered, so unloading removes only ours

MAGIC_DOC = """Trace a cell (%%pulsetrace) or one statement (%pulsetrace) and show where the time went.

    %%pulsetrace [options]
    <the cell's code>

    %pulsetrace [options] [--] statement

The code runs as it would without the magic (same namespace, output, result and exceptions), with
every function call recorded. The functions with the most self time are then shown (the table of
`pulsetrace run`), and the trace is kept in the variable _pulsetrace (a pulsetrace Trace). With -o
FILE the trace is also saved (the format follows the extension, as for `pulsetrace run -o`).
Options are those of `pulsetrace run`; [tool.pulsetrace] in pyproject.toml and PULSETRACE_OUTPUT
apply too. -q shows nothing. Write `--` before a statement that starts with `-`.

"""


def make_magic(shell: Any) -> Callable[..., Any]:
    """The magic function for ``shell``, marked for IPython as its own %time is."""

    def pulsetrace(
        line: str = "", cell: Optional[str] = None, local_ns: Optional[Dict[str, Any]] = None
    ) -> Any:
        __tracebackhide__ = True  # noqa: F841  (debuggers and newer IPython hide this frame)
        return run_magic(shell, line, cell, local_ns)

    pulsetrace.__doc__ = MAGIC_DOC + help_text()
    setattr(pulsetrace, _OURS, True)
    # IPython's markers (untyped functions): no $var expansion of the line (it may be Python code),
    # the caller's local namespace for the line magic, and no Out[] display after a trailing ';'.
    ipython_magic.no_var_expand(pulsetrace)  # type: ignore[no-untyped-call]
    ipython_magic.needs_local_scope(pulsetrace)  # type: ignore[no-untyped-call]
    silenceable = getattr(ipython_magic, "output_can_be_silenced", None)  # IPython 8.9 and later
    if silenceable is not None:
        silenceable(pulsetrace)
    return pulsetrace


def register(shell: Any) -> None:
    """Register %pulsetrace and %%pulsetrace in ``shell``."""
    shell.register_magic_function(make_magic(shell), magic_kind="line_cell", magic_name=MAGIC_NAME)


def unregister(shell: Any) -> None:
    """Remove the magics ``register`` added (and nothing else of the same name)."""
    manager = shell.magics_manager
    for kind in ("line", "cell"):
        table = manager.magics[kind]
        if getattr(table.get(MAGIC_NAME), _OURS, False):
            del table[MAGIC_NAME]
    if getattr(getattr(manager.user_magics, MAGIC_NAME, None), _OURS, False):
        delattr(manager.user_magics, MAGIC_NAME)


def run_magic(shell: Any, line: str, cell: Optional[str], local_ns: Optional[Dict[str, Any]]) -> Any:
    """One use of the magic: everything is checked before the code runs; then the code runs traced."""
    __tracebackhide__ = True  # noqa: F841
    try:
        request = parse_magic_line(line, cell is not None)
    except HelpRequested as help:
        print(help)  # the magic's own output, like IPython's %magic? help
        return None
    except MagicArgumentError as exc:
        raise UsageError(str(exc)) from None
    source, first_line = (cell, 2) if cell is not None else (request.statement, 1)
    try:
        code = compile_cell(shell, source, shell.execution_count, first_line)
    except TopLevelAwaitError as exc:
        raise UsageError(str(exc)) from None
    report = _Report(shell, request, _output_path(request), {code.filename: f"In[{shell.execution_count}]"})
    global_ns = shell.user_ns
    recording = CellRecording(request.options)
    try:
        recording.start()
    except TracerError as exc:
        raise UsageError(f"pulsetrace cannot record this cell: {exc}") from None
    return recording.run(code, global_ns, global_ns if local_ns is None else local_ns, report)


def _output_path(request: MagicRequest) -> Optional[str]:
    """Where to save the trace, made absolute now (the cell may change directory); checked first."""
    output = request.options.output
    if output is None:
        return None
    try:
        writers.check_writable(output, lines=bool(request.options.lines))
    except writers.OutputError as exc:
        raise UsageError(str(exc)) from None
    return output if output == writers.STDOUT else os.path.abspath(output)


class _Report:
    """What happens once the tracer has stopped: keep, save and show the trace.

    It runs while an exception of the cell may be on its way to IPython, so it never raises: a
    failure is a short message on stderr, and the cell's own outcome goes on unchanged.
    """

    def __init__(
        self, shell: Any, request: MagicRequest, output: Optional[str], file_names: Mapping[str, str]
    ) -> None:
        self.shell = shell
        self.request = request
        self.output = output
        self.file_names = file_names  # the cell's code is "In[3]" in the table, as in IPython's tracebacks

    def __call__(self, recorded: CellTrace) -> None:
        self.shell.user_ns[TRACE_VARIABLE] = recorded.trace
        saved = self._save(recorded)
        if self.request.quiet:
            return
        try:
            self._show(recorded, saved)
        except Exception as exc:  # the summary is a courtesy: it never changes the cell's outcome
            print(f"pulsetrace: could not show the trace: {type(exc).__name__}: {exc}", file=sys.stderr)

    def _save(self, recorded: CellTrace) -> Optional[str]:
        if self.output is None:
            return None
        given = self.request.options.output or self.output
        try:
            writers.save(recorded.trace, self.output)
        except Exception as exc:
            print(f"pulsetrace: could not save the trace to {given}: {exc}", file=sys.stderr)
            return None
        return "standard output" if self.output == writers.STDOUT else given

    def _show(self, recorded: CellTrace, saved: Optional[str]) -> None:
        stats = CallStats.of(recorded.cell_threads, callers=False)
        threads = len(recorded.cell_threads.threads)
        notes: List[str] = []
        if recorded.other_threads:
            count = recorded.other_threads
            notes.append(
                f"not in this table: {count} thread{'' if count == 1 else 's'} that ran before the cell "
                f"(IPython's own, or started by an earlier cell); they are in {TRACE_VARIABLE}"
            )
        notes.append(f"the trace is in {TRACE_VARIABLE}")
        text = summary_lines(stats, self.request.top, title="pulsetrace", file_names=self.file_names)
        if not text:
            text = ["pulsetrace: no calls were recorded"]
        line_stats = recorded.trace.process().lines
        hot: List[str] = []
        if line_stats is not None:  # --lines: the cell's hottest lines under the functions
            sources = recorded.trace.process().sources
            hot = hot_lines_table(line_stats, sources, self.request.top, "pulsetrace", self.file_names)
            text += hot
        if saved:
            text.append(f"trace saved to {saved}")
        text.extend(notes)
        html = summary_html(
            stats, self.request.top, threads=threads, saved=saved, notes=notes, file_names=self.file_names
        )
        if hot:
            html += "<pre>" + escape("\n".join(hot)) + "</pre>"
        if self.request.viewer:  # the notebook's view; a terminal shows only the text
            html += inline_viewer_html(recorded.trace, open_file=next(iter(self.file_names), ""))
        display({"text/plain": "\n".join(text), "text/html": html}, raw=True)  # type: ignore[no-untyped-call]
