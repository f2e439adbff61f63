"""Three worker threads; the second is renamed by main() while it runs."""

import threading

WORKERS = 3
RENAMED = "renamed-worker"


def crunch(n):
    return sum(i * i for i in range(n))


def worker(index, results, gate):
    gate.wait()
    results[index] = crunch(10 + index)


def main():
    results = [0] * WORKERS
    gate = threading.Event()
    threads = [
        threading.Thread(target=worker, args=(i, results, gate), name=f"worker-{i}") for i in range(WORKERS)
    ]
    for thread in threads:
        thread.start()
    threads[1].name = RENAMED  # while it waits at the gate
    gate.set()
    for thread in threads:
        thread.join()
    return results
