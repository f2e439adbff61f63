"""`pulsetrace run --lines`: the real command line on real programs, with every core; the line statistics
read back from the .pulse file it writes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict

import pytest

from helpers_cli import cores_available, run_pulsetrace, run_python, write
from pulsetrace.model import LineStats
from pulsetrace.model.native import read_trace

CORES = cores_available()

PROGRAM = """
    import json
    import sys
    import threading


    def fib(n):
        if n < 2:
            return n
        return fib(n - 1) + fib(n - 2)


    def worker(count):
        total = 0
        for i in range(count):
            total += i
        return total


    def numbers():
        yield 1
        yield 2


    thread = threading.Thread(target=worker, args=(50,))
    thread.start()
    thread.join()
    print(fib(10), sum(numbers()), json.dumps({"a": 1}))
    sys.exit(3)
"""


def hits_by_text(stats: LineStats, path: Path) -> Dict[str, int]:
    """Hits of each line of ``path``, keyed by the line's text (stripped)."""
    source = path.read_text().splitlines()
    counted = stats.files[str(path)]
    return {source[lineno - 1].strip(): stat.hits for lineno, stat in counted.items()}


@pytest.mark.parametrize("core", CORES)
def test_lines_of_a_program_with_threads_recursion_and_generators(tmp_path: Path, core: str) -> None:
    program = write(tmp_path / "prog.py", PROGRAM)
    plain = run_python([str(program)], tmp_path)
    traced = run_pulsetrace(["run", "--lines", "-o", "out.pulse", str(program)], tmp_path, core=core)
    program_stderr, ours = traced.split_summary()
    assert (traced.stdout, program_stderr, traced.returncode) == (plain.stdout, plain.stderr, 3)
    counted = [line for line in ours if line.startswith("pulsetrace: line statistics: ")]
    assert len(counted) == 1 and "lines of 1 file," in counted[0], ours
    process = read_trace(tmp_path / "out.pulse").processes[0]
    stats = process.lines
    assert stats is not None
    hits = hits_by_text(stats, program)
    assert hits["if n < 2:"] == 177  # fib(10) makes 177 calls
    assert hits["return n"] == 89
    assert hits["return fib(n - 1) + fib(n - 2)"] == 88
    assert hits["total += i"] == 50  # the thread's lines
    assert hits["yield 1"] == 1 and hits["yield 2"] == 1
    assert hits["sys.exit(3)"] == 1
    for stat in stats.files[str(program)].values():
        assert stat.total_ns >= stat.self_ns >= 0
    fib_line = 1 + program.read_text().splitlines().index("    return fib(n - 1) + fib(n - 2)")
    (edge,) = stats.callees_of(str(program), fib_line)
    assert (edge.callee.name, edge.count) == ("fib", 176)
    summarised = {code.name for code in stats.functions}
    assert {"dumps", "Thread.start", "Thread.join"} <= summarised
    assert str(program) in process.sources


@pytest.mark.parametrize("core", CORES)
def test_line_detail_all_keeps_the_standard_library(tmp_path: Path, core: str) -> None:
    program = write(tmp_path / "prog.py", PROGRAM)
    args = ["run", "--lines", "--line-detail", "all", "-o", "out.pulse", str(program)]
    traced = run_pulsetrace(args, tmp_path, core=core)
    assert traced.returncode == 3, traced.stderr
    stats = read_trace(tmp_path / "out.pulse").processes[0].lines
    assert stats is not None
    assert not stats.functions
    assert any(name.endswith("threading.py") for name in stats.files)
    assert any(name.endswith("__init__.py") and "json" in name for name in stats.files)


