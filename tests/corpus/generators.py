"""Generators: iteration from C (sum), send(), a return value, and delegation with yield from."""


def countdown(n):
    while n > 0:
        yield n
        n -= 1


def echo():
    """Counts what it is sent; returns everything it received when sent None."""
    received = []
    value = yield
    while value is not None:
        received.append(value)
        value = yield len(received)
    return received


def chain(*iterables):
    for iterable in iterables:
        yield from iterable


def main():
    total = sum(countdown(3))  # 4 slices: call + 3 resumes; 3 yields + 1 return
    receiver = echo()
    next(receiver)
    receiver.send("a")
    receiver.send("b")
    try:
        receiver.send(None)
    except StopIteration as stop:
        received = stop.value
    joined = list(chain(countdown(2), countdown(1)))  # chain: 4 slices, countdowns nested in them
    return total, received, joined
