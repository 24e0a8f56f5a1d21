"""What a question asks: its asking sentence, its parts, whether it asks yes or no, what a sentence must share to be
about it. Read by evidence selection (rag.answer.evidence) and by the checks of an answer alike."""

from __future__ import annotations

import re

from rag.text import content_terms, sentence_spans

_POLAR = re.compile(r"^\W*(?:did|does|do|was|were|is|are|has|have|had|will|would|can|could|should)\b", re.IGNORECASE)
MIN_SHARED = 2  # question terms a sentence must hold to be about what was asked


def is_polar(question: str) -> bool:
    """Whether the question asks yes or no ("Did ...?", "Was ...?")."""
    return bool(_POLAR.match(question))


def about_question(asked: set[str], names: set[str], sentence: str) -> bool:
    """Whether a sentence is about what a question asks: two of its terms `asked`, one of them not among its
    `names`. "Although Kataib Hezbollah denied involvement in the attacks, …" is no answer to "Did Kataib Hezbollah
    confirm the death of a fighter?"."""
    shared = asked.intersection(content_terms(sentence))
    return len(shared) >= min(MIN_SHARED, len(asked)) and bool(shared - names)


def asking_sentence(question: str) -> str:
    """The sentence of a question that asks (its last one ending in "?"; else its last): RealTimeQA-style questions
    open with sentences of context."""
    sentences = [question[start:end] for start, end in sentence_spans(question)]
    asking = [s for s in sentences if s.rstrip(" \"”’)").endswith("?")]
    return (asking or sentences or [question])[-1]


def asking_part(question: str) -> str:
    """What a question asks, without the statement it may open with: its asking sentence's last part after a
    semicolon ("The June strikes were Biden's second raid; which crossing was hit in the first one?")."""
    return asking_sentence(question).rsplit(";", 1)[-1]


_PART_BREAK = re.compile(r",?\s+and\s+(?=(?:who|whom|what|which|when|where|why|how|to what|in what|did|does|do|"
                         r"was|were|is|are)\b)|;\s+|\?\s+(?=\S)", re.IGNORECASE)


def question_parts(question: str) -> list[str]:
    """"Who was quoted in February, and who was quoted about Babil?" -> its two questions (or just the one)."""
    parts = [p.strip(" ,?") for p in _PART_BREAK.split(question) if len(p.split()) >= 2]
    return parts if len(parts) > 1 else [question]
