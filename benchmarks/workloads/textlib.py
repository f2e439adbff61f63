"""A small "third-party" text library for the library_calls workload: many small calls per use.

It stands for code the user does not want in the trace (a parser, a template engine): the workload's
own file calls it a few times, and nearly every call recorded without a filter happens in here.
"""

from __future__ import annotations

from typing import Dict, List


def is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def split_words(text: str) -> List[str]:
    words: List[str] = []
    current: List[str] = []
    for ch in text:
        if is_word_char(ch):
            current.append(ch)
        elif current:
            words.append(normalise("".join(current)))
            current = []
    if current:
        words.append(normalise("".join(current)))
    return words


def normalise(word: str) -> str:
    return strip_suffix(word.lower())


def strip_suffix(word: str) -> str:
    for suffix in ("ing", "ed", "s"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)]
    return word


def count(words: List[str]) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for word in words:
        counts[word] = counts.get(word, 0) + 1
    return counts
