"""A realistic mixed workload with many C calls: dataclasses, json, re, sorting with key functions.

It builds order records, renders them as log lines, parses the lines back with a regular expression,
round-trips them through JSON and summarises them, the way a small data-processing script would.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Tuple

SIZES = {"full": 8_000, "quick": 300}

LINE = re.compile(r"^(?P<day>\d{4}-\d\d-\d\d) (?P<user>[a-z]+)#(?P<uid>\d+) bought (?P<qty>\d+)x"
                  r" (?P<sku>[A-Z]{3}-\d{4}) at (?P<price>\d+\.\d\d)$")
NAMES = ["ada", "bob", "cyd", "dee", "eve", "fay", "gus", "hal"]


@dataclass
class Order:
    day: str
    user: str
    uid: int
    qty: int
    sku: str
    price: float
    tags: List[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return round(self.qty * self.price, 2)


def make_lines(count: int, seed: int) -> List[str]:
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        day = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        user = rng.choice(NAMES)
        sku = "".join(rng.choice("ABCDEFGH") for _ in range(3)) + f"-{rng.randint(0, 9999):04d}"
        lines.append(f"{day} {user}#{rng.randint(1, 500)} bought {rng.randint(1, 9)}x {sku} "
                     f"at {rng.randint(100, 99_999) / 100:.2f}")
    return lines


def parse(line: str) -> Order:
    match = LINE.match(line)
    if match is None:
        raise ValueError(line)
    g = match.groupdict()
    tags = [word.lower() for word in g["sku"].split("-") if word.isalpha()]
    return Order(g["day"], g["user"], int(g["uid"]), int(g["qty"]), g["sku"], float(g["price"]), tags)


def summarise(orders: List[Order]) -> Dict[str, Dict[str, float]]:
    per_user: Dict[str, Dict[str, float]] = {}
    for order in sorted(orders, key=lambda o: (o.user, o.day, o.sku)):
        stats = per_user.setdefault(order.user, {"orders": 0, "spent": 0.0})
        stats["orders"] += 1
        stats["spent"] = round(stats["spent"] + order.total, 2)
    return per_user


def run(lines: List[str]) -> Tuple[int, str]:
    orders = [parse(line) for line in lines]
    encoded = json.dumps([asdict(order) for order in orders], sort_keys=True)
    decoded = [Order(**row) for row in json.loads(encoded)]
    assert decoded == orders
    biggest = sorted(decoded, key=lambda o: o.total, reverse=True)[:10]
    summary = summarise(decoded)
    report = json.dumps({"top": [o.sku for o in biggest], "users": summary}, indent=1)
    return len(decoded), re.sub(r"\s+", " ", report)


def setup(size: int) -> List[str]:
    return make_lines(size, seed=2024)
