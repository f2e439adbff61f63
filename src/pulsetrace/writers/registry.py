"""Writers are plug-ins: a small class registered under a name and file extensions."""

from __future__ import annotations

import os
from typing import ClassVar, Dict, List, Protocol, Tuple, Type, TypeVar

from ..model import Trace
from .output import OutputError


class Sink(Protocol):
    """Where a writer puts its bytes: a binary file, a gzip stream, io.BytesIO, stdout's buffer."""

    def write(self, data: bytes, /) -> object: ...

    def flush(self) -> object: ...


class Writer:
    """One output format. Subclasses set the class attributes and implement ``write``."""

    name: ClassVar[str]  # what `save(..., format_name=...)` and the CLI call the format
    extensions: ClassVar[Tuple[str, ...]]  # lower-case file name endings, with the dot
    description: ClassVar[str] = ""
    keeps_lines: ClassVar[bool] = False  # whether the format holds line statistics (lines=True)
    needs_lines: ClassVar[bool] = False  # whether the format cannot be written without line statistics

    def write(self, trace: Trace, stream: Sink) -> None:
        """Write the whole trace to ``stream``; raise OutputError if the trace cannot be written."""
        raise NotImplementedError


_WRITERS: Dict[str, Writer] = {}
W = TypeVar("W", bound=Type[Writer])


def register(writer_class: W) -> W:
    """Class decorator: make a format available by name and by extension."""
    writer = writer_class()
    for other in _WRITERS.values():
        shared = set(other.extensions) & set(writer.extensions)
        if shared and other.name != writer.name:
            raise ValueError(f"{writer.name!r} claims {sorted(shared)}, already taken by {other.name!r}")
    _WRITERS[writer.name] = writer
    return writer_class


def writers() -> List[Writer]:
    """The registered writers, in registration order."""
    return list(_WRITERS.values())


def known_extensions() -> List[str]:
    return sorted(ext for writer in _WRITERS.values() for ext in writer.extensions)


def writer_named(name: str) -> Writer:
    """The writer registered as ``name``."""
    try:
        return _WRITERS[name]
    except KeyError:
        raise OutputError(f"unknown output format {name!r} (known: {', '.join(sorted(_WRITERS))})") from None


def writer_for(path: str) -> Writer:
    """The writer whose extension ends ``path``; the longest match wins (".json.gz" over ".gz")."""
    filename = os.path.basename(path).lower()
    best = None
    best_length = 0
    for writer in _WRITERS.values():
        for extension in writer.extensions:
            if filename.endswith(extension) and len(extension) > best_length:
                best, best_length = writer, len(extension)
    if best is None:
        raise OutputError(
            f"cannot tell the output format of {path!r} from its extension "
            f"(known extensions: {', '.join(known_extensions())})"
        )
    return best
