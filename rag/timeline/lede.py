"""An article's lede: its first substantive sentence, which in news style says what happened (no model needed)."""

from __future__ import annotations

from rag.text import content_terms, looks_like_instruction, sentence_spans, strip_dateline
from rag.types import Document

_LOOK = 20  # sentences searched for one that names the story
_MIN_WORDS = 8  # fewer is a caption, a label or a teaser line, not the sentence that tells the news
_MAX_CHARS = 320


def lede(doc: Document, terms: set[str] | None = None) -> str:
    """The first sentence of the article with enough words to tell the news, dateline removed (else its title).

    With `terms` (a story's words), the first such sentence that names at least half of them: a round-up of the
    day's news ("5 things to know") opens with other stories.
    """
    text = doc.text
    substantive = []
    for start, end in sentence_spans(text)[:_LOOK]:
        sentence = strip_dateline(" ".join(text[start:end].split()))
        if len(sentence.split()) >= _MIN_WORDS and not sentence.endswith("?") and not looks_like_instruction(sentence):
            if not terms or 2 * len(terms & set(content_terms(sentence))) >= len(terms):
                return _shorten(sentence)
            substantive.append(sentence)
    return _shorten(substantive[0] if substantive else doc.title)


def _shorten(sentence: str) -> str:
    if len(sentence) <= _MAX_CHARS:
        return sentence
    return sentence[:_MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
