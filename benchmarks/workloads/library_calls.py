"""A program whose calls happen almost all inside a library file (textlib.py), for include_files.

The workload's own functions (this file) make a few hundred calls; textlib makes about 20 per line
of text. ``include_files`` set to this file keeps only this file's calls.
"""

from __future__ import annotations

import random
from typing import Dict, List

from workloads import textlib

SIZES = {"full": 2_500, "quick": 200}
VOCABULARY = ["tracing", "profiled", "calls", "python", "timeline", "slices", "threads", "heat", "lines"]


def summarise_paragraph(lines: List[str]) -> Dict[str, int]:
    words: List[str] = []
    for line in lines:
        words.extend(textlib.split_words(line))
    return textlib.count(words)


def setup(size: int) -> List[List[str]]:
    rng = random.Random(7)
    lines = [" ".join(rng.choice(VOCABULARY) for _ in range(8)) + "." for _ in range(size)]
    return [lines[i : i + 10] for i in range(0, len(lines), 10)]


def run(paragraphs: List[List[str]]) -> int:
    total = 0
    for paragraph in paragraphs:
        total += len(summarise_paragraph(paragraph))
    return total
