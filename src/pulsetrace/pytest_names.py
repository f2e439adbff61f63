"""File names for per-test traces: a pytest node id made safe for any file system, still readable.

``tests/test_x.py::TestA::test_b[param-1]`` becomes ``tests_test_x.py__TestA__test_b[param-1]``:
``::`` becomes ``__``, path separators ``_``, and any other character outside a small portable set
(ASCII letters and digits, ``. _ - [ ] = + , @``) ``_``. A name that lost characters that way, or
that is too long for a file name, gets a hash of the whole node id as a suffix, so two tests never
share a file. The same test gets the same name on every run, so a rerun replaces its old trace.
"""

from __future__ import annotations

import hashlib
import re
from typing import Dict

# File names are limited to 255 bytes on common file systems; leave room for the hash and the
# longest extension (".speedscope.json") and keep names short enough to read in a listing.
MAX_STEM = 150
HASH_LENGTH = 10

_UNSAFE = re.compile(r"[^A-Za-z0-9._\-\[\]=+,@]")


def readable_stem(nodeid: str) -> str:
    """``nodeid`` with its separators replaced; other unsafe characters are left for ``safe_stem``."""
    return nodeid.replace("::", "__").replace("/", "_").replace("\\", "_")


def node_hash(nodeid: str) -> str:
    return hashlib.sha256(nodeid.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_LENGTH]


def safe_stem(nodeid: str, *, hashed: bool = False) -> str:
    """The file name (without extension) for the trace of test ``nodeid``; ``hashed`` forces the suffix."""
    readable = readable_stem(nodeid)
    stem = _UNSAFE.sub("_", readable)
    if stem.startswith("."):  # not a hidden file
        stem = "_" + stem[1:]
    if hashed or stem != readable or len(stem) > MAX_STEM:
        stem = f"{stem[:MAX_STEM]}-{node_hash(nodeid)}"
    return stem


class TraceNames:
    """Hands out one file name per node id, never the same one twice in a run.

    Different node ids can still meet after the replacements (``a/b.py`` and ``a_b.py``), also on a
    file system that ignores case; the later one then gets the hash suffix.
    """

    def __init__(self, extension: str) -> None:
        self.extension = extension
        self._taken: Dict[str, str] = {}  # casefolded file name -> node id

    def name_for(self, nodeid: str) -> str:
        name = safe_stem(nodeid) + self.extension
        if self._free(name, nodeid):
            return self._take(name, nodeid)
        name = safe_stem(nodeid, hashed=True) + self.extension
        counter = 1
        while not self._free(name, nodeid):  # two node ids with the same hash: never in practice
            counter += 1
            name = f"{safe_stem(nodeid, hashed=True)}-{counter}{self.extension}"
        return self._take(name, nodeid)

    def _free(self, name: str, nodeid: str) -> bool:
        return self._taken.get(name.casefold(), nodeid) == nodeid

    def _take(self, name: str, nodeid: str) -> str:
        self._taken[name.casefold()] = nodeid
        return name
