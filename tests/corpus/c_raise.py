"""C functions that raise, caught in Python; int() is a class, so its failure has no C slice."""

import math


def parse(text):
    try:
        return int(text)
    except ValueError:
        return None


def root(x):
    try:
        return math.sqrt(x)  # ValueError for x < 0, raised inside math.sqrt
    except ValueError:
        return float("nan")


def take(table, key):
    try:
        return table.pop(key)  # KeyError raised inside dict.pop
    except KeyError:
        return None


def main():
    return parse("12"), parse("x"), root(4.0), root(-1.0), take({"a": 1}, "a"), take({}, "b")
