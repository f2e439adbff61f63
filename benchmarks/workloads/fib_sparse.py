"""Sparse mode: recursive fib under one function decorated with @pulsetrace.trace_only.

With ``trace_only`` on, only the decorated ``solve`` is recorded (one slice with its arguments);
fib runs untraced. The untraced baseline runs the same decorated function.
"""

from __future__ import annotations

import pulsetrace

SIZES = {"full": 30, "quick": 20}


def fib(n: int) -> int:
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


@pulsetrace.trace_only
def solve(n: int) -> int:
    return fib(n)


def setup(size: int) -> int:
    return size


def run(n: int) -> int:
    return solve(n)
