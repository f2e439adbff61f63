"""What runs around the traced section: one class per tool, all with the same small contract.

A mode is built before the timer starts, ``start()``/``stop()`` bracket the workload, and
``finish(workdir, save)`` (untimed) reports what was recorded and, for tools that write files and
when ``save`` is true, how fast and how large the saved trace is. ``MODES`` lists every mode with
the interpreters it applies to.
This module is imported by the runner too, so tools are imported lazily inside the classes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

VIZTRACER_ENTRIES = 8_000_000  # larger than any workload's call count, so VizTracer forgets nothing


def timed_save(save: Callable[[str], Any], path: str) -> Dict[str, Any]:
    """Save through ``save(path)``; the seconds taken and the file size, or the error."""
    try:
        started = time.perf_counter()
        save(path)
        seconds = time.perf_counter() - started
    except Exception as exc:  # a writer still being built must not sink the timing data
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"seconds": seconds, "bytes": os.path.getsize(path)}


class Baseline:
    """No tracer: the untraced time every ratio divides by."""

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def finish(self, workdir: str, save: bool) -> Dict[str, Any]:
        return {}


class Pulsetrace:
    """pulsetrace's public API with one core; saves the trace natively and as JSON."""

    def __init__(self, core: str, **options: Any) -> None:
        import pulsetrace

        self.tracer = pulsetrace.Tracer(core=core, **options)
        self.requested = core
        self.trace: Any = None

    def start(self) -> None:
        self.tracer.start()

    def stop(self) -> None:
        self.trace = self.tracer.stop()

    def finish(self, workdir: str, save: bool) -> Dict[str, Any]:
        core = self.tracer.core
        events = int(self.trace.event_count)
        if self.tracer.options.trace_only:  # sparse mode: slices are custom events, not records
            events = 2 * sum(len(t.spans) for p in self.trace.processes for t in p.threads)
        found: Dict[str, Any] = {
            "core": getattr(core, "name", None),
            "backend": getattr(core, "backend", None),
            "core_reason": getattr(core, "reason", None),
            "events": events,
            "calls": events // 2,  # Trace.event_count counts records: one at entry, one at exit
            "saves": {},
        }
        if found["core"] != self.requested and not self.tracer.options.trace_only:
            raise RuntimeError(f"asked for core {self.requested!r} but got {found['core']!r}")
        for ext in (".pulse", ".json") if save else ():
            found["saves"][ext] = timed_save(self.tracer.save, os.path.join(workdir, "trace" + ext))
        return found


class CProfile:
    """The standard library's cProfile (sys.monitoring on 3.12+, a profile function before)."""

    def __init__(self) -> None:
        import cProfile

        self.profile = cProfile.Profile()

    def start(self) -> None:
        self.profile.enable()

    def stop(self) -> None:
        self.profile.disable()

    def finish(self, workdir: str, save: bool) -> Dict[str, Any]:
        return {}


class VizTracerMode:
    """VizTracer with its defaults except a buffer large enough to keep every call."""

    def __init__(self, **options: Any) -> None:
        from viztracer import VizTracer

        self.tracer = VizTracer(tracer_entries=VIZTRACER_ENTRIES, verbose=0, **options)

    def start(self) -> None:
        self.tracer.start()

    def stop(self) -> None:
        self.tracer.stop()

    def finish(self, workdir: str, save: bool) -> Dict[str, Any]:
        if not save:  # VizTracer counts its events while saving: without a save there is no count
            return {}
        saved = timed_save(self.tracer.save, os.path.join(workdir, "trace.json"))
        calls = int(self.tracer.total_entries)  # complete ("X") events, one per call, set by save
        return {
            "events": calls,
            "calls": calls,
            "overflow": calls >= VIZTRACER_ENTRIES,
            "saves": {".json": saved},
        }


def _workload_functions() -> List[Any]:
    """Every function of the loaded workload modules (the child loads its workload before the mode)."""
    import inspect
    import sys

    found = []
    for name, module in list(sys.modules.items()):
        if name.startswith("workloads.") and module is not None:
            found += [f for f in vars(module).values() if inspect.isfunction(f) and f.__module__ == name]
    return found


class PulsetraceLines:
    """pulsetrace's line collector alone (what ``lines=True`` adds to a trace), project files in detail.

    ``python=True``: the pure-Python collector (the fallback without the C extension); otherwise the
    default one (the C collector when the extension is built)."""

    def __init__(self, python: bool = False) -> None:
        from pulsetrace.linecollect import PYTHON_LINE_BACKENDS, LineCollector

        self.collector = LineCollector(backend=PYTHON_LINE_BACKENDS[0] if python else None)
        self.stats: Any = None

    def start(self) -> None:
        self.collector.start()

    def stop(self) -> None:
        self.stats = self.collector.stop()

    def finish(self, workdir: str, save: bool) -> Dict[str, Any]:
        return {"line_hits": int(self.stats.hit_count), "backend": self.collector.backend}


class LineProfilerMode:
    """line_profiler with every workload function added: what ``kernprof -l`` does with @profile on each."""

    def __init__(self) -> None:
        from line_profiler import LineProfiler

        self.profiler = LineProfiler(*_workload_functions())

    def start(self) -> None:
        self.profiler.enable_by_count()

    def stop(self) -> None:
        self.profiler.disable_by_count()

    def finish(self, workdir: str, save: bool) -> Dict[str, Any]:
        timings = self.profiler.get_stats().timings
        return {"line_hits": sum(hits for lines in timings.values() for _, hits, _ in lines)}


