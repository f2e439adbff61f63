"""A small simulation that puts its own data on the timeline: instants, a counter, spans, object
snapshots, log records, printed lines, an exception and a garbage collection.

    python3 -m pulsetrace run --log-print --log-exceptions --log-gc --log-args --log-retval \\
        -o custom.json examples/custom_events.py

Run without pulsetrace it prints the same lines: every call below is a no-op when nothing traces.
"""

import gc
import logging

import pulsetrace

log = logging.getLogger("simulation")


@pulsetrace.snapshot("position", "speed", methods=["move"], when="after")
class Body:
    def __init__(self, name: str, speed: float) -> None:
        self.name = name
        self.position = 0.0
        self.speed = speed

    def move(self, seconds: float) -> float:
        self.position += self.speed * seconds
        return self.position


@pulsetrace.span("tick")
def tick(bodies: list, seconds: float) -> None:
    for body in bodies:
        body.move(seconds)


@pulsetrace.ignore_function
def housekeeping() -> int:
    """Not recorded, nor anything it calls."""
    return sum(range(10_000))


def check(body: Body, limit: float) -> None:
    if body.position > limit:
        raise ValueError(f"{body.name} left the track at {body.position:.1f}")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    log.addHandler(pulsetrace.LogHandler())
    bodies = [Body("snail", 0.5), Body("hare", 4.0)]
    distance = pulsetrace.counter("distance")
    pulsetrace.instant("race start", {"bodies": len(bodies)}, scope="process")
    for step in range(5):
        with pulsetrace.span("step", args={"step": step}):
            tick(bodies, 1.0)
            distance.update({body.name: body.position for body in bodies})
            for body in bodies:
                try:
                    check(body, limit=12.0)
                except ValueError as exc:
                    log.warning("%s", exc)
                    body.position = 0.0
        housekeeping()
    print("finished:", ", ".join(f"{b.name} at {b.position:.1f}" for b in bodies))
    gc.collect()


if __name__ == "__main__":
    main()
