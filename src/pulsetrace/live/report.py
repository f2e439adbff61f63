"""The report a live session writes at exit (``-o report.html``): the heatmap of the run.

The heatmap's own data step and page (``reports.heatmap``, ``reports.heatmap_html``) render it,
from the live session's final numbers: the same page ``pulsetrace report`` makes from a trace.
"""

from __future__ import annotations

import os
import sys
from typing import Dict

from ..filegroups import FileGrouper
from ..model.lines import LineStats
from ..reports.heatmap import build_document, project_root
from ..reports.heatmap_html import heatmap_html
from ..writers.output import open_output
from .files import FileSet, read_text


def traced_only(stats: LineStats, files: FileSet) -> LineStats:
    """The part of ``stats`` that belongs to the traced files."""
    kept = LineStats()
    kept.files = {name: lines for name, lines in stats.files.items() if name in files}
    kept.edges = {key: edge for key, edge in stats.edges.items() if edge.caller_file in files}
    kept.functions = dict(stats.functions)
    return kept


def write_report(path: str, stats: LineStats, files: FileSet, title: str = "live session") -> None:
    """Write the heatmap page of ``stats`` (the traced files) to ``path``; a failure leaves no file."""
    chosen = traced_only(stats, files)
    sources: Dict[str, str] = {}
    for name in chosen.files:
        text = read_text(name)
        if text is not None:
            sources[name] = text
    root = project_root(chosen.files, sys.argv)
    document = build_document(chosen, sources, FileGrouper(root), title=title, read_missing_sources=False)
    with open_output(os.fspath(path)) as handle:
        handle.write(heatmap_html(document).encode("utf-8"))
