"""The end-to-end CLI program: recursive fib plus a quicksort of seeded random ints.

Run as a script (``python fib_quicksort.py``, ``pulsetrace run ... fib_quicksort.py``,
``viztracer ... fib_quicksort.py``). Its calls stay below VizTracer's default buffer of one
million entries so VizTracer records everything with its default settings too.
"""

from __future__ import annotations

import random
import sys
from typing import List


def fib(n: int) -> int:
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def quicksort(items: List[int]) -> List[int]:
    if len(items) <= 1:
        return items
    pivot = items[len(items) // 2]
    smaller = [x for x in items if x < pivot]
    equal = [x for x in items if x == pivot]
    larger = [x for x in items if x > pivot]
    return quicksort(smaller) + equal + quicksort(larger)


def main(fib_n: int = 26, sort_n: int = 20_000) -> None:
    rng = random.Random(7)
    items = [rng.randrange(1_000_000) for _ in range(sort_n)]
    assert quicksort(items) == sorted(items)
    fib(fib_n)


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
