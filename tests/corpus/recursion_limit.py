"""Recursion until RecursionError, caught; the program then carries on."""


def dive(depth):
    return dive(depth + 1)


def recovered():
    return len("still recording")


def main():
    try:
        dive(0)
    except RecursionError:
        pass
    return recovered()
