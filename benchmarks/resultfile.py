"""Where every benchmark writes its results: one JSON file under benchmarks/results/ (ignored by git;
RESULTS.md quotes the figures and names the file), or at the path given with ``--output``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Optional

RESULTS = Path(__file__).resolve().parent / "results"


def write_results(results: Any, stem: str, output: Optional[str] = None) -> Path:
    """Write ``results`` as JSON to ``output``, or to results/<stem>-<date>-<time>.json, and say where.

    ``default=str`` keeps a stray non-JSON value (a Path, a tuple key's repr) from losing a whole run.
    """
    path = Path(output) if output else RESULTS / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(f"results written to {path}", file=sys.stderr)
    return path
