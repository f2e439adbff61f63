"""In-place recursive quicksort of seeded random ints: calls mixed with loops and list indexing."""

from __future__ import annotations

import random
from typing import List, Tuple

SIZES = {"full": 60_000, "quick": 5_000}


def swap(items: List[int], i: int, j: int) -> None:
    items[i], items[j] = items[j], items[i]


def partition(items: List[int], lo: int, hi: int) -> int:
    pivot = items[(lo + hi) // 2]
    swap(items, (lo + hi) // 2, hi)
    store = lo
    for i in range(lo, hi):
        if items[i] < pivot:
            swap(items, i, store)
            store += 1
    swap(items, store, hi)
    return store


def quicksort(items: List[int], lo: int, hi: int) -> None:
    if lo < hi:
        p = partition(items, lo, hi)
        quicksort(items, lo, p - 1)
        quicksort(items, p + 1, hi)


def setup(size: int) -> Tuple[List[int], int]:
    rng = random.Random(12345)
    return [rng.randrange(1_000_000) for _ in range(size)], size


def run(prepared: Tuple[List[int], int]) -> List[int]:
    items, size = prepared
    quicksort(items, 0, size - 1)
    return items
