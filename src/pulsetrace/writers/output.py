"""The one helper that owns output files: atomic replace, cleanup on failure, and "-" for stdout.

A trace is written to a hidden temporary file beside the target and renamed over it only when the
writer finished, so a crash or an error never leaves a half-written trace (nor destroys the previous
one). ``check_output_path`` finds an unwritable path before a long program runs instead of after.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from typing import Any, BinaryIO, Callable, Iterator, Optional, Tuple

STDOUT = "-"


class OutputError(Exception):
    """An output cannot be written: unwritable path, unknown format, or a trace the format cannot hold."""


class CountingStream:
    """A binary sink that counts the bytes written through it (also a valid ``fileobj`` for gzip)."""

    def __init__(self, raw: BinaryIO, on_write: Optional[Callable[[int], None]] = None) -> None:
        self._raw = raw
        self._on_write = on_write
        self.bytes_written = 0

    def write(self, data: Any) -> int:
        self._raw.write(data)
        size = len(data) if isinstance(data, bytes) else memoryview(data).nbytes
        self.bytes_written += size
        if self._on_write is not None:
            self._on_write(self.bytes_written)
        return size

    def flush(self) -> None:
        self._raw.flush()


@contextlib.contextmanager
def open_output(path: str, on_write: Optional[Callable[[int], None]] = None) -> Iterator[CountingStream]:
    """Open ``path`` for binary writing ("-" is stdout); the file appears only if the block succeeds.

    OSErrors while opening, writing or renaming become OutputError naming the path. ``on_write`` is
    told the bytes written so far after each write.
    """
    if path == STDOUT:
        with _stdout(on_write) as stream:
            yield stream
        return
    target = os.path.realpath(path)  # write through a symlink rather than replace it
    if os.path.isdir(target):
        raise OutputError(f"cannot write {path}: it is a directory")
    temp, fd = _create_temp(path, target)
    try:
        with os.fdopen(fd, "wb") as raw:
            yield CountingStream(raw, on_write)
        _keep_mode(target, temp)
        os.replace(temp, target)
    except BaseException as exc:
        _remove(temp)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {_explain(exc, path)}") from exc
        raise


@contextlib.contextmanager
def _stdout(on_write: Optional[Callable[[int], None]] = None) -> Iterator[CountingStream]:
    raw = getattr(sys.stdout, "buffer", None)
    if raw is None:
        raise OutputError("cannot write binary output to this stdout (it has no byte buffer)")
    try:
        sys.stdout.flush()  # text printed before must come out before the trace
        yield CountingStream(raw, on_write)
        raw.flush()
    except OSError as exc:  # a closed pipe (`... -o - | head`), a full disk
        raise OutputError(f"cannot write to stdout: {_explain(exc, STDOUT)}") from exc


def check_output_path(path: str) -> None:
    """Raise OutputError now if ``path`` could not be written later (missing directory, no permission)."""
    if path == STDOUT:
        return
    target = os.path.realpath(path)
    if os.path.isdir(target):
        raise OutputError(f"cannot write {path}: it is a directory")
    directory = os.path.dirname(target)
    if not os.path.exists(directory):
        raise OutputError(f"cannot write {path}: directory {directory} does not exist")
    if not os.path.isdir(directory):
        raise OutputError(f"cannot write {path}: {directory} is not a directory")
    if os.path.exists(target) and not os.access(target, os.W_OK):
        raise OutputError(f"cannot write {path}: the file exists and is read-only")
    temp, fd = _create_temp(path, target)  # the one sure test: create a file where the output will go
    os.close(fd)
    _remove(temp)


def _create_temp(path: str, target: str) -> Tuple[str, int]:
    """Create a new hidden file beside ``target``; mode 0666 less the umask, like open() would."""
    directory, base = os.path.split(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        temp = os.path.join(directory, f".{base[:180]}.{os.urandom(4).hex()}.tmp")
        try:
            return temp, os.open(temp, flags, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {_explain(exc, path)}") from exc


def _keep_mode(target: str, temp: str) -> None:
    """Give the new file the permission bits of the file it replaces."""
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return
    os.chmod(temp, mode)


def _remove(temp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(temp)


def _explain(exc: OSError, path: str) -> str:
    """A short reason for an OSError, in terms of the output path the user gave."""
    directory = os.path.dirname(os.path.abspath(path))
    reasons = {
        errno.ENOENT: f"directory {directory} does not exist",
        errno.ENOTDIR: f"a part of {directory} is not a directory",
        errno.EACCES: f"permission denied (directory {directory})",
        errno.EPERM: f"permission denied (directory {directory})",
        errno.EROFS: "read-only file system",
        errno.EISDIR: "it is a directory",
        errno.ENOSPC: "no space left on device",
        errno.EPIPE: "the reader closed the pipe",
    }
    return reasons.get(exc.errno or 0, exc.strerror or str(exc))
