"""An exception raised three frames down, unwinding through a finally, caught in main()."""


def innermost(value):
    if value < 0:
        raise ValueError(f"negative: {value}")
    return value


def middle(value):
    return innermost(value) * 2


def outer(value):
    try:
        return middle(value)
    finally:
        pass  # runs while the exception passes through


def main():
    results = [outer(1)]
    try:
        outer(-1)
    except ValueError as exc:
        results.append(exc.args[0])
    return results
