"""Fibonacci that sleeps briefly at one recursion depth: a program that mostly waits.

A tracer's overhead should nearly vanish here; a tracer that costs a lot per event still shows it.
"""

from __future__ import annotations

import time
from typing import Tuple

# (n, the depth that sleeps, seconds per sleep): fib(22) reaches fib(10) 233 times.
SIZES = {"full": (22, 10, 0.0005), "quick": (16, 10, 0.0005)}


def sleepy_fib(n: int, sleep_at: int, seconds: float) -> int:
    if n == sleep_at:
        time.sleep(seconds)
    if n < 2:
        return n
    return sleepy_fib(n - 1, sleep_at, seconds) + sleepy_fib(n - 2, sleep_at, seconds)


def setup(size: Tuple[int, int, float]) -> Tuple[int, int, float]:
    return size


def run(prepared: Tuple[int, int, float]) -> int:
    return sleepy_fib(*prepared)
