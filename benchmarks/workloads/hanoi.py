"""Towers of Hanoi: 2**n recursive calls with more arguments per call than fib."""

from __future__ import annotations

SIZES = {"full": 20, "quick": 13}


def hanoi(n: int, source: str, target: str, spare: str) -> int:
    """Number of moves to shift n discs from source to target."""
    if n == 0:
        return 0
    moves = hanoi(n - 1, source, spare, target)
    moves += 1
    return moves + hanoi(n - 1, spare, target, source)


def setup(size: int) -> int:
    return size


def run(n: int) -> int:
    return hanoi(n, "A", "C", "B")
