"""Turn what a core recorded into the model: add process metadata and the traced source text."""

from __future__ import annotations

import linecache
import os
import sys
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

from ..events import FUNC_PYTHON
from ..recording import Recording, ThreadRecording
from .lines import LineStats
from .qualnames import qualify
from .trace import ProcessTrace, ThreadTrace, Trace

if TYPE_CHECKING:
    from ..custom.log import CustomRecording


def read_sources(filenames: List[str]) -> Dict[str, str]:
    """Source text of each traced file that can be read (real files, or linecache entries)."""
    sources: Dict[str, str] = {}
    for filename in filenames:
        if not filename or (filename.startswith("<frozen") and filename.endswith(">")):
            continue
        lines = linecache.getlines(filename)
        if lines:
            sources[filename] = "".join(lines)
    return sources


class SourceTexts(Mapping[str, str]):
    """The source text of the traced files, read when first asked for (a JSON export never asks)."""

    def __init__(self, filenames: Iterable[str]) -> None:
        self._filenames = list(filenames)
        self._texts: Optional[Dict[str, str]] = None

    def _loaded(self) -> Dict[str, str]:
        if self._texts is None:
            self._texts = read_sources(self._filenames)
        return self._texts

    def __getitem__(self, filename: str) -> str:
        return self._loaded()[filename]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())


def build_trace(
    recording: Recording,
    *,
    wall_anchor_ns: int,
    mono_anchor_ns: int,
    process_name: Optional[str] = None,
    argv: Optional[List[str]] = None,
    metadata: Optional[Dict[str, Any]] = None,
    with_sources: bool = True,
    custom: Optional[CustomRecording] = None,
    lines: Optional[LineStats] = None,
) -> Trace:
    """A one-process Trace from a core's Recording and the custom events recorded beside it."""
    argv = list(sys.argv if argv is None else argv)
    filenames = {f.filename for f in recording.functions if f.kind == FUNC_PYTHON}
    if lines is not None:  # the heatmap shows every file whose lines were counted
        filenames.update(lines.files)
    meta: Dict[str, Any] = {
        "core": recording.core,
        "backend": recording.backend,
        "core_reason": recording.core_reason or "",
        "lost_events": recording.lost_events,
        "warnings": list(recording.warnings),
    }
    meta.update(metadata or {})
    process = ProcessTrace(
        pid=os.getpid(),
        name=process_name or " ".join(["python", *argv[:1]]).strip(),
        functions=qualify(list(recording.functions)),
        threads=merge_threads(recording.threads, custom),
        start_ns=recording.start_ns,
        stop_ns=recording.stop_ns,
        wall_anchor_ns=wall_anchor_ns,
        mono_anchor_ns=mono_anchor_ns,
        argv=argv,
        python_version=sys.version.split()[0],
        sources=SourceTexts(sorted(filenames)) if with_sources else {},
        metadata=meta,
        lines=lines,
    )
    if custom is not None:
        process.instants = list(custom.instants)
        process.counters = list(custom.counters)
        process.objects = list(custom.objects)
    return Trace([process])


def merge_threads(recorded: List[ThreadRecording], custom: Optional[CustomRecording]) -> List[ThreadTrace]:
    """The core's threads with their custom events; threads with custom events only come last.

    A thread is matched by (ident, native_id). Both can be reused by a later thread, so when several
    recorded threads match, the custom events go to the first of them (the log cannot tell them apart).
    """
    threads = [
        ThreadTrace(t.ident, t.native_id, t.name, t.chunks, args=dict(t.args), retvals=dict(t.retvals))
        for t in recorded
    ]
    if custom is None:
        return threads
    by_key: Dict[Tuple[int, int], ThreadTrace] = {}
    for thread in threads:
        by_key.setdefault((thread.ident, thread.native_id), thread)
    for events in custom.threads:
        match = by_key.get((events.ident, events.native_id))
        if match is None:
            match = ThreadTrace(events.ident, events.native_id, events.name)
            threads.append(match)
            by_key[(events.ident, events.native_id)] = match
        match.instants.extend(events.instants)
        match.spans.extend(events.spans)
    return threads
