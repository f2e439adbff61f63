"""The live view's line numbers: the line collector, lines only, for the selected files (every backend)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from pulsetrace.linecollect import LINE_BACKENDS, LineCollector
from pulsetrace.live.files import FileSet, the_file
from pulsetrace.live.lines import CollectorError, LiveLines

HERE = __file__
SRC = str(Path(__file__).resolve().parent.parent / "src")


def _lines_of(marker: str) -> int:
    with open(HERE) as handle:
        return next(n for n, line in enumerate(handle, 1) if line.rstrip().endswith(marker))


def work(rounds: int) -> int:
    total = 0
    for i in range(rounds):  # loop line
        total += len(str(i))  # body line
    return total


def _count(backend: str) -> Dict[Tuple[str, int], int]:
    lines = LiveLines(FileSet(the_file(HERE)), backend=backend)
    lines.start()
    work(50)
    started_after = 1  # the line after start(): counted
    worker = threading.Thread(target=work, args=(20,), name="counted-worker")
    worker.start()
    worker.join()
    lines.stop()
    after_stop = work(5)  # not counted
    assert started_after and after_stop >= 0
    stats = lines.snapshot()
    assert set(stats.files) == {HERE}  # threading.py, str(): not followed
    return {(name, line): stat.hits for name, lines in stats.files.items() for line, stat in lines.items()}


@pytest.mark.parametrize("backend", LINE_BACKENDS)
def test_hits_from_the_next_line_in_every_thread(backend: str) -> None:
    hits = _count(backend)
    assert hits[(HERE, _lines_of("# body line"))] == 70  # 50 here, 20 in the new thread
    assert hits[(HERE, _lines_of("# loop line"))] == 72  # once more per call, at the loop's end
    assert hits[(HERE, _lines_of("# the line after start(): counted"))] == 1
    assert (HERE, _lines_of("# not counted")) not in hits


@pytest.mark.parametrize("backend", LINE_BACKENDS)
def test_snapshots_while_counting_time_and_ignored_threads(backend: str) -> None:
    lines = LiveLines(FileSet(the_file(HERE)), backend=backend)
    seen: List[int] = []
    stop = threading.Event()
    started = threading.Event()

    def reader() -> None:
        lines.ignore_current_thread()
        started.set()
        while not stop.is_set():
            work(3)  # ignored thread: never counted
            stats = lines.snapshot()
            seen.append(sum(s.hits for file_lines in stats.files.values() for s in file_lines.values()))

    lines.start()
    thread = threading.Thread(target=reader)
    thread.start()
    started.wait()
    for _ in range(200):
        work(100)
    lines.stop()
    stop.set()
    thread.join()
    final = lines.snapshot()
    body = final.files[HERE][_lines_of("# body line")]
    assert body.hits == 20000  # the reader's work(3) calls are not in it
    assert body.self_ns > 0 and body.total_ns >= body.self_ns  # time as the heatmap has it
    assert len(seen) > 1 and seen == sorted(seen)  # counts only grow


def test_live_and_the_heatmap_collector_give_the_same_numbers() -> None:
    live = LiveLines(FileSet(the_file(HERE)))
    plain = LineCollector(detail="all")
    live.start()
    work(30)
    live.stop()
    plain.start()
    work(30)
    stats = plain.stop()
    body = _lines_of("# body line")
    assert live.snapshot().files[HERE][body].hits == stats.files[HERE][body].hits == 30


def test_a_second_c_collector_is_a_clear_error() -> None:
    if not any(name.startswith("c-") for name in LINE_BACKENDS):
        pytest.skip("the C extension is not built")
    first = LiveLines(FileSet(the_file(HERE)))
    first.start()
    try:
        with pytest.raises(CollectorError):
            LiveLines(FileSet(the_file(HERE))).start()
    finally:
        first.stop()


STOPPED_DURING_A_VERDICT = """
import gc, sys, threading
from pulsetrace.filters import RECORD
from pulsetrace.linecollect import LineCollector

asked, stopped = threading.Event(), threading.Event()

def code_filter(code):
    if threading.current_thread().name == "late" and not asked.is_set():
        asked.set()
        stopped.wait(10)  # meanwhile the main thread stops the collector and drops it
    return RECORD

collector = LineCollector(detail="all", code_filter=code_filter, backend=sys.argv[1])
collector.start()
late = threading.Thread(target=lambda: None, name="late")
late.start()
asked.wait(10)
collector.stop()
del collector
gc.collect()
stopped.set()
late.join()
print("ok")
"""


@pytest.mark.parametrize("backend", LINE_BACKENDS)
def test_a_collector_stopped_while_another_thread_asks_a_verdict(backend: str, tmp_path: Path) -> None:
    # The live view stops at exit while its server thread may be starting: the thread's hook asks the
    # filter (Python, so other threads run) and must not touch the stopped, freed collector after it.
    program = tmp_path / "late.py"
    program.write_text(STOPPED_DURING_A_VERDICT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [sys.executable, str(program), backend], capture_output=True, text=True, timeout=60, env=env
    )
    assert (result.returncode, result.stdout) == (0, "ok\n"), result.stderr
