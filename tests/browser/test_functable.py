"""The function table's numbers (web/aggregate.js functionTotals) against pulsetrace's own callstats, and
the table itself in the real viewer: sorting by every column, filtering, clicking a row."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from helpers_cli import run_pulsetrace, write
from pulsetrace.events import (
    ENTER_C,
    ENTER_CALL,
    ENTER_RESUME,
    EXIT_RETURN,
    EXIT_STOP,
    EXIT_UNWIND,
    EXIT_YIELD,
    FUNC_C,
    FUNC_PYTHON,
    KIND_BITS,
    KIND_MASK,
    iter_records,
    pack,
)
from pulsetrace.model import ProcessTrace, ThreadTrace, Trace, read_any_trace
from pulsetrace.recording import FunctionInfo
from pulsetrace.reports.callstats import CallStats

WEB = Path(__file__).resolve().parents[2] / "src" / "pulsetrace" / "web"
ORIGIN = "http://pulsetrace.test"
FLAG_OF_ENTRY = {ENTER_RESUME: 1}
FLAG_OF_EXIT = {EXIT_YIELD: 2, EXIT_UNWIND: 4, EXIT_STOP: 8}
FunctionKey = Tuple[int, str, str, int]

# Turns the JSON form of the viewer's trace (lists) into the contract's typed arrays, in the page.
TO_VIEWER_TRACE = """
(data) => {
  const typed = {start: Float64Array, end: Float64Array, func: Int32Array, depth: Uint16Array,
                 parent: Int32Array, flags: Uint8Array};
  for (const process of data.processes) {
    for (const thread of process.threads) {
      const slices = {count: thread.slices.start.length};
      for (const [name, type] of Object.entries(typed)) slices[name] = type.from(thread.slices[name]);
      thread.slices = slices;
    }
  }
  return data;
}
"""


def viewer_trace(trace: Trace) -> Dict[str, Any]:
    """The viewer's in-memory trace (web/model.js's contract) as JSON lists, built in Python from the
    model: one function table for all processes, slices in preorder, times from the earliest start."""
    origin = min(process.start_ns for process in trace.processes)
    keys: Dict[FunctionKey, int] = {}
    functions: List[Dict[str, Any]] = []
    processes = []
    for process in trace.processes:
        ids = []
        for info in process.functions:
            key = (info.kind, info.name, info.filename, info.lineno)
            if key not in keys:
                keys[key] = len(functions)
                functions.append({"name": info.name, "filename": info.filename, "lineno": info.lineno,
                                  "kind": info.kind})
            ids.append(keys[key])
        threads = [_viewer_thread(thread, ids, origin) for thread in process.threads]
        processes.append({"pid": process.pid, "name": process.name, "threads": threads})
    return {"functions": functions, "processes": processes, "startNs": 0}


def _viewer_thread(thread: ThreadTrace, ids: List[int], origin: int) -> Dict[str, Any]:
    columns: Dict[str, List[int]] = {name: [] for name in ("start", "end", "func", "depth", "parent")}
    columns["flags"] = []
    stack: List[int] = []
    for stamp, func in iter_records(thread.chunks):
        kind = stamp & KIND_MASK
        ns = (stamp >> KIND_BITS) - origin
        if kind <= ENTER_C:
            columns["start"].append(ns)
            columns["end"].append(ns)
            columns["func"].append(ids[func])
            columns["depth"].append(len(stack))
            columns["parent"].append(stack[-1] if stack else -1)
            columns["flags"].append(FLAG_OF_ENTRY.get(kind, 0))
            stack.append(len(columns["start"]) - 1)
        else:
            index = stack.pop()
            columns["end"][index] = ns
            columns["flags"][index] |= FLAG_OF_EXIT.get(kind, 0)
    deepest = max(columns["depth"], default=0)
    return {"pid": 0, "ident": thread.ident, "name": thread.name, "maxDepth": deepest, "slices": columns}


def expected_totals(trace: Trace) -> Dict[FunctionKey, Tuple[int, int, int, int, int]]:
    """(calls, slices, total, self, max) per function of the whole trace, from reports.callstats: the
    sums over processes (the viewer merges identical functions of different processes)."""
    merged: Dict[FunctionKey, Tuple[int, int, int, int, int]] = {}
    for process in trace.processes:
        for stats in CallStats.of(process).functions.values():
            info = stats.info
            key = (info.kind, info.name, info.filename, info.lineno)
            calls, slices, total, own, longest = merged.get(key, (0, 0, 0, 0, 0))
            merged[key] = (calls + stats.calls, slices + stats.slices, total + stats.total_ns,
                           own + stats.self_ns, max(longest, stats.max_ns))
    return merged


def page_totals(module_page: Any, trace: Trace) -> Dict[FunctionKey, Tuple[int, int, int, int, int]]:
    """functionTotals of aggregate.js, run in the page on the viewer's form of ``trace``."""
    rows = module_page.evaluate(
        f"""async (data) => {{
          const aggregate = await import("{ORIGIN}/aggregate.js");
          const trace = ({TO_VIEWER_TRACE})(data);
          const totals = aggregate.functionTotals(trace);
          const rows = [];
          trace.functions.forEach((f, id) => {{
            if (!totals.ran[id]) return;
            rows.push([f.kind, f.name, f.filename, f.lineno, totals.calls[id], totals.slices[id],
                       totals.total[id], totals.self[id], totals.max[id]]);
          }});
          return rows;
        }}""",
        viewer_trace(trace),
    )
    return {tuple(row[:4]): tuple(int(value) for value in row[4:]) for row in rows}  # type: ignore[misc]


