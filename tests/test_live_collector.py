"""The live view's line counter: the C counter and its Python twin count the same hits."""

from __future__ import annotations

import importlib.util
import sys
import threading
from typing import Dict, List, Tuple

import pytest

from pulsetrace.live.collector import LineCollector, _c_counter_type
from pulsetrace.live.files import FileSet, the_file

HERE = __file__
C_MISSING = _c_counter_type() is None
COUNTERS = [
    pytest.param(True, marks=pytest.mark.skipif(C_MISSING, reason="the C extension is not built")),
    False,
]


def _lines_of(marker: str) -> int:
    with open(HERE) as handle:
        return next(n for n, line in enumerate(handle, 1) if line.rstrip().endswith(marker))


def work(rounds: int) -> int:
    total = 0
    for i in range(rounds):  # loop line
        total += i % 3  # body line
    return total


def _count(use_c: bool) -> Dict[Tuple[str, int], int]:
    collector = LineCollector(FileSet(the_file(HERE)), use_c=use_c)
    collector.start(sys._getframe())
    work(50)
    started_after = 1  # the line after start(): counted
    worker = threading.Thread(target=work, args=(20,), name="counted-worker")
    worker.start()
    worker.join()
    collector.stop()
    after_stop = work(5)  # not counted
    assert started_after and after_stop >= 0
    stats = collector.snapshot()
    return {(name, line): stat.hits for name, lines in stats.files.items() for line, stat in lines.items()}


@pytest.mark.parametrize("use_c", COUNTERS)
def test_hits_from_the_next_line_in_every_thread(use_c: bool) -> None:
    hits = _count(use_c)
    assert hits[(HERE, _lines_of("# body line"))] == 70  # 50 here, 20 in the new thread
    assert hits[(HERE, _lines_of("# loop line"))] == 72  # once more per call, at the loop's end
    assert hits[(HERE, _lines_of("# the line after start(): counted"))] == 1
    assert (HERE, _lines_of("# not counted")) not in hits


@pytest.mark.skipif(C_MISSING, reason="the C extension is not built")
def test_the_c_counter_and_the_python_twin_agree() -> None:
    assert _count(True) == _count(False)


@pytest.mark.parametrize("use_c", COUNTERS)
def test_snapshots_while_counting_and_time_per_line(use_c: bool) -> None:
    collector = LineCollector(FileSet(the_file(HERE)), use_c=use_c)
    seen: List[int] = []
    stop = threading.Event()

    def reader() -> None:
        collector.ignore_current_thread()
        while not stop.is_set():
            stats = collector.snapshot()
            seen.append(sum(s.hits for lines in stats.files.values() for s in lines.values()))

    thread = threading.Thread(target=reader)
    thread.start()
    collector.start(sys._getframe())
    for _ in range(200):
        work(100)
    collector.stop()
    stop.set()
    thread.join()
    final = collector.snapshot()
    body = final.files[HERE][_lines_of("# body line")]
    assert body.hits == 20000 and body.self_ns > 0
    assert seen == sorted(seen)  # counts only grow


def test_no_c_counter_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSETRACE_CORE", "python")
    from pulsetrace.live.collector import CollectorError

    with pytest.raises(CollectorError):
        LineCollector(FileSet(the_file(HERE)), use_c=True)
    assert importlib.util.find_spec("pulsetrace.live.collector") is not None
