"""pstats: the profile file that ``pstats.Stats(path)``, snakeviz, gprof2dot and tuna read.

The file is what ``cProfile.Profile.dump_stats`` writes: ``marshal`` of a dict
``{(filename, lineno, funcname): (cc, nc, tt, ct, callers)}`` with ``callers`` mapping each caller's
key to ``(nc, cc, tt, ct)`` of the calls made from it (cProfile's order there: all calls first).
``nc`` counts calls, ``cc`` primitive (non-recursive) calls, ``tt`` is self time and ``ct``
cumulative time, in seconds. The figures are reports.callstats': a generator resuming adds time but
is not a call, and recursion is counted once in ``ct``.

Keys:
- Python functions: ``(filename, first line, qualified name)``. cProfile uses the bare ``co_name``;
  "Parser.parse" tells more than "parse" in every viewer, and filename and line keep keys unique
  either way.
- C functions: ``("~", 0, "<built-in method NAME>")`` with pulsetrace's "module.func" or
  "Type.method" name, e.g. ``<built-in method builtins.len>``, ``<built-in method list.append>``.
  "~" is cProfile's file for built-ins, so pstats prints ``{built-in method list.append}`` and the
  viewers group them as cProfile's. (cProfile writes ``<method 'append' of 'list' objects>`` for
  method descriptors; the recorded name does not say whether its prefix is a module or a type, so
  one form serves both.)
- A slice with nothing around it in its thread has no caller entry, like cProfile's outermost frame.

Several processes are merged by key, summing every figure, as ``pstats.Stats.add`` merges the
profiles of several runs; functions with the same key in one process (two code objects of one def)
are merged the same way.
"""

from __future__ import annotations

import marshal
from typing import Dict, List, Tuple

from ..events import FUNC_C
from ..model import Trace
from ..recording import FunctionInfo
from ..reports.callstats import call_stats
from .registry import Sink, Writer, register

PstatsKey = Tuple[str, int, str]
CallerEntry = Tuple[int, int, float, float]  # nc, cc, tt, ct
StatsEntry = Tuple[int, int, float, float, Dict[PstatsKey, CallerEntry]]  # cc, nc, tt, ct, callers

NS_PER_S = 1e9


@register
class PstatsWriter(Writer):
    """cProfile's pstats file."""

    name = "pstats"
    extensions = (".pstats", ".prof")
    description = "pstats profile (python -m pstats, snakeviz, gprof2dot)"

    def write(self, trace: Trace, stream: Sink) -> None:
        stream.write(marshal.dumps(pstats_table(trace)))


def pstats_key(function: FunctionInfo) -> PstatsKey:
    """The key of a function in a pstats table (see the module docstring)."""
    if function.kind == FUNC_C:
        return ("~", 0, f"<built-in method {function.name}>")
    return (function.filename, function.lineno, function.name)


def pstats_table(trace: Trace) -> Dict[PstatsKey, StatsEntry]:
    """The dict a pstats file holds, for every process of ``trace`` merged by key."""
    # Sums stay in integer nanoseconds until the end, so merging never adds rounding error.
    totals: Dict[PstatsKey, List[int]] = {}  # cc, nc, tt_ns, ct_ns
    callers: Dict[PstatsKey, Dict[PstatsKey, List[int]]] = {}  # nc, cc, tt_ns, ct_ns
    for stats in call_stats(trace):
        keys = {index: pstats_key(function.info) for index, function in stats.functions.items()}
        for index, function in stats.functions.items():
            key = keys[index]
            figures = (function.primitive_calls, function.calls, function.self_ns, function.total_ns)
            _add(totals.setdefault(key, [0, 0, 0, 0]), figures)
            edges = callers.setdefault(key, {})
            for caller, edge in function.callers.items():
                if caller is None:  # the thread's top level: cProfile has no entry for it either
                    continue
                figures = (edge.calls, edge.primitive_calls, edge.self_ns, edge.total_ns)
                _add(edges.setdefault(keys[caller], [0, 0, 0, 0]), figures)
    return {
        key: (cc, nc, tt / NS_PER_S, ct / NS_PER_S, {k: _seconds(v) for k, v in callers[key].items()})
        for key, (cc, nc, tt, ct) in totals.items()
    }


def _add(into: List[int], figures: Tuple[int, int, int, int]) -> None:
    for position, value in enumerate(figures):
        into[position] += value


def _seconds(entry: List[int]) -> CallerEntry:
    first, second, tt, ct = entry
    return (first, second, tt / NS_PER_S, ct / NS_PER_S)


__all__ = ["PstatsKey", "PstatsWriter", "pstats_key", "pstats_table"]
