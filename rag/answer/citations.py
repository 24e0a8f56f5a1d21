"""Read `[n]` markers in an answer and resolve them to the passages shown."""

from __future__ import annotations

import re

from rag.text import ABBREVIATION
from rag.types import Citation

MARKER = r"\[\d+(?:\s*[,;]\s*\d+)*\]"  # one citation marker: [2], [1, 3], [1;3]
MARKER_RE = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")  # the same, capturing the numbers

ABSTENTION = "I cannot find the answer in the provided articles."
# A sentence ends at . ! ? plus any citation markers right after it, before a capital or the end.
_SENTENCE_END = re.compile(rf"[.!?]+(?:\s*{MARKER})*(?=\s+[\"“‘(A-Z]|\s*$)")


def strip_markers(text: str, replacement: str = " ") -> str:
    """The text without its citation markers (and the space before each)."""
    return re.sub(rf"\s*{MARKER}", replacement, text)


def cited_numbers(text: str) -> list[int]:
    """Passage numbers in order of first mention; "[1, 3]" and "[1][3]" both give 1, 3."""
    seen: list[int] = []
    for match in MARKER_RE.finditer(text):
        for part in re.split(r"[,;]", match.group(1)):
            n = int(part)
            if n not in seen:
                seen.append(n)
    return seen


def resolve(text: str, passages: list[Citation]) -> tuple[str, list[Citation], list[int]]:
    """The answer with unknown markers removed, the cited passages, and the numbers that named none."""
    by_number = {p.n: p for p in passages}
    dangling = [n for n in cited_numbers(text) if n not in by_number]

    def keep_known(match: re.Match) -> str:
        known = [p.strip() for p in re.split(r"[,;]", match.group(1)) if int(p) in by_number]
        return f"[{', '.join(known)}]" if known else ""

    cleaned = re.sub(r"\s+([.,;!?])", r"\1", MARKER_RE.sub(keep_known, text)) if dangling else text
    citations = [by_number[n] for n in cited_numbers(cleaned)]
    return cleaned.strip(), citations, dangling


def answer_sentences(answer: str) -> list[str]:
    """The answer's sentences, each with the citation markers that close it; "Lloyd J. Austin" stays whole."""
    sentences, start = [], 0
    for match in _SENTENCE_END.finditer(answer):
        if ABBREVIATION.search(answer[start:match.start() + 1]):
            continue
        sentences.append(answer[start:match.end()].strip())
        start = match.end()
    if answer[start:].strip():
        sentences.append(answer[start:].strip())
    return sentences
