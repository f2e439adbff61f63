"""Exceptions thrown into generators: caught, swallowed, uncaught, close() with cleanup, delegated,
and generators abandoned mid-loop, which the interpreter closes from C when they are freed."""


def guarded():
    """Yields how many ValueErrors were thrown into it so far."""
    caught = 0
    while True:
        try:
            yield caught
        except ValueError:
            caught += 1


def swallowing():
    """Ignores ValueErrors and yields None again from the same place."""
    while True:
        try:
            yield
        except ValueError:
            pass


def fragile():
    yield "first"
    yield "second"


def with_cleanup(log):
    try:
        yield "open"
        yield "still open"
    finally:
        log.append("closed")


def delegating():
    yield from fragile()


def abandoned(log):
    try:
        yield 1
        yield 2
    finally:
        log.append("abandoned")


def bare():
    yield 1
    yield 2


def main():
    counter = guarded()
    next(counter)
    assert counter.throw(ValueError) == 1  # caught: resumes and yields again
    quiet = swallowing()
    next(quiet)
    assert quiet.throw(ValueError) is None  # caught: yields None from the yield point it resumed at
    brittle = fragile()
    next(brittle)
    try:
        brittle.throw(KeyError("boom"))  # not caught: the generator unwinds
    except KeyError:
        pass
    log = []
    closing = with_cleanup(log)
    next(closing)
    closing.close()  # GeneratorExit: the finally block runs, then the generator unwinds
    outer = delegating()
    next(outer)
    try:
        outer.throw(IndexError)  # thrown into fragile() through delegating(): both unwind
    except IndexError:
        pass
    counter.close()
    quiet.close()
    for _ in abandoned(log):
        break  # the generator is freed here and closed by the interpreter, not by a close() call
    for _ in bare():
        break  # the same without a handler: GeneratorExit leaves from the yield point (3.13: no resume)
    return log
