"""The function table's numbers (web/aggregate.js functionTotals) against pulsetrace's own callstats, and
the table itself in the real viewer: sorting by every column, filtering, clicking a row."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from viewer_helpers import OPEN_VIEW, ORIGIN

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



# A program with one known call structure and many small functions, so the table has rows to scroll.
TABLE_PROGRAM = """
def spin(n):
    total = 0
    for i in range(n):
        total += i
    return total

def leaf():
    return spin(2000)

def middle():
    for _ in range(3):
        leaf()
    return spin(500)

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

namespace = {}
exec("\\n".join(f"def helper_{i}(): return {i}" for i in range(1500)), namespace)

def main():
    for _ in range(4):
        middle()
    fib(10)
    for i in range(1500):
        namespace[f"helper_{i}"]()

main()
"""
COLUMNS = ["name", "location", "calls", "total", "totalShare", "self", "selfShare", "average", "max"]


@pytest.fixture(scope="module")
def table_trace(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Trace, bytes, Path]:
    """The table program's trace, as the model reads it and as the file's bytes, and its folder."""
    folder = tmp_path_factory.mktemp("table")
    program = write(folder / "prog.py", TABLE_PROGRAM)
    result = run_pulsetrace(["run", "-o", "prog.pulse", str(program)], folder)
    assert result.returncode == 0, result.stderr
    return read_any_trace(folder / "prog.pulse"), (folder / "prog.pulse").read_bytes(), folder


@pytest.fixture
def table(module_page: Any, table_trace: Tuple[Trace, bytes, Path]) -> Any:
    """A page showing the function table of the table program."""
    module_page.evaluate(
        OPEN_VIEW,
        {"bytes64": base64.b64encode(table_trace[1]).decode(), "module": "functable",
         "className": "FunctionTableView"},
    )
    return module_page


def rows_in_view(table: Any) -> List[Dict[str, Any]]:
    return list(table.evaluate("view.visibleRows()"))


def sort_values(table: Any, trace: Trace) -> Dict[str, Dict[int, Any]]:
    """Each column's sort value per function id of the page, from callstats (the oracle)."""
    expected = expected_totals(trace)
    functions = table.evaluate("trace.functions.map((f) => [f.kind, f.name, f.filename, f.lineno])")
    values: Dict[str, Dict[int, Any]] = {column: {} for column in COLUMNS}
    for func, key in enumerate(tuple(f) for f in functions):
        if key not in expected:
            continue
        calls, _, total, own, longest = expected[key]  # type: ignore[index]
        values["name"][func] = key[1]
        values["calls"][func] = calls
        values["total"][func] = values["totalShare"][func] = total
        values["self"][func] = values["selfShare"][func] = own
        values["average"][func] = total / calls if calls else 0
        values["max"][func] = longest
    return values


def in_locale_order(table: Any, texts: List[str]) -> bool:
    """Whether the texts are in the browser's collation order with numbers by value ("a:7" before "a:10")."""
    return bool(table.evaluate(
        """(t) => {
          const compare = new Intl.Collator(undefined, { numeric: true }).compare;
          return t.every((s, i) => i === 0 || compare(t[i - 1], s) <= 0);
        }""",
        texts,
    ))


def test_rows_show_the_callstats_figures(table: Any, table_trace: Tuple[Trace, bytes, Path]) -> None:
    values = sort_values(table, table_trace[0])
    assert table.locator(".pt-table-count").inner_text() == f"{len(values['calls']):,} functions"
    table.locator(".pt-table-filter").fill("middle")
    (row,) = rows_in_view(table)
    func = row["func"]
    formatted = table.evaluate(
        f"""async (values) => {{
          const format = await import("{ORIGIN}/format.js");
          return values.map((ns) => format.formatDuration(ns));
        }}""",
        [values["total"][func], values["self"][func], values["average"][func], values["max"][func]],
    )
    name, location, calls, total, total_share, own, self_share, average, longest = row["cells"]
    assert (name, location, calls) == ("middle", "prog.py:10", "4")
    assert [total, own, average, longest] == formatted
    assert total_share.endswith("%") and self_share.endswith("%")


def test_file_column_sorts_line_numbers_by_value(table: Any) -> None:
    table.locator(".pt-table-filter").fill("prog.py")
    table.get_by_role("columnheader", name="File").click()
    locations = [row["cells"][1] for row in rows_in_view(table)]
    # leaf is at line 7, middle at 10, fib at 15: text order would put ":10" and ":15" before ":7"
    lines = [int(location.rsplit(":", 1)[1]) for location in locations]
    assert lines == sorted(lines) and 7 in lines and 10 in lines


