"""Line shapes for the line collectors: loops, while True with break, multi-line statements,
comprehensions, lambdas, decorators, class bodies, generators driven by send/throw/close, a
coroutine driven by hand, exceptions caught and uncaught, recursion."""

import functools


def loop(n):
    total = 0
    for i in range(n):
        if i % 3:
            total += i
        else:
            total -= 1
    return total


def spin():
    count = 0
    while True:
        count += 1
        if count == 7:
            break
    return count


def multi_line(a, b):
    value = (
        a
        + b
        * 2
    )
    return [
        value,
        value + 1,
    ]


def comprehensions(n):
    squares = [i * i for i in range(n)]
    evens = {i for i in squares if i % 2 == 0}
    table = {i: (lambda x: x + 1)(i) for i in range(n)}
    return len(squares) + len(evens) + sum(table.values()) + sum(i for i in range(n))


def logged(func):
    @functools.wraps(func)
    def wrapper(*args):
        result = func(*args)
        return result

    return wrapper


@logged
def decorated(x):
    return x * 2


class Shape:
    sides = 0
    names = [str(i) for i in range(3)]

    def __init__(self, sides):
        self.sides = sides

    @property
    def double(self):
        return self.sides * 2


def make_class():
    class Local(Shape):
        extra = 1

        def grow(self):
            self.sides += self.extra
            return self

    return Local(3).grow().double


def accumulator():
    total = 0
    while True:
        try:
            value = yield total
        except ValueError:
            total = -1
            continue
        total += value


def drive_generator():
    gen = accumulator()
    next(gen)
    gen.send(5)
    gen.send(6)
    gen.throw(ValueError)
    gen.send(1)
    gen.close()
    return sum(x for x in range(4))


async def inner_coro(x):
    return x + 1


async def outer_coro(n):
    total = 0
    for i in range(n):
        total += await inner_coro(i)
    return total


def drive_coroutine():
    coro = outer_coro(3)
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    return None


def fail(depth):
    if depth:
        return fail(depth - 1)
    raise KeyError(depth)


def caught():
    try:
        fail(3)
    except KeyError:
        return "caught"


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def uncaught():
    return fail(2)


def main():
    results = [
        loop(50),
        spin(),
        multi_line(1, 2),
        comprehensions(5),
        decorated(4),
        make_class(),
        drive_generator(),
        drive_coroutine(),
        caught(),
        fib(10),
    ]
    try:
        uncaught()
    except KeyError:
        results.append("uncaught")
    return results
