"""Claiming a ``sys.monitoring`` tool id (3.12+), shared by every part of pulsetrace that uses one.

Good neighbour: never take an id another tool holds (coverage, a debugger, cProfile); each caller
says what to do when every id is taken.
"""

from __future__ import annotations

import sys
from typing import Any, Iterable, Optional


def claim_free_tool_id(candidates: Iterable[int], name: str) -> Optional[int]:
    """The first of ``candidates`` that was free and is now held under ``name``, or None when all are
    taken. An id claimed by another thread between the check and the claim is skipped."""
    monitoring: Any = getattr(sys, "monitoring")  # noqa: B009 - 3.12+ only; callers check
    for tool_id in candidates:
        if monitoring.get_tool(tool_id) is not None:
            continue
        try:
            monitoring.use_tool_id(tool_id, name)
        except ValueError:  # taken between the check and the claim
            continue
        return tool_id
    return None