def test_every_column_sorts_both_ways(table: Any, table_trace: Tuple[Trace, bytes, Path]) -> None:
    values = sort_values(table, table_trace[0])
    headers = table.locator(".pt-table-header")
    assert table.locator(".pt-table-header[aria-sort=descending]").inner_text() == "Self ▼"  # the default
    for index, column in enumerate(COLUMNS):
        for direction in ("first", "second"):
            headers.nth(index).click()
            header = headers.nth(index)
            order = header.get_attribute("aria-sort")
            numeric = column not in ("name", "location")
            if direction == "first":  # a new sort column: numbers largest first, text A to Z
                assert order == ("descending" if numeric else "ascending")
            else:  # the same column again: reversed
                assert order == ("ascending" if numeric else "descending")
            shown = [row["func"] for row in rows_in_view(table)]
            assert len(shown) >= 20
            if not numeric:
                texts = [row["cells"][COLUMNS.index(column)] for row in rows_in_view(table)]
                assert in_locale_order(table, texts if order == "ascending" else texts[::-1]), column
                continue
            keys = [values[column][func] for func in shown]
            assert keys == sorted(keys, reverse=order == "descending"), column
            # the rows at the top are the extremes of all functions, not only of the rows built
            every = values[column].values()
            assert keys[0] == (max(every) if order == "descending" else min(every))


def test_filter_keeps_rows_by_name_or_file(table: Any, table_trace: Tuple[Trace, bytes, Path]) -> None:
    trace = table_trace[0]
    ran = expected_totals(trace)  # (kind, name, file, line) -> figures
    table.locator(".pt-table-filter").fill("FiB")
    assert [row["cells"][0] for row in rows_in_view(table)] == ["fib"]
    assert table.locator(".pt-table-count").inner_text() == f"1 of {len(ran):,} functions"
    assert table.evaluate("app.matchCount") == 1
    table.locator(".pt-table-filter").fill("helper_14")  # helper_14, helper_140..149, helper_1400..1499
    assert sum(1 for key in ran if "helper_14" in key[1]) == 111
    assert table.locator(".pt-table-count").inner_text() == f"111 of {len(ran):,} functions"
    table.locator(".pt-table-filter").fill("prog.py")  # by file: every function of the program
    in_prog = [key for key in ran if key[2].endswith("prog.py")]
    assert {"spin", "leaf", "middle", "fib", "main", "<module>"} <= {key[1] for key in in_prog}
    assert table.evaluate("view.shown.length") == len(in_prog)  # not the helpers: exec'd, in "<string>"
    table.locator(".pt-table-filter").fill("")
    assert table.locator(".pt-table-count").inner_text() == f"{len(ran):,} functions"
    table.evaluate("view.setSearch('spin')")  # the shared search box filters too
    assert table.locator(".pt-table-filter").input_value() == "spin"
    assert [row["cells"][0] for row in rows_in_view(table)] == ["spin"]


def test_rows_are_virtualised(table: Any, table_trace: Tuple[Trace, bytes, Path]) -> None:
    ran = len(expected_totals(table_trace[0]))
    assert ran > 1500
    assert table.locator(".pt-table-row").count() < 80  # only the rows in view, and a few around them
    table.get_by_role("columnheader", name="Function").click()  # by name, A to Z
    scroller = table.locator(".pt-table-scroll")
    scroller.evaluate("(element) => { element.scrollTop = element.scrollHeight; }")
    table.wait_for_function(f"view.visibleRows().some((row) => row.func === view.shown[{ran - 1}])")
    last = table.evaluate(f"trace.functions[view.shown[{ran - 1}]].name")
    assert table.get_by_role("row", name=last).first.is_visible()
    assert table.locator(".pt-table-row").count() < 80


def test_click_and_keyboard_open_the_function(table: Any) -> None:
    table.locator(".pt-table-filter").fill("leaf")
    table.get_by_role("row").filter(has_text="leaf").click()
    func = table.evaluate("trace.functions.findIndex((f) => f.name === 'leaf')")
    assert table.evaluate("app.requests") == [["highlightFunction", func], ["openFunctionInFlamegraph", func]]
    assert table.locator(".pt-table-row.selected").inner_text().startswith("leaf")
    table.locator(".pt-table-filter").fill("")
    table.locator(".pt-table-scroll").focus()
    table.keyboard.press("ArrowDown")
    below = table.evaluate("view.selectedFunc")
    assert below != func and below == table.evaluate(f"view.shown[view.shown.indexOf({func}) + 1]")
    table.keyboard.press("Enter")
    assert table.evaluate("app.requests").pop() == ["openFunctionInFlamegraph", below]


