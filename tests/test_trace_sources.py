"""The native file carries the source text of traced files, read only when a writer needs it."""

from __future__ import annotations

import json
from pathlib import Path

import pulsetrace
from pulsetrace.model.build import SourceTexts
from pulsetrace.model.native import read_trace


def traced_here() -> int:
    return sum(range(10))


def test_native_file_carries_the_traced_source(tmp_path: Path) -> None:
    tracer = pulsetrace.Tracer()
    tracer.start()
    traced_here()
    trace = tracer.stop()
    assert isinstance(trace.processes[0].sources, SourceTexts)
    tracer.save(str(tmp_path / "t.pulse"))
    sources = read_trace(str(tmp_path / "t.pulse")).processes[0].sources
    assert sources[__file__] == Path(__file__).read_text()


def test_json_export_does_not_read_sources(tmp_path: Path) -> None:
    tracer = pulsetrace.Tracer()
    tracer.start()
    traced_here()
    trace = tracer.stop()
    tracer.save(str(tmp_path / "t.json"))
    assert trace.processes[0].sources._texts is None  # type: ignore[attr-defined]
    names = {e.get("name") for e in json.loads((tmp_path / "t.json").read_text())["traceEvents"]}
    assert any(name and name.startswith("traced_here (") for name in names)
