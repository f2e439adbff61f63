"""web/model.js, the browser's decoder of the native format, against pulsetrace's own Python reader:
every slice of a tricky real trace (threads, generators, a coroutine, exceptions, arguments and return
values) must come out the same, and damaged files must give the format's error messages."""

from __future__ import annotations

import base64
import zlib
from pathlib import Path
from typing import Any, Dict, List

import pytest
from viewer_helpers import open_viewer, trace_program

from helpers_cli import run_pulsetrace
from pulsetrace.events import (
    ENTER_C,
    ENTER_RESUME,
    EXIT_STOP,
    EXIT_UNWIND,
    EXIT_YIELD,
    KIND_BITS,
    KIND_MASK,
    iter_records,
)
from pulsetrace.model import Trace, read_any_trace

TRICKY = """\
import asyncio
import threading


def numbers(n):
    for i in range(n):
        yield i * i


def fails(x):
    if x % 2:
        raise ValueError(x)
    return x


async def nap(n):
    await asyncio.sleep(0)
    return n + 1


def worker(count):
    total = sum(numbers(count))
    for x in range(4):
        try:
            fails(x)
        except ValueError:
            total += 1
    return total


threads = [threading.Thread(target=worker, args=(5 + i,), name=f"w{i}") for i in range(2)]
for t in threads:
    t.start()
worker(3)
print(asyncio.run(nap(1)))
for t in threads:
    t.join()
"""

DUMP = """() => {
    const trace = window.pulsetraceViewer.trace;
    const key = (f) => [f.kind, f.name, f.filename, f.lineno].join("|");
    return trace.threads.map((thread) => {
        const s = thread.slices;
        return {
            ident: thread.ident, name: thread.name, maxDepth: thread.maxDepth,
            start: Array.from(s.start), end: Array.from(s.end), depth: Array.from(s.depth),
            parent: Array.from(s.parent), flags: Array.from(s.flags),
            func: Array.from(s.func, (f) => key(trace.functions[f])),
            args: Object.fromEntries(thread.args ?? []), retvals: Object.fromEntries(thread.retvals ?? []),
        };
    });
}"""
FLAG_OF_EXIT = {EXIT_YIELD: 2, EXIT_UNWIND: 4, EXIT_STOP: 8}


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("model")
    pulse = trace_program(directory, TRICKY, "t.pulse", "--log-args", "--log-retval")
    converted = run_pulsetrace(["report", "t.pulse", "-o", "t.html"], directory)
    assert converted.returncode == 0, converted.stderr
    return pulse


def expected_threads(trace: Trace) -> List[Dict[str, Any]]:
    """The same columns, computed from the Python reader's records."""
    (process,) = trace.processes
    keys = [f"{f.kind}|{f.name}|{f.filename}|{f.lineno}" for f in process.functions]
    threads = []
    for thread in process.threads:
        columns: Dict[str, Any] = {k: [] for k in ("start", "end", "depth", "parent", "flags", "func")}
        args: Dict[str, str] = {}
        retvals: Dict[str, str] = {}
        stack: List[int] = []
        for record, (stamp, func) in enumerate(iter_records(thread.chunks)):
            kind = stamp & KIND_MASK
            ns = (stamp >> KIND_BITS) - process.start_ns
            if kind <= ENTER_C:
                index = len(columns["start"])
                columns["start"].append(ns)
                columns["end"].append(ns)
                columns["func"].append(keys[func])
                columns["depth"].append(len(stack))
                columns["parent"].append(stack[-1] if stack else -1)
                columns["flags"].append(1 if kind == ENTER_RESUME else 0)
                stack.append(index)
                if record in thread.args:
                    args[str(index)] = thread.args[record]
            else:
                index = stack.pop()
                columns["end"][index] = ns
                columns["flags"][index] |= FLAG_OF_EXIT.get(kind, 0)
                if record in thread.retvals:
                    retvals[str(index)] = thread.retvals[record]
        threads.append(
            {
                "ident": thread.ident,
                "name": thread.name,
                "maxDepth": max(columns["depth"], default=-1),
                **columns,
                "args": args,
                "retvals": retvals,
            }
        )
    return threads


def test_model_js_decodes_every_slice_as_the_python_reader_does(page: Any, traced: Path) -> None:
    open_viewer(page, traced.with_suffix(".html").as_uri())
    decoded = page.evaluate(DUMP)
    expected = expected_threads(read_any_trace(traced))
    assert [t["name"] for t in decoded] == [t["name"] for t in expected] == ["MainThread", "w0", "w1"]
    for got, want in zip(decoded, expected):
        assert got == want, got["name"]
    main = decoded[0]
    assert any(flags & 1 for flags in main["flags"])  # resumed generator/coroutine slices
    assert any(flags & 4 for flags in decoded[1]["flags"])  # ValueError left fails()
    assert "x=1" in decoded[1]["args"].values()


def test_the_function_table_is_shared_and_sources_decode(page: Any, traced: Path) -> None:
    open_viewer(page, traced.with_suffix(".html").as_uri())
    found = page.evaluate(
        """async () => {
            const trace = window.pulsetraceViewer.trace;
            const names = trace.functions.map((f) => f.name);
            const file = trace.functions.find((f) => f.name === 'worker').filename;
            return { unique: new Set(trace.functions.map((f) => JSON.stringify(f))).size === names.length,
                     source: await trace.sourceText(file), missing: await trace.sourceText('/nowhere.py') };
        }"""
    )
    assert found["unique"]
    assert found["source"] == TRICKY
    assert found["missing"] is None


def _page_with(html: str, native: bytes) -> str:
    start = html.index('id="pulsetrace-trace">') + len('id="pulsetrace-trace">')
    end = html.index("</script>", start)
    return html[:start] + base64.b64encode(zlib.compress(native)).decode() + html[end:]


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda data: data[:-5], "section header cut short at byte"),
        (lambda data: data[:100], "cut short"),
        (lambda data: data[:40] + bytes([data[40] ^ 0xFF]) + data[41:], "checksum mismatch in section PROC"),
        (
            lambda data: data[:8] + b"\x09\x00\x00\x00" + data[12:],
            "format version 9 was written by a newer pulsetrace",
        ),
        (lambda data: b"", "the file is empty"),
        (lambda data: b"\x1f\x8b\x08\x00" + data, "this is gzip data, not a native pulsetrace trace"),
    ],
)
def test_damaged_traces_give_clear_messages(
    page: Any, traced: Path, tmp_path: Path, damage: Any, message: str
) -> None:
    html = traced.with_suffix(".html").read_text()
    broken = tmp_path / "broken.html"
    broken.write_text(_page_with(html, damage(traced.read_bytes())))
    page.goto(broken.as_uri())
    page.wait_for_function("window.pulsetraceViewer.failure")
    text = page.inner_text("#message")
    assert text.startswith("pulsetrace cannot show this trace: ") and message in text, text
