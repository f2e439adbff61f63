"""Self time per distinct call stack of a thread: the data behind collapsed stacks and flame graphs.

A *stack* is the tuple of function indices from the thread's outermost open slice to the innermost
one (root first). Every moment a thread spends inside a slice belongs to exactly one stack, the one
that has that slice on top, so the self times of all stacks add up to the thread's time in slices.

Each slice counts on its own: a generator resumed from two places appears under two stacks, a
recursive function adds one frame per level. Slices still open at stop (EXIT_STOP) count up to the
stop time, like every other exit.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

from ..events import ENTER_C, KIND_BITS, KIND_MASK, iter_records
from ..model import ThreadTrace

Stack = Tuple[int, ...]


def self_time_by_stack(thread: ThreadTrace) -> Dict[Stack, int]:
    """Nanoseconds of self time of every stack the thread had, zero-time stacks included."""
    # Stacks are interned as nodes of a call tree, so an event costs O(1) whatever the depth;
    # the tuples are built once per distinct stack at the end.
    node_of: Dict[Tuple[int, int], int] = {}  # (parent node, func) -> node
    parents: List[int] = []
    funcs: List[int] = []
    self_ns: List[int] = []
    open_slices: List[List[int]] = []  # [node, start ns, time of the slices directly inside]
    for stamp, func in iter_records(thread.chunks):
        ns = stamp >> KIND_BITS
        if stamp & KIND_MASK <= ENTER_C:
            parent = open_slices[-1][0] if open_slices else -1
            node = node_of.get((parent, func))
            if node is None:
                node = node_of[(parent, func)] = len(funcs)
                parents.append(parent)
                funcs.append(func)
                self_ns.append(0)
            open_slices.append([node, ns, 0])
            continue
        if not open_slices:  # a malformed stream: the model's readers refuse these; never crash here
            continue
        node, start, inner = open_slices.pop()
        duration = ns - start
        self_ns[node] += duration - inner
        if open_slices:
            open_slices[-1][2] += duration
    stacks: List[Stack] = []
    for node, func in enumerate(funcs):
        parent = parents[node]  # always an earlier node: a parent is created before its children
        stacks.append((stacks[parent] if parent >= 0 else ()) + (func,))
    return dict(zip(stacks, self_ns))


__all__ = ["Stack", "self_time_by_stack"]
