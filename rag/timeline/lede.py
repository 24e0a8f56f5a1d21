"""An article's lede: its first substantive sentence, which in news style says what happened (no model needed)."""

from __future__ import annotations

import re

from rag.text import looks_like_instruction, sentence_spans
from rag.types import Document

# A dateline before the story: "ERBIL, Kurdistan Region — ", "SULAIMANI (ESTA) — ", "WASHINGTON (Reuters) - ".
_DATELINE = re.compile(r"^(?:[A-Z][A-Z.'-]+(?:\s+[A-Z][A-Z.'-]+)*(?:,\s*[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*)*)?\s*"
                       r"(?:\([^)]{1,30}\))?|\((?:Reuters|AP|AFP|CNN)\))\s*[—–-]+\s*")
_MIN_WORDS = 8  # fewer is a caption, a label or a teaser line, not the sentence that tells the news
_MAX_CHARS = 320


def strip_dateline(sentence: str) -> str:
    return _DATELINE.sub("", sentence, count=1)


def lede(doc: Document) -> str:
    """The first sentence of the article with enough words to tell the news, dateline removed (else its title)."""
    text = doc.text
    for start, end in sentence_spans(text):
        sentence = strip_dateline(" ".join(text[start:end].split()))
        if len(sentence.split()) >= _MIN_WORDS and not sentence.endswith("?") and not looks_like_instruction(sentence):
            return _shorten(sentence)
    return _shorten(doc.title)


def _shorten(sentence: str) -> str:
    if len(sentence) <= _MAX_CHARS:
        return sentence
    return sentence[:_MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
