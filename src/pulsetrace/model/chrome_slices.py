"""One thread's Chrome slices ("X" events and "B"/"E" pairs) as the model's balanced record stream.

Chrome files list slices in any order and do not promise that they nest (other tools write slices
that overlap a sibling or outlive their parent). The records must nest: every exit closes the
innermost open entry, and timestamps never go back. So the slices are sorted by start, longest
first, and placed with a stack; a slice that would end after the slice it starts in is cut to end
with it ("clamped"), which keeps the call and its start and reports the repair in the metadata.

Ties: two slices with the same start and duration are taken in reverse order of the event that
ended them, because writers emit a slice when it ends (chrome_json: children before parents), so
the later one is the outer one. A zero-length slice never contains another.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Dict, List, NamedTuple, Tuple

from ..events import (
    ENTER_C,
    ENTER_CALL,
    ENTER_RESUME,
    EXIT_RETURN,
    EXIT_STOP,
    EXIT_UNWIND,
    EXIT_YIELD,
    FUNC_C,
    pack,
)
from ..recording import FunctionInfo
from .chrome_values import exit_marker, function_of

CLAMPED = "overlap_clamped"  # metadata key: slices cut to end with the slice they start in
END_WITHOUT_BEGIN = "end_without_begin"  # "E" events with no open "B" on their thread (dropped)
BEGIN_WITHOUT_END = "begin_without_end"  # "B" events never closed (kept, ended at the process's end)
# Argument / return value text the model has no place for (it keeps arguments on the entry of a Python
# call and return values on a normal return only): dropped.
VALUE_DROPPED = "value_text_dropped"


class Slice(NamedTuple):
    """A duration on one thread, on the file's time axis (ns)."""

    start_ns: int
    end_ns: int
    name: str
    category: str
    args: Dict[str, Any]
    order: int  # position in the file of the event that ended it (the "X" itself, or the "E")
    unfinished: bool = False  # a "B" that no "E" closed


class Edge(NamedTuple):
    """A "B" or "E" event, waiting to be paired."""

    ns: int
    order: int
    begin: bool
    name: str
    category: str
    args: Dict[str, Any]


def pair_edges(edges: List[Edge], stop_ns: int, problems: Counter[str]) -> List[Slice]:
    """Slices from one thread's "B"/"E" events: an "E" closes the latest open "B" (its name may differ
    or be missing, as in Chrome); its args are added to the begin's."""
    slices: List[Slice] = []
    open_begins: List[Edge] = []
    for edge in sorted(edges, key=lambda e: e.ns):  # stable: equal timestamps keep file order
        if edge.begin:
            open_begins.append(edge)
        elif not open_begins:
            problems[END_WITHOUT_BEGIN] += 1
        else:
            begin = open_begins.pop()
            slices.append(
                Slice(begin.ns, edge.ns, begin.name, begin.category, {**begin.args, **edge.args}, edge.order)
            )
    for begin in open_begins:
        problems[BEGIN_WITHOUT_END] += 1
        end = max(stop_ns, begin.ns)
        slices.append(Slice(begin.ns, end, begin.name, begin.category, begin.args, begin.order, True))
    return slices


class FunctionTable:
    """A process's function table, one row per (name, category) seen in its slices."""

    def __init__(self) -> None:
        self.rows: List[FunctionInfo] = []
        self._index: Dict[Tuple[str, str], Tuple[int, bool]] = {}

    def find(self, name: str, category: str) -> Tuple[int, bool]:
        """(row, is a C function) of the slice's function, adding the row on first sight."""
        key = (name, category)
        found = self._index.get(key)
        if found is None:
            function = function_of(name, category)
            found = self._index[key] = (len(self.rows), function.kind == FUNC_C)
            self.rows.append(function)
        return found


class Records(NamedTuple):
    """One thread's records and the argument / return value text keyed by record index."""

    chunks: List[bytes]
    args: Dict[int, str]
    retvals: Dict[int, str]


def nest(slices: List[Slice], table: FunctionTable, offset_ns: int, problems: Counter[str]) -> Records:
    """The balanced record stream of one thread's function slices, each timestamp moved by ``offset_ns``."""
    ordered = sorted(slices, key=lambda s: (s.start_ns, -s.end_ns, -s.order))
    records: List[bytes] = []
    args: Dict[int, str] = {}
    retvals: Dict[int, str] = {}
    stack: List[Tuple[int, int, int, Any]] = []  # end ns, exit kind, func, return value

    def close() -> None:
        end_ns, kind, func, retval = stack.pop()
        if isinstance(retval, str):
            if kind == EXIT_RETURN:
                retvals[len(records)] = retval
            else:
                problems[VALUE_DROPPED] += 1
        records.append(pack(end_ns + offset_ns, kind, func))

    for piece in ordered:
        while stack and stack[-1][0] <= piece.start_ns:
            close()
        end_ns = piece.end_ns
        if stack and end_ns > stack[-1][0]:
            end_ns = stack[-1][0]
            problems[CLAMPED] += 1
        func, is_c = table.find(piece.name, piece.category)
        text = piece.args.get("args")
        if isinstance(text, str):
            if is_c:
                problems[VALUE_DROPPED] += 1
            else:
                args[len(records)] = text
        records.append(pack(piece.start_ns + offset_ns, _enter_kind(piece, is_c), func))
        stack.append((end_ns, _exit_kind(piece), func, piece.args.get("return_value")))
    while stack:
        close()
    return Records([b"".join(records)] if records else [], args, retvals)


def _enter_kind(piece: Slice, is_c: bool) -> int:
    if is_c:
        return ENTER_C
    return ENTER_RESUME if piece.args.get("resumed") is True else ENTER_CALL


def _exit_kind(piece: Slice) -> int:
    exception, unfinished = exit_marker(piece.args)
    if piece.unfinished or unfinished:
        return EXIT_STOP
    if exception:
        return EXIT_UNWIND
    return EXIT_YIELD if piece.args.get("exit") == "yield" else EXIT_RETURN
