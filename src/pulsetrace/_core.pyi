"""Type stub for the C extension pulsetrace._core (sources in src/pulsetrace/_core/)."""

from types import CodeType
from typing import Any, Callable, Collection, Dict, List, Mapping, Optional, Sequence, Tuple

BACKENDS: Tuple[str, ...]  # backends this build supports on this interpreter, preferred first

def monotonic_ns() -> int:
    """CLOCK_MONOTONIC in ns: the clock every record uses (same as time.monotonic_ns())."""

class Recorder:
    """Records function entries/exits of all threads into per-thread chunked buffers.

    backend: "monitoring" (3.12+) or "setprofile".
    ignore: code objects whose frames are never recorded (the tracer's own start/stop path).
    thread_registry: threading._active, read (never written) to find each thread's Thread object.
    config: a cores.CoreConfig (its ignore field is not read: ``ignore`` is); None: the defaults.
    """

    def __init__(
        self, backend: str, ignore: Collection[CodeType], thread_registry: Dict[int, Any],
        config: Any = None,
    ) -> None: ...
    @property
    def tool_id(self) -> int: ...  # the sys.monitoring tool id in use, -1 when none
    @property
    def running(self) -> bool: ...
    def start(self) -> None: ...
    def stop(self) -> int: ...  # returns the stop timestamp; open slices get EXIT_STOP records
    def functions(self) -> List[Tuple[int, str, str, int]]: ...  # (kind, name, filename, lineno)
    def threads(
        self,
    ) -> List[Tuple[int, int, Optional[Any], List[bytes], int, Dict[int, str], Dict[int, str]]]:
        """(ident, native_id, Thread object or None, chunks, lost events, args, retvals); hands the
        chunks over. args / retvals: {record index: text} (log_args / log_retval)."""
    def pause(self) -> None: ...  # the calling thread records no new slices until resume()
    def resume(self) -> None: ...
    @property
    def trace_skipped(self) -> bool: ...  # setprofile + exception sink: an existing trace function was kept
    def thread_trace_hook(self) -> Callable[..., Any]: ...  # for threading.settrace (exception sink)
    @property
    def hook_displaced(self) -> bool: ...  # setprofile: another tool replaced our hook
    def thread_start_hook(self) -> Callable[..., Any]: ...  # for threading.setprofile (setprofile backend)

def encode_events(chunks: Sequence[bytes]) -> bytes:
    """Encode records into the native file's varint stream (docs/format.md)."""

def decode_events(data: bytes, count: int) -> bytes:
    """Decode a native varint stream of ``count`` events back into 12-byte records."""

def chrome_json_events(
    chunks: Sequence[bytes], names: Sequence[bytes], pid: int, tid: int, base_ns: int,
    write: Callable[[bytes], Any], first: bool,
    args: Optional[Mapping[int, bytes]] = None, retvals: Optional[Mapping[int, bytes]] = None,
) -> int:
    """Write one thread's slices as Chrome "X" events through ``write``; returns how many.

    args / retvals: record index -> JSON fragment, as in pulsetrace.codec.chrome_json_events."""

def function_totals(chunks: Sequence[bytes], nfuncs: int, totals: bytearray) -> None:
    """Add one thread's per-function (calls, primitive calls, slices, total ns, self ns, max ns) into
    ``totals``: nfuncs rows of six little-endian int64 (reports.callstats has the rules)."""

def bounded_repr(value: Any, limit: int) -> str:
    """reprs.bounded_repr(value, limit) as the C core renders it (for tests)."""

_LineRow = Tuple[int, int, int, int]  # line, hits, self_ns, total_ns
_EdgeRow = Tuple[int, CodeType, int, int]  # calling line, callee, count, total_ns

class LineRecorder:
    """The C line collector's counts (the lines option): the twin of linecollect/accounting.py.

    detail: code -> True (count its lines), False (summarise it per function), None (never count it).
    clock: a callable giving ns, used instead of the recorder's own clock (tests); None: its own.
    """

    def __init__(
        self, detail: Callable[[CodeType], Optional[bool]], clock: Optional[Callable[[], int]] = None
    ) -> None: ...
    @property
    def active(self) -> bool: ...
    def activate(self) -> None: ...  # RuntimeError when another LineRecorder is active
    def deactivate(self) -> None: ...
    def close_all(self) -> None: ...  # every frame still open on any thread ends now
    def rows(
        self,
    ) -> List[Tuple[CodeType, bool, int, int, int, List[_LineRow], List[_EdgeRow]]]:
        """(code, detailed, calls, self_ns, total_ns, [(line, hits, self_ns, total_ns)],
        [(calling line, callee, count, total_ns)]) per code object and thread; safe while counting."""
    def monitoring_callbacks(self) -> Dict[str, Callable[..., Any]]: ...  # event name -> callback
    def trace_install(self) -> None: ...  # RuntimeError when another trace function is set in this thread
    def trace_uninstall(self) -> None: ...
    def thread_hook(self) -> Callable[..., Any]: ...  # for threading.settrace
    def ignore_thread(self) -> None: ...  # never count the calling thread in this session
