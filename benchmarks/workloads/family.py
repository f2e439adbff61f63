"""The child-process benchmark program: one process that starts a family of Python processes.

A multiprocessing pool of two forked workers maps ``fib`` over eight inputs, one spawned
multiprocessing process computes ``fib``, ``SUBPROCESSES`` Python subprocesses each run this
file as ``family.py child N``, and one more runs it through a shell (``shell=True``). Every
process does a share of real work, so a tool that traces children records calls in all of them;
one that does not records only the parent's waiting.
"""

from __future__ import annotations

import multiprocessing
import shlex
import subprocess
import sys

SUBPROCESSES = 4


def fib(n: int) -> int:
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def parent(size: int) -> None:
    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.map(fib, [size] * 8, chunksize=1)
        pool.close()
        pool.join()
    spawned = multiprocessing.get_context("spawn").Process(target=fib, args=(size,))
    spawned.start()
    spawned.join()
    children = [
        subprocess.Popen([sys.executable, __file__, "child", str(size)]) for _ in range(SUBPROCESSES)
    ]
    codes = [child.wait() for child in children]
    command = " ".join(shlex.quote(word) for word in (sys.executable, __file__, "child", str(size)))
    codes.append(subprocess.run(command, shell=True).returncode)
    fib(size)
    print(sum(results), codes, spawned.exitcode)


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        fib(int(sys.argv[2]))
    else:
        parent(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
