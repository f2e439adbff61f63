"""A small program with the shapes pulsetrace is built to show: recursion, a generator pipeline,
C calls (json, re, sorted), an exception, and worker threads.

    python3 -m pulsetrace run examples/demo.py
"""

import json
import re
import threading
from dataclasses import asdict, dataclass


@dataclass
class Order:
    id: int
    customer: str
    total: float


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def quicksort(items: list) -> list:
    if len(items) <= 1:
        return items
    pivot, rest = items[0], items[1:]
    return quicksort([x for x in rest if x < pivot]) + [pivot] + quicksort([x for x in rest if x >= pivot])


def orders(count: int):
    for i in range(count):
        yield Order(i, f"customer-{i % 7}", round(i * 1.37 % 50, 2))


def parse_amount(text: str) -> float:
    match = re.fullmatch(r"\$(\d+)\.(\d\d)", text)
    if match is None:
        raise ValueError(f"not an amount: {text!r}")
    return int(match.group(1)) + int(match.group(2)) / 100


def report(count: int) -> str:
    rows = sorted(orders(count), key=lambda order: order.total, reverse=True)
    return json.dumps([asdict(order) for order in rows[:5]])


def worker(n: int, results: list) -> None:
    results.append(fib(n))


def main() -> None:
    print("fib(18) =", fib(18))
    print("sorted:", quicksort([5, 3, 9, 1, 7, 2, 8])[:5])
    print("top orders:", report(300)[:60], "...")
    try:
        parse_amount("12 dollars")
    except ValueError as error:
        print("handled:", error)
    results: list = []
    threads = [threading.Thread(target=worker, args=(15, results), name=f"worker-{i}") for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("workers:", results)


if __name__ == "__main__":
    main()