class HeartrateMode:
    """heartrate tracing the workload's files (its web server runs on a free loopback port, unused)."""

    def __init__(self) -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]

    def start(self) -> None:
        import heartrate

        # browser=False: no browser tab; daemon=True: its server thread never keeps the process alive
        heartrate.trace(
            files=heartrate.files.path_contains("workloads"), port=self.port, browser=False, daemon=True
        )

    def stop(self) -> None:
        import sys

        sys.settrace(None)

    def finish(self, workdir: str, save: bool) -> Dict[str, Any]:
        return {}


class Floor:
    """A reference floor from benchmarks/floor (a C sys.monitoring callback or profile function)."""

    def __init__(self, kind: str, events: str, record: bool) -> None:
        from floor import floors

        if kind == "monitoring":
            chosen = floors.PYTHON_EVENTS + (floors.C_EVENTS if events == "all" else ())
            self.floor: Any = floors.MonitoringFloor(chosen, record)
        else:
            self.floor = floors.ProfileFloor(record)
        self.record = record

    def start(self) -> None:
        self.floor.start()

    def stop(self) -> None:
        self.floor.stop()

    def finish(self, workdir: str, save: bool) -> Dict[str, Any]:
        if not self.record:
            return {}
        records = self.floor.records()
        return {"events": records, "calls": records // 2}


@dataclass(frozen=True)
class ModeSpec:
    """One column of the benchmark: how to build the mode and where it applies."""

    name: str
    label: str
    build: Callable[[], Any]
    versions: Tuple[Tuple[int, int], Tuple[int, int]] = ((3, 0), (4, 0))  # [min, max)
    default: Optional[Tuple[Tuple[int, int], Tuple[int, int]]] = None  # run by default there

    def applies(self, version: Tuple[int, int]) -> bool:
        low, high = self.versions
        return low <= version < high

    def default_for(self, version: Tuple[int, int]) -> bool:
        low, high = self.default or self.versions
        return low <= version < high and self.applies(version)


MONITORING = ((3, 12), (4, 0))
NEVER = ((0, 0), (0, 0))  # not in the default matrix: the tracing-controls benchmark (controls.py) runs it


def _library_file() -> str:
    """The file include_files keeps in the library_calls workload (its own, not textlib.py)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "workloads", "library_calls.py")


def _control(name: str, label: str, build: Callable[[], Any]) -> ModeSpec:
    return ModeSpec(name, label, build, default=NEVER)


CONTROL_MODES: Tuple[ModeSpec, ...] = (
    _control("pt-c-include", "pulsetrace C, include_files",
             lambda: Pulsetrace("c", include_files=[_library_file()])),
    _control("pt-py-include", "pulsetrace Python, include_files",
             lambda: Pulsetrace("python", include_files=[_library_file()])),
    _control("viz-include", "VizTracer, include_files",
             lambda: VizTracerMode(include_files=[_library_file()])),
    _control("pt-c-no-c", "pulsetrace C, ignore_c_function", lambda: Pulsetrace("c", ignore_c_function=True)),
    _control("pt-py-no-c", "pulsetrace Python, ignore_c_function",
             lambda: Pulsetrace("python", ignore_c_function=True)),
    _control("viz-no-c", "VizTracer, ignore_c_function", lambda: VizTracerMode(ignore_c_function=True)),
    _control("pt-c-args", "pulsetrace C, log_args", lambda: Pulsetrace("c", log_args=True)),
    _control("pt-py-args", "pulsetrace Python, log_args", lambda: Pulsetrace("python", log_args=True)),
    _control("viz-args", "VizTracer, log_func_args", lambda: VizTracerMode(log_func_args=True)),
    _control("pt-c-sparse", "pulsetrace, trace_only (sparse)", lambda: Pulsetrace("c", trace_only=True)),
    _control("viz-sparse", "VizTracer, log_sparse", lambda: VizTracerMode(log_sparse=True)),
    _control("pt-c-lines", "pulsetrace C, lines", lambda: Pulsetrace("c", lines=True)),
    _control("pt-lines-only", "pulsetrace line collector alone", PulsetraceLines),
    _control("pt-py-lines-only", "pulsetrace Python line collector alone",
             lambda: PulsetraceLines(python=True)),
    _control("line-profiler", "line_profiler (every workload function)", LineProfilerMode),
    _control("heartrate", "heartrate (workload files)", HeartrateMode),
)
BEFORE_MONITORING = ((3, 0), (3, 12))

MODES: Tuple[ModeSpec, ...] = (
    ModeSpec("baseline", "baseline (untraced)", Baseline),
    ModeSpec("pulsetrace-c", "pulsetrace C core", lambda: Pulsetrace("c")),
    ModeSpec("pulsetrace-python", "pulsetrace Python core", lambda: Pulsetrace("python")),
    ModeSpec("cprofile", "cProfile", CProfile),
    ModeSpec("viztracer", "VizTracer", VizTracerMode),
    ModeSpec("floor-record-all", "floor: record, VizTracer's events",
             lambda: Floor("monitoring", "all", True), MONITORING),
    ModeSpec("floor-record-py", "floor: record, Python events",
             lambda: Floor("monitoring", "python", True), MONITORING),
    ModeSpec("floor-noop-py", "floor: no-op, Python events",
             lambda: Floor("monitoring", "python", False), MONITORING),
    ModeSpec("floor-profile-record", "floor: record, SetProfile",
             lambda: Floor("profile", "all", True), default=BEFORE_MONITORING),
    ModeSpec("floor-profile-noop", "floor: no-op, SetProfile",
             lambda: Floor("profile", "all", False), default=BEFORE_MONITORING),
)
MODES = MODES + CONTROL_MODES
BY_NAME: Dict[str, ModeSpec] = {spec.name: spec for spec in MODES}