def test_lines_from_pyproject_and_a_format_without_them(tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", PROGRAM)
    (tmp_path / "pyproject.toml").write_text("[tool.pulsetrace]\nlines = true\n")
    traced = run_pulsetrace(["run", "-o", "out.json", str(program)], tmp_path)
    assert traced.returncode == 3, traced.stderr
    assert "pulsetrace: note: the json format has no place for line statistics" in traced.stderr
    traced = run_pulsetrace(["run", "-o", "out.pulse", str(program)], tmp_path)
    assert read_trace(tmp_path / "out.pulse").processes[0].lines is not None


def test_a_heatmap_without_lines_is_refused_before_the_program_runs(tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", "open('ran', 'w').close()\n")
    refused = run_pulsetrace(["run", "-o", "out.heatmap.html", str(program)], tmp_path)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines() == [
        "pulsetrace: error: out.heatmap.html: the heatmap format needs line statistics: record with --lines"
    ]
    assert not (tmp_path / "ran").exists() and not (tmp_path / "out.heatmap.html").exists()
    accepted = run_pulsetrace(["run", "--lines", "-o", "out.heatmap.html", str(program)], tmp_path)
    assert accepted.returncode == 0, accepted.stderr
    assert (tmp_path / "ran").exists() and (tmp_path / "out.heatmap.html").stat().st_size > 0


def test_without_lines_nothing_is_counted_and_the_file_stays_version_2(tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", PROGRAM)
    traced = run_pulsetrace(["run", "-o", "out.pulse", str(program)], tmp_path)
    assert "line statistics" not in traced.stderr
    assert (tmp_path / "out.pulse").read_bytes()[8:12] == b"\x02\x00\x00\x00"
    assert read_trace(tmp_path / "out.pulse").processes[0].lines is None


def test_bad_line_detail_is_a_usage_error(tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", "print(1)\n")
    traced = run_pulsetrace(["run", "--lines", "--line-detail", "some", str(program)], tmp_path)
    assert traced.returncode == 2
    assert "invalid choice: 'some'" in traced.stderr
    assert "Traceback" not in traced.stderr


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="both options work together on 3.12+")
def test_lines_with_log_exceptions_before_312_is_refused(tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", "print(1)\n")
    traced = run_pulsetrace(["run", "--lines", "--log-exceptions", str(program)], tmp_path)
    assert traced.returncode == 2
    assert "lines and log_exceptions cannot be combined before Python 3.12" in traced.stderr
    assert "Traceback" not in traced.stderr


@pytest.mark.skipif(sys.version_info < (3, 12), reason="before 3.12 both need the trace hook")
def test_lines_with_log_exceptions(tmp_path: Path) -> None:
    program = write(
        tmp_path / "prog.py",
        """
        def fail():
            raise KeyError("k")

        try:
            fail()
        except KeyError:
            print("caught")
        """,
    )
    traced = run_pulsetrace(["run", "--lines", "--log-exceptions", "-o", "out.pulse", str(program)], tmp_path)
    assert traced.stdout == "caught\n", traced.stderr
    process = read_trace(tmp_path / "out.pulse").processes[0]
    assert [instant.name for instant in process.threads[0].instants] == ["KeyError"]
    assert process.lines is not None
    assert hits_by_text(process.lines, program)['print("caught")'] == 1


def test_report_lines_shows_the_hottest_lines_with_their_callees(tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", PROGRAM)
    run_pulsetrace(["run", "--lines", "-o", "out.pulse", str(program)], tmp_path)
    shown = run_pulsetrace(["report", "out.pulse", "--lines", "--top", "40"], tmp_path)
    assert shown.returncode == 0, shown.stderr
    table = shown.stdout.splitlines()
    assert table[0] == "top 20 of 20 lines by self time"  # every line of the program that ran
    assert table[1].split() == ["hits", "self", "%", "total", "line"]
    rows = [row for row in table[2:] if not row.lstrip().startswith("->")]
    assert len(rows) == 20
    fib_row = next(i for i, row in enumerate(table) if row.endswith("return fib(n - 1) + fib(n - 2)"))
    assert table[fib_row].split()[0] == "88"
    assert "prog.py:9" in table[fib_row]
    assert table[fib_row + 1].split()[:4] == ["->", "fib", "(prog.py:6):", "176"]
    stats = read_trace(tmp_path / "out.pulse").processes[0].lines
    assert stats is not None
    selfs = [stats.files[str(program)][int(row.split("prog.py:")[1].split()[0])].self_ns for row in rows]
    assert selfs == sorted(selfs, reverse=True)  # most self time first
    top3 = run_pulsetrace(["report", "out.pulse", "--lines", "--top", "3"], tmp_path)
    assert top3.stdout.splitlines()[0] == "top 3 of 20 lines by self time"


def test_report_lines_of_a_trace_without_them_is_a_clear_error(tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", PROGRAM)
    run_pulsetrace(["run", "-o", "out.pulse", str(program)], tmp_path)
    shown = run_pulsetrace(["report", "out.pulse", "--lines"], tmp_path)
    assert shown.returncode == 1
    assert shown.stderr.strip() == (
        "pulsetrace: error: out.pulse has no line statistics: record it with "
        "`pulsetrace run --lines -o OUT.pulse`"
    )
    both = run_pulsetrace(["report", "out.pulse", "--lines", "-o", "x.json"], tmp_path)
    assert both.returncode == 2
    assert "give -o (convert the trace) or --lines (summarise it), not both" in both.stderr


def test_c_and_python_line_collectors_write_the_same_counts(tmp_path: Path) -> None:
    from pulsetrace.linecollect import C_LINE_BACKENDS, LINE_BACKENDS, PYTHON_LINE_BACKENDS

    if C_LINE_BACKENDS[0] not in LINE_BACKENDS:
        pytest.skip("the C extension is not built")
    program = write(tmp_path / "prog.py", PROGRAM)
    written = {}
    for backend in (C_LINE_BACKENDS[0], PYTHON_LINE_BACKENDS[0]):
        out = f"{backend}.pulse"
        traced = run_pulsetrace(["run", "--lines", "-o", out, str(program)], tmp_path,
                                env={"PULSETRACE_LINES_BACKEND": backend})
        assert traced.returncode == 3, traced.stderr
        stats = read_trace(tmp_path / out).processes[0].lines
        assert stats is not None
        written[backend] = (
            hits_by_text(stats, program),
            {(key[1], key[2].name): edge.count for key, edge in stats.edges.items()},
            {code.name: s.calls for code, s in stats.functions.items() if "json" in code.filename},
        )
    assert written[C_LINE_BACKENDS[0]] == written[PYTHON_LINE_BACKENDS[0]]
