"""C calling back into Python: sorted(key=...), map() consumed by list(), functools.reduce()."""

import functools


def key_length(word):
    return len(word)


def square(x):
    return x * x


def add(a, b):
    return a + b


def main():
    words = sorted(["ccc", "a", "bb"], key=key_length)  # 3 key_length calls inside builtins.sorted
    squares = list(map(square, [1, 2, 3]))  # map and list are classes: square runs under main()
    total = functools.reduce(add, [1, 2, 3, 4])  # 3 add calls inside _functools.reduce
    return words, squares, total
