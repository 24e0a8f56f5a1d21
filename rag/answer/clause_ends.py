"""A clause the answer grammar's length cap cut off mid-phrase, finished from the sentence it was copying.

The grammar ends an answer clause after 160 characters (prompts/answer.gbnf), so a model copying a long sentence
is made to stop wherever the cap falls: "… met US Ambassador Alina Romanowski in Baghdad to discu [1]", "… a
single common charging standard for [1]". A clause that long nearly always copies a shown sentence word for
word; where its last words are found in one, the clause goes on as that sentence does to the end of its phrase
(the next comma, semicolon or full stop): the words are the article's, so nothing is made up. Where that phrase
runs on too long, only the cut word is finished ("… in Baghdad to discuss …"); a clause whose ending is found in
no sentence is cut back to its last whole word. Either way "…" marks what was left out.
"""

from __future__ import annotations

import re

from rag.answer.citations import MARKER

CUT_AT = 150  # clauses at least this long may have met the cap (160, or 150 each side of a typed answer's figure)
CAP = 160  # prompts/answer.gbnf's longest clause
AT_CAP = 158  # a clause this long up to CAP (the spaces around it aside) met the cap
TAIL_CHARS = 24  # how much of a clause's end is looked up in the sentences
MAX_ADDED = 80  # the most a phrase's rest may add
_CLAUSE = re.compile(rf"(?P<body>[^;\[\]]+?)(?P<cite>\s*(?:{MARKER})+)")
_PHRASE_END = re.compile(r"[,;:.!?\"“”()]|\s[-–—]\s")


def finish_cut_clauses(answer: str, sentences: list[str]) -> str:
    """`answer` with each clause that ran into the length cap finished from the sentence it copies (or marked
    shortened); shorter clauses, and clauses whose phrase already ended, as they were."""
    return _CLAUSE.sub(lambda m: _finished(m["body"], sentences) + m["cite"], answer)


def _finished(body: str, sentences: list[str]) -> str:
    text = body.rstrip()
    length = len(text.strip())
    if length < CUT_AT or _PHRASE_END.fullmatch(text[-1:]):
        return body
    tail = text[-TAIL_CHARS:]
    for sentence in sentences:
        at = sentence.find(tail)
        if at < 0:
            continue
        rest = sentence[at + len(tail):]
        mid_word = rest[:1].isalnum()  # "discu" of "discuss": cut, however long the clause
        if not mid_word and not AT_CAP <= length <= CAP:
            return body  # a whole word, short of the cap: where the model chose to stop
        stop = _PHRASE_END.search(rest)
        added = rest[:stop.start()] if stop else rest
        if len(added) <= MAX_ADDED:
            return text + added.rstrip()
        if mid_word:  # the phrase goes on too long to give whole: its cut word finished, the rest marked left out
            return text + re.match(r"[\w'’-]*", rest).group() + " …"
    return _shortened(text) if AT_CAP <= length <= CAP else body


def _shortened(text: str) -> str:
    """"… in Baghdad to discu" -> "… in Baghdad to …": the last whole word kept, the cut shown."""
    whole = text.rsplit(" ", 1)[0] if " " in text else text
    return whole.rstrip(" ,") + " …"
