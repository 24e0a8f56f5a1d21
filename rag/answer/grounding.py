"""Point each sentence of an answer at the passage that holds its words."""

from __future__ import annotations

from rag.answer.citations import answer_sentences, cited_numbers, strip_markers
from rag.text import STOPWORDS, stem, words
from rag.types import Citation


def _words(text: str) -> list[str]:
    return words(strip_markers(text))


def _vocabulary(passages: list[Citation]) -> set[str]:
    return {stem(w) for p in passages for w in _words(f"{p.title} {p.outlet or ''} {p.text}")}


def _overlap(sentence: str, passage: Citation) -> float:
    words = {stem(w) for w in _words(sentence) if w not in STOPWORDS}
    return len(words & _vocabulary([passage])) / len(words) if words else 0.0


def repair_citations(answer: str, passages: list[Citation]) -> str:
    """Point each sentence's [n] at the passage that holds its words when the model named a worse one.

    Small models often cite a neighbouring passage number; a citation the reader cannot verify is worse than
    a corrected one. A sentence's citation is kept when it is about as good as the best passage.
    """
    if not passages:
        return answer
    out = []
    for sentence in answer_sentences(answer):
        numbers = cited_numbers(sentence)
        scores = {p.n: _overlap(sentence, p) for p in passages}
        best = max(scores, key=scores.get)
        cited_best = max((scores.get(n, 0.0) for n in numbers), default=0.0)
        if scores[best] >= 0.5 and scores[best] - cited_best > 0.2:
            sentence = strip_markers(sentence, "").rstrip()
            body, end = (sentence[:-1], sentence[-1]) if sentence[-1:] in ".!?" else (sentence, "")
            sentence = f"{body} [{best}]{end}"
        out.append(sentence)
    return " ".join(out)