@pytest.fixture
def module_page(page: Any) -> Iterator[Any]:
    """A page on a made-up origin whose files are the web/ directory, so ES modules import each other
    as they do when served (file:// pages cannot import modules)."""

    def serve(route: Any) -> None:
        name = route.request.url[len(ORIGIN) + 1:].split("?", 1)[0] or "index.html"
        path = WEB / name
        if name == "index.html":
            route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>modules</title>")
        elif path.is_file() and path.parent == WEB:
            route.fulfill(status=200, content_type="text/javascript", body=path.read_text())
        else:
            route.fulfill(status=404, body="")

    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/index.html")
    yield page


FUNCTIONS = [
    FunctionInfo(FUNC_PYTHON, "main", "/srv/app.py", 1),
    FunctionInfo(FUNC_PYTHON, "fact", "/srv/app.py", 5),
    FunctionInfo(FUNC_C, "builtins.len", "", 0),
    FunctionInfo(FUNC_PYTHON, "gen", "/srv/app.py", 9),
    FunctionInfo(FUNC_PYTHON, "never", "/srv/app.py", 20),
]
# main: fact -> fact -> len (recursion), a generator resumed once, a call that unwinds; another thread
# whose slices are still open at stop.
MAIN_THREAD = [
    (1000, ENTER_CALL, 0), (1010, ENTER_CALL, 1), (1020, ENTER_CALL, 1), (1030, ENTER_C, 2),
    (1035, EXIT_RETURN, 2), (1050, EXIT_RETURN, 1), (1060, EXIT_RETURN, 1), (1062, ENTER_CALL, 3),
    (1064, EXIT_YIELD, 3), (1070, ENTER_RESUME, 3), (1075, EXIT_RETURN, 3), (1080, ENTER_CALL, 1),
    (1090, EXIT_UNWIND, 1), (1100, EXIT_RETURN, 0),
]
OTHER_THREAD = [(1500, ENTER_CALL, 1), (1520, ENTER_C, 2), (1521, EXIT_STOP, 2), (1521, EXIT_STOP, 1)]


def process_of(pid: int, functions: List[FunctionInfo], *threads: List[Tuple[int, int, int]]) -> ProcessTrace:
    return ProcessTrace(
        pid=pid,
        name=f"python app.py ({pid})",
        functions=functions,
        threads=[
            ThreadTrace(i + 1, i + 1, f"t{i}", [b"".join(pack(*record) for record in records)])
            for i, records in enumerate(threads)
        ],
        start_ns=1000,
        stop_ns=2000,
        wall_anchor_ns=0,
        mono_anchor_ns=0,
    )


def test_totals_of_a_known_trace(module_page: Any) -> None:
    trace = Trace([process_of(7, list(FUNCTIONS), MAIN_THREAD, OTHER_THREAD)])
    totals = page_totals(module_page, trace)
    assert totals == expected_totals(trace)
    fact = totals[(FUNC_PYTHON, "fact", "/srv/app.py", 5)]
    # recursion: the inner fact's 30 ns are inside the outer one's 50 and count once
    assert fact == (4, 4, 50 + 10 + 21, 20 + 25 + 10 + 20, 50)
    assert totals[(FUNC_PYTHON, "gen", "/srv/app.py", 9)] == (1, 2, 7, 7, 5)  # a resumption is no call
    assert (FUNC_PYTHON, "never", "/srv/app.py", 20) not in totals


def test_totals_merge_functions_of_several_processes(module_page: Any) -> None:
    # The second process lists the same functions in another order, plus one of its own.
    reordered = [FUNCTIONS[2], FUNCTIONS[0], FUNCTIONS[1], FunctionInfo(FUNC_PYTHON, "child", "/srv/c.py", 3)]
    child_thread = [
        (1200, ENTER_CALL, 1), (1210, ENTER_CALL, 3), (1215, ENTER_C, 0), (1230, EXIT_RETURN, 0),
        (1240, EXIT_RETURN, 3), (1250, ENTER_CALL, 2), (1400, EXIT_RETURN, 2), (1500, EXIT_RETURN, 1),
    ]
    trace = Trace([process_of(7, list(FUNCTIONS), MAIN_THREAD), process_of(8, reordered, child_thread)])
    totals = page_totals(module_page, trace)
    assert totals == expected_totals(trace)
    assert totals[(FUNC_PYTHON, "main", "/srv/app.py", 1)][0] == 2  # one call in each process
    assert totals[(FUNC_PYTHON, "fact", "/srv/app.py", 5)][4] == 150  # the longest, in the second process


PROGRAM = """
import threading

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def numbers():
    for i in range(4):
        yield i

async def nap(n):
    return fib(n)

def ping(n):
    return pong(n - 1) if n > 0 else 0

def pong(n):
    return ping(n - 1) + 1 if n > 0 else 0

def fails():
    raise ValueError("no")

def main():
    worker = threading.Thread(target=fib, args=(12,))
    worker.start()
    import asyncio
    total = fib(14) + sum(numbers()) + ping(30) + asyncio.run(nap(8)) + len(sorted([3, 1, 2]))
    worker.join()
    try:
        fails()
    except ValueError:
        pass
    print(total)

main()
"""


def test_totals_of_a_real_program_match_callstats(module_page: Any, tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", PROGRAM)
    result = run_pulsetrace(["run", "-o", "prog.pulse", str(program)], tmp_path)
    assert result.returncode == 0, result.stderr
    trace = read_any_trace(tmp_path / "prog.pulse")
    totals = page_totals(module_page, trace)
    assert totals == expected_totals(trace)
    names = {key[1] for key in totals}
    assert {"fib", "numbers", "ping", "pong", "fails", "nap", "main"} <= names
    assert len(totals) > 20  # the asyncio and threading machinery too

