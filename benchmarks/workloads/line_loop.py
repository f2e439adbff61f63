"""A tight line-heavy loop: millions of line events and almost no calls, the worst case for a line
profiler (every line event is all there is to pay for)."""

from __future__ import annotations

SIZES = {"full": 1_500_000, "quick": 50_000}


def spin(n: int) -> int:
    total = 0
    i = 0
    while i < n:
        total += i & 7
        i += 1
    return total


def setup(size: int) -> int:
    return size


def run(n: int) -> int:
    return spin(n)
