"""The heatmap's data: every recorded line with its hits and times, file by file, ready to show.

``heatmap_document(trace)`` turns the line statistics of a trace (``ProcessTrace.lines``, all
processes added together) into one plain, JSON-ready dict that the heatmap page renders
(``web/heatmap*.js``): files grouped as project / standard library / site-packages / other
(``filegroups``, the same rule line collection uses), each with its totals, its hottest line, the
numbers of every line that ran and its source split into lines as Python numbers them, with the
runs of Pygments token classes of each line (``highlight``: lexed here, turned into spans by the page
when a file is opened); the call edges between lines and functions, for the callers /
callees links; and the functions that were summarised instead of kept line by line. The live view
feeds the same page with documents built from snapshots, so nothing here is specific to a saved file.

Building the data and rendering it are separate steps (``heatmap_html`` renders): tests check this
document, not HTML. Its shape (times in ns; keys in camelCase, as the page reads them)::

    version      DOCUMENT_VERSION
    title        the program, as its process is named
    projectRoot  the directory whose files count as the project
    totals       {hits, selfNs (lines' and summarised functions' own time), files, linesRun}
    groups       [{key, title}] in display order (filegroups.GROUPS)
    tokenClasses Pygments' short CSS class names the files' tokens index; 0 is "" (plain text)
    files        [{path, label (short name), module, group, hits, selfNs, maxTotalNs, linesRun,
                   hottestLine (by self time), source ("trace" | "disk" | "", and "live" on the
                   live page, which puts in the text it read while the program runs), code (lines of text,
                   or null), tokens (per line [length, class, ...], class indexing
                   tokenClasses; null without code), lines: [[lineno, hits, selfNs, totalNs], ...]
                   by line number,
                   functions: [{name, lineno, callee}] defined here and called from a recorded line}]
    callees      [{name, file ("" for C), lineno, fileId (its index in files, or -1), summarised}]
    edges        [{file, fileId, line, callee (index in callees), count, totalNs}]: calls made from
                 the line ``file:line`` to one function
    summaries    [{name, file, lineno, group, calls, hits, selfNs, totalNs}], most self time first
"""

from __future__ import annotations

import os
import re
import sysconfig
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ..filegroups import GROUP_TITLES, GROUPS, PROJECT, SITE_PACKAGES, STDLIB, FileGrouper
from ..model import Trace
from ..model.lines import CodeKey, LineStats, merged
from .highlight import SHARED_CLASSES, source_runs

DOCUMENT_VERSION = 2  # 1: files, lines, edges, callees, summaries; 2: tokens and tokenClasses (Pygments)

Document = Dict[str, Any]


class NoLineStatsError(ValueError):
    """The trace has no line statistics: it was recorded without line collection."""


def heatmap_document(
    trace: Trace, *, title: Optional[str] = None, read_missing_sources: bool = True
) -> Document:
    """The heatmap data of every process of ``trace`` that recorded lines, added together.

    ``read_missing_sources``: a file whose text the trace did not store is read from disk (its
    file entry then says ``"source": "disk"``, as the file may have changed since the run).
    Raise NoLineStatsError when no process recorded lines.
    """
    recorded = [process for process in trace.processes if process.lines is not None]
    if not recorded:
        raise NoLineStatsError(
            "this trace has no line statistics: record it with line collection on (pulsetrace run --lines)"
        )
    parts = [process.lines for process in recorded if process.lines is not None]
    stats = parts[0] if len(parts) == 1 else merged(parts)  # one process: no copy needed, it is only read
    sources: Dict[str, str] = {}
    for process in recorded:
        sources.update(process.sources)
    first = recorded[0]
    root = project_root(stats.files, first.argv)
    if title is None:
        title = first.name if len(recorded) == 1 else f"{first.name} and {len(recorded) - 1} more processes"
    return build_document(
        stats, sources, FileGrouper(root), title=title, read_missing_sources=read_missing_sources
    )


def build_document(
    stats: LineStats,
    sources: Mapping[str, str],
    grouper: FileGrouper,
    *,
    title: str = "",
    read_missing_sources: bool = True,
) -> Document:
    """The heatmap data of one LineStats (see the module docstring for the shape)."""
    paths = sorted(stats.files)
    file_ids = {path: index for index, path in enumerate(paths)}
    callees, callee_ids = _callee_table(stats, file_ids)
    # The functions defined in each shown file that some line called: their first lines get "callers" links.
    defined: Dict[str, List[Dict[str, Any]]] = {}
    for code, index in sorted(callee_ids.items(), key=lambda item: item[0].lineno):
        if code.filename in file_ids:
            entry = {"name": code.name, "lineno": code.lineno, "callee": index}
            defined.setdefault(code.filename, []).append(entry)
    files: List[Dict[str, Any]] = [
        _file_entry(path, stats, sources, grouper, read_missing_sources, defined.get(path, []))
        for path in paths
    ]
    edges = [
        {
            "file": edge.caller_file,
            "fileId": file_ids.get(edge.caller_file, -1),
            "line": edge.caller_line,
            "callee": callee_ids[edge.callee],
            "count": edge.count,
            "totalNs": edge.total_ns,
        }
        for edge in sorted(stats.edges.values(), key=lambda e: (e.caller_file, e.caller_line, -e.total_ns))
    ]
    summaries: List[Dict[str, Any]] = [
        {
            "name": summary.code.name,
            "file": summary.code.filename,
            "lineno": summary.code.lineno,
            "group": grouper.group(summary.code.filename),
            "calls": summary.calls,
            "hits": summary.hits,
            "selfNs": summary.self_ns,
            "totalNs": summary.total_ns,
        }
        for summary in sorted(stats.functions.values(), key=lambda s: (-s.self_ns, s.code))
    ]
    line_self = sum(entry["selfNs"] for entry in files)
    return {
        "version": DOCUMENT_VERSION,
        "title": title,
        "projectRoot": grouper.project_root,
        "totals": {
            "hits": stats.hit_count,
            "selfNs": line_self + sum(summary["selfNs"] for summary in summaries),
            "files": len(files),
            "linesRun": sum(entry["linesRun"] for entry in files),
        },
        "groups": [{"key": key, "title": GROUP_TITLES[key]} for key in GROUPS],
        "tokenClasses": list(SHARED_CLASSES.names),  # after the files: every class their runs use
        "files": files,
        "callees": callees,
        "edges": edges,
        "summaries": summaries,
    }


