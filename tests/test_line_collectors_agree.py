"""The C line collector against its Python twin: on every tricky program, the same hits per line, the
same call edges with the same counts, and the same calls of summarised functions, on each backend.

Times differ naturally (different costs per event), so they are checked for consistency only: never
negative, a line's self time within its total, a call edge's time within its calling line's total,
and all of it within the wall time of the run. The exact times of each rule are checked with a
clock the program moves, on every collector, in test_line_collector.py.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any, Callable, Dict, Tuple

import pytest

from corpus import PROGRAMS
from corpus.harness import load
from pulsetrace.filegroups import FileGrouper
from pulsetrace.linecollect import C_LINE_BACKENDS, LINE_BACKENDS, PYTHON_LINE_BACKENDS, LineCollector
from pulsetrace.model.lines import CodeKey, LineStats

pytestmark = pytest.mark.skipif(not C_LINE_BACKENDS or C_LINE_BACKENDS[0] not in LINE_BACKENDS,
                                reason="the C extension is not built")

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
# recursion_limit: the Python collector's callbacks use frames of the recursion budget, so the depth
# reached differs. threads: how often a lock is polled in the standard library depends on timing.
LINE_PROGRAMS = tuple(name for name in PROGRAMS if name != "recursion_limit") + ("line_shapes", "async_run")
TIMING_DEPENDENT_SUMMARIES = {"threads", "async_tasks", "async_cancel", "async_run"}

Counts = Tuple[Dict[Tuple[str, int], int], Dict[Tuple[str, int, CodeKey], int], Dict[CodeKey, int]]


def program(name: str) -> Callable[[], Any]:
    if name == "async_run":  # a real event loop, not a hand-driven coroutine
        shapes = load("line_shapes")
        return lambda: asyncio.run(shapes.outer_coro(4))
    return load(name).main  # type: ignore[no-any-return]


def collect(backend: str, work: Callable[[], Any]) -> Tuple[LineStats, int]:
    collector = LineCollector(backend=backend, grouper=FileGrouper(CORPUS))
    started = time.monotonic_ns()
    collector.start()
    try:
        work()
    except BaseException:  # programs that end in an uncaught exception are compared too
        pass
    finally:
        stats = collector.stop()
    return stats, time.monotonic_ns() - started


def counts(stats: LineStats, with_summaries: bool) -> Counts:
    """Hits of the corpus's lines, edge counts from them, calls of summarised functions."""
    hits = {
        (os.path.basename(name), line): stat.hits
        for name, lines in stats.files.items()
        if name.startswith(CORPUS)
        for line, stat in lines.items()
    }
    edges = {key: edge.count for key, edge in stats.edges.items() if key[0].startswith(CORPUS)}
    summaries = {code: summary.calls for code, summary in stats.functions.items()} if with_summaries else {}
    return hits, edges, summaries


@pytest.mark.parametrize("name", LINE_PROGRAMS)
@pytest.mark.parametrize("hook", PYTHON_LINE_BACKENDS)
def test_c_and_python_collectors_count_the_same(name: str, hook: str) -> None:
    work = program(name)
    try:
        work()  # first run outside: imports and caches of first use are not part of either count
    except BaseException:
        pass
    with_summaries = name not in TIMING_DEPENDENT_SUMMARIES
    python_stats, _ = collect(hook, work)
    c_stats, _ = collect(f"c-{hook}", work)
    python_counts = counts(python_stats, with_summaries)
    c_counts = counts(c_stats, with_summaries)
    assert python_counts[0], "the program's lines were not counted"
    assert c_counts[0] == python_counts[0]
    assert c_counts[1] == python_counts[1]
    assert c_counts[2] == python_counts[2]


@pytest.mark.parametrize("name", LINE_PROGRAMS)
@pytest.mark.parametrize("backend", C_LINE_BACKENDS)
def test_c_collector_times_hold_together(name: str, backend: str) -> None:
    stats, wall_ns = collect(backend, program(name))
    if name == "threads":  # the main thread and its three workers count their times side by side
        wall_ns *= 4
    own_self = 0
    for lines in stats.files.values():
        for stat in lines.values():
            assert 0 <= stat.self_ns <= stat.total_ns <= wall_ns
            own_self += stat.self_ns
    for (caller_file, caller_line, callee), edge in stats.edges.items():
        calling = stats.files[caller_file][caller_line]
        recursive = callee.filename == caller_file and callee.lineno <= caller_line
        assert 0 <= edge.total_ns <= wall_ns
        if not recursive:
            assert edge.total_ns <= calling.total_ns
    for summary in stats.functions.values():
        assert 0 <= summary.self_ns <= summary.total_ns <= wall_ns
        own_self += summary.self_ns
    assert own_self <= wall_ns  # self times of a thread never overlap: together they fit in the run


def test_uncaught_exception_closes_every_frame() -> None:
    shapes = load("line_shapes")
    for backend in C_LINE_BACKENDS:
        stats, _ = collect(backend, shapes.uncaught)
        fail_line = shapes.fail.__code__.co_firstlineno + 3  # raise KeyError(depth)
        assert stats.files[shapes.__file__][fail_line].hits == 1
