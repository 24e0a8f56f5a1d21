"""Verify each quote the model wrote against the evidence sentences it was shown.

A small model paraphrases when asked to copy ("At least seven fighters were killed" for "killed at least
seven fighters") and sometimes cites the wrong passage. A quote is kept when most of its words are found, in
order-insensitive overlap, in one evidence sentence; it is then replaced by that sentence, verbatim, and its
[n] re-pointed to the article holding it. A quote that matches nothing was made up and is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer.evidence import EvidenceGroup, Sentence
from rag.answer.format import Quote
from rag.text import STOPWORDS, stem, words

MIN_OVERLAP = 0.7  # share of a quote's words that must be in the sentence it is matched to


@dataclass(frozen=True)
class VerifiedQuote:
    """A quote matched to the evidence sentence that holds it: the sentence is what the user is shown."""

    n: int  # the article group that holds the sentence (may differ from the number the model wrote)
    quote: str  # the model's words
    sentence: Sentence
    overlap: float

    @classmethod
    def whole(cls, n: int, sentence: Sentence) -> VerifiedQuote:
        """A shown sentence quoted whole, as code (not the model) quotes it: the sentence of a refocused answer's
        value, or one an answer was assembled from."""
        return cls(n, sentence.text, sentence, 1.0)


def _terms(text: str) -> list[str]:
    kept = [stem(w) for w in words(text) if w not in STOPWORDS]
    return kept or [stem(w) for w in words(text)]


def overlap(quote: str, sentence: str) -> float:
    """Share of the quote's words (stopwords aside) found in the sentence."""
    wanted = _terms(quote)
    if not wanted:
        return 0.0
    have = set(_terms(sentence))
    return sum(t in have for t in wanted) / len(wanted)


def _order(quote: str, sentence: str) -> float:
    """Share of the quote's word pairs found in the sentence: tells apart two sentences with the same words."""
    wanted = list(zip(words(quote), words(quote)[1:]))
    have = set(zip(words(sentence), words(sentence)[1:]))
    return sum(p in have for p in wanted) / len(wanted) if wanted else 0.0


def verify(quotes: list[Quote], groups: list[EvidenceGroup], minimum: float = MIN_OVERLAP) -> list[VerifiedQuote]:
    """Each quote mapped to the best-matching evidence sentence of any article; made-up quotes are dropped.

    Ties go to the article the model named, so a sentence repeated in two outlets keeps the model's citation.
    Two quotes of one sentence count once.
    """
    verified: list[VerifiedQuote] = []
    seen: set[tuple[str, int]] = set()
    for quote in quotes:
        best: tuple[float, bool, int, Sentence] | None = None
        for n, group in enumerate(groups, start=1):
            for sentence in group.sentences:
                share = overlap(quote.text, sentence.text)
                candidate = (share + 0.5 * _order(quote.text, sentence.text), n == quote.n, -n, sentence, share)
                if best is None or candidate[:3] > best[:3]:
                    best = candidate
        if best is None or best[4] < minimum:
            continue
        key = (best[3].doc_id, best[3].start)
        if key not in seen:
            seen.add(key)
            verified.append(VerifiedQuote(-best[2], quote.text, best[3], best[4]))
    return verified


def answer_as_quote(answer: str, question: str, groups: list[EvidenceGroup], cited: int,
                    minimum: float = 0.8, min_words: int = 2) -> list[VerifiedQuote]:
    """When no quote verifies, the answer itself may still be copied from one sentence: its words beyond the
    question's (at least `min_words` of them) must nearly all be in that sentence. An answer that only restates
    the question has no such words and stays unverified."""
    asked = set(_terms(question))
    new = [t for t in _terms(re.sub(r"\[\d+\]", " ", answer)) if t not in asked]
    if len(set(new)) < min_words:
        return []
    return verify([Quote(cited, " ".join(new))], groups, minimum)
