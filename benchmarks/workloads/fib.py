"""Recursive Fibonacci: nothing but Python-to-Python calls, the worst case for a tracer."""

from __future__ import annotations

SIZES = {"full": 30, "quick": 20}


def fib(n: int) -> int:
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def setup(size: int) -> int:
    return size


def run(n: int) -> int:
    return fib(n)