def _callee_table(
    stats: LineStats, file_ids: Mapping[str, int]
) -> Tuple[List[Dict[str, Any]], Dict[CodeKey, int]]:
    """Every function some line called, once, with where the page can take the reader to see it."""
    codes = sorted({edge.callee for edge in stats.edges.values()})
    table = []
    for code in codes:
        table.append(
            {
                "name": code.name,
                "file": code.filename,
                "lineno": code.lineno,
                "fileId": file_ids.get(code.filename, -1),  # its lines are shown: link to its first line
                "summarised": code in stats.functions,
            }
        )
    return table, {code: index for index, code in enumerate(codes)}


def _file_entry(
    path: str,
    stats: LineStats,
    sources: Mapping[str, str],
    grouper: FileGrouper,
    read_missing_sources: bool,
    functions: List[Dict[str, Any]],
) -> Dict[str, Any]:
    lines = stats.files[path]
    rows = [[lineno, stat.hits, stat.self_ns, stat.total_ns] for lineno, stat in sorted(lines.items())]
    hottest = max(rows, key=lambda row: (row[2], row[1], -row[0]))[0] if rows else 0
    text, origin = sources.get(path), "trace"
    if text is None and read_missing_sources:
        text, origin = _read_source(path), "disk"
    if text is None:
        origin = ""
    group = grouper.group(path)
    code = source_lines(text) if text is not None else None
    return {
        "path": path,
        "label": display_path(path, group, grouper.project_root),
        "module": module_name(path, group, grouper.project_root),
        "group": group,
        "hits": sum(row[1] for row in rows),
        "selfNs": sum(row[2] for row in rows),
        "maxTotalNs": max((row[3] for row in rows), default=0),
        "linesRun": len(rows),
        "hottestLine": hottest,
        "source": origin,
        "code": code,
        "tokens": source_runs(text) if text is not None else None,
        "lines": rows,
        "functions": functions,
    }


_LINE_BREAK = re.compile("\r\n|\r|\n")


def source_lines(text: str) -> List[str]:
    """The lines of a source text numbered as Python numbers them: only CR LF, CR and LF end a line
    (``str.splitlines`` would also split at form feeds and other characters the tokenizer ignores)."""
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()  # the text ended with a line break
    return lines


def _read_source(path: str) -> Optional[str]:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    return data.decode("utf-8", "replace")


def project_root(filenames: Iterable[str], argv: Sequence[str]) -> str:
    """The traced program's project directory: its script's directory when the script is among the
    recorded files (matched by its base name when the path was relative), else the current one."""
    script = os.path.normpath(argv[0]) if argv else ""
    if script.endswith(".py"):
        if os.path.isabs(script):
            return os.path.dirname(script)
        for filename in filenames:
            if os.path.isabs(filename) and filename.endswith(os.sep + script):
                return os.path.dirname(filename)
    return os.getcwd()


def display_path(path: str, group: str, root: str) -> str:
    """How the page names a file: relative to the project for its own files, else from the
    package directory on (``json/decoder.py``, ``requests/api.py``), else the path as recorded."""
    prefix = _group_prefix(path, group, root)
    return path[len(prefix) :].lstrip("/\\") if prefix else path


def module_name(path: str, group: str, root: str) -> str:
    """The dotted module name a file most likely has (``pkg.mod``; a package's ``__init__`` is the
    package), or "" for code without a real file (``<string>``)."""
    if path.startswith("<frozen "):
        return path[len("<frozen ") :].rstrip(">")
    if path.startswith("<") or not path:
        return ""
    relative = display_path(path, group, root)
    stem = os.path.splitext(relative)[0].replace("\\", "/")
    parts = [part for part in stem.split("/") if part and part != "."]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _group_prefix(path: str, group: str, root: str) -> str:
    normalised = os.path.normcase(os.path.abspath(path)) if not path.startswith("<") else ""
    if not normalised:
        return ""
    if group == PROJECT:
        return _matching_prefix(path, normalised, [root])
    if group == SITE_PACKAGES:
        for marker in ("site-packages", "dist-packages"):
            where = path.rfind(marker)
            if where >= 0:
                return path[: where + len(marker)]
        return ""
    if group == STDLIB:
        paths = sysconfig.get_paths()
        return _matching_prefix(path, normalised, [paths.get("stdlib", ""), paths.get("platstdlib", "")])
    return ""


def _matching_prefix(path: str, normalised: str, directories: Iterable[str]) -> str:
    for directory in directories:
        if not directory:
            continue
        candidate = os.path.normcase(os.path.abspath(directory))
        if normalised.startswith(candidate + os.sep) and len(path) == len(normalised):
            return path[: len(candidate)]
    return ""
