"""Plain recursion: fib(10) makes 177 calls of fib."""

FIB_CALLS = 177


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def main():
    return fib(10)