def test_the_viewer_page_table_opens_a_function(page: Any, tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", TABLE_PROGRAM)
    result = run_pulsetrace(["run", "-o", "prog.html", str(program)], tmp_path)
    assert result.returncode == 0, result.stderr
    page.goto((tmp_path / "prog.html").as_uri())
    page.wait_for_function("window.pulsetraceViewer && window.pulsetraceViewer.trace !== null")
    page.get_by_role("tab", name="Functions").click()
    page.get_by_role("columnheader", name="Calls").click()
    first = page.locator(".pt-table-row").first
    # fib(10) makes 177 calls (2 * F(11) - 1), more than any other function; spin 16, leaf 12
    assert first.locator(".pt-table-cell").all_inner_texts()[:3] == ["fib", "prog.py:15", "177"]
    page.locator(".pt-table-filter").fill("LEAF")
    page.get_by_role("row").filter(has_text="leaf").click()
    app = "window.pulsetraceViewer"
    leaf = page.evaluate(f"{app}.trace.functions.findIndex((f) => f.name === 'leaf')")
    assert page.evaluate(f"{app}.activeView") == "flamegraph"
    assert page.evaluate(f"{app}.timeline.highlightedFunction") == leaf
    assert page.locator(".pt-flame-crumb").all_inner_texts()[-2:] == ["middle", "leaf"]
    page.get_by_role("tab", name="Functions").click()
    assert page.locator(".pt-table-row.selected").inner_text().startswith("leaf")


def test_a_combined_trace_merges_the_functions_of_its_processes(module_page: Any, tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", PROGRAM)
    for name in ("one", "two"):
        result = run_pulsetrace(["run", "-o", f"{name}.pulse", str(program)], tmp_path)
        assert result.returncode == 0, result.stderr
    result = run_pulsetrace(["combine", "one.pulse", "two.pulse", "-o", "both.pulse"], tmp_path)
    assert result.returncode == 0, result.stderr
    trace = read_any_trace(tmp_path / "both.pulse")
    assert len(trace.processes) == 2
    module_page.evaluate(
        OPEN_VIEW,
        {"bytes64": base64.b64encode((tmp_path / "both.pulse").read_bytes()).decode(), "module": "functable",
         "className": "FunctionTableView"},
    )
    rows = module_page.evaluate(
        f"""async () => {{
          const aggregate = await import("{ORIGIN}/aggregate.js");
          const totals = aggregate.functionTotals(trace);
          return trace.functions.map((f, id) => [f.kind, f.name, f.filename, f.lineno, totals.ran[id],
            totals.calls[id], totals.slices[id], totals.total[id], totals.self[id], totals.max[id]]);
        }}"""
    )
    decoded = {tuple(row[:4]): tuple(int(v) for v in row[5:]) for row in rows if row[4]}
    assert decoded == expected_totals(trace)
    # both processes ran main once: one row, two calls
    module_page.locator(".pt-table-filter").fill("main")
    main = next(row for row in rows_in_view(module_page) if row["cells"][0] == "main")
    assert main["cells"][2] == "2"
    options = module_page.locator(".pt-table-thread option").all_inner_texts()
    pids = [process.pid for process in trace.processes]
    assert options[0] == f"All threads ({sum(len(p.threads) for p in trace.processes)})"
    assert any(option.startswith(f"pid {pids[0]}: ") for option in options)
    assert any(option.startswith(f"pid {pids[1]}: ") for option in options)



def test_thread_picker_shows_one_threads_figures(module_page: Any, tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", PROGRAM)
    result = run_pulsetrace(["run", "-o", "prog.pulse", str(program)], tmp_path)
    assert result.returncode == 0, result.stderr
    trace = read_any_trace(tmp_path / "prog.pulse")
    process = trace.processes[0]
    worker = next(i for i, thread in enumerate(process.threads) if thread.name != "MainThread")
    module_page.evaluate(
        OPEN_VIEW,
        {"bytes64": base64.b64encode((tmp_path / "prog.pulse").read_bytes()).decode(), "module": "functable",
         "className": "FunctionTableView"},
    )
    module_page.locator(".pt-table-thread").select_option(str(worker))
    only_worker = Trace([dataclasses.replace(process, threads=[process.threads[worker]])])
    expected = expected_totals(only_worker)
    assert module_page.locator(".pt-table-count").inner_text() == f"{len(expected)} functions"
    module_page.get_by_role("columnheader", name="Calls").click()
    (kind, name, filename, lineno), figures = max(expected.items(), key=lambda item: (item[1][0], item[0][1]))
    top = rows_in_view(module_page)[0]["cells"]
    assert top[0] == name == "fib" and top[2] == f"{figures[0]:,}"
    assert "main" not in {row["cells"][0] for row in rows_in_view(module_page)}
