"""Small tricky programs, each a module with a ``main()``, traced by every core in the tests.

``harness`` (not a program) runs them under a tracer and reads the trace back.
"""

PROGRAMS = (
    "generators",
    "gen_throw",
    "async_tasks",
    "async_cancel",
    "exceptions",
    "deep_exit",
    "recursion",
    "recursion_limit",
    "c_raise",
    "callbacks",
    "threads",
    "classes",
    "c_methods",
)
