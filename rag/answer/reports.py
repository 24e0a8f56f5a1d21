"""The date of an outlet's report, when that is what is asked: the article's own date, not a date in its text.

"What is the date of the Rudaw report on the Iraqi Defense Ministry's denial?" asks when Rudaw published, which the
article's metadata says (shown to the model beside its title); a small model answers with a date from some
sentence, or another article's. Where the question names the outlet of a shown article and asks its report's date,
the answer is that article's date: "The Rudaw report is dated 27 February 2021 [3]." Where no shown article of
that outlet has a date, the model's answer stands.
"""

from __future__ import annotations

import re
from datetime import date

from rag.answer.asking import asking_sentence
from rag.answer.compose import Composed, assembled_answer
from rag.answer.evidence import EvidenceGroup, Question
from rag.answer.quotes import VerifiedQuote
from rag.text import content_terms
from rag.types import Citation

_WRITTEN = r"(?:report|article|story|piece|dispatch)"
# "What is the date of the Rudaw report on …?", "When did Rudaw publish its story on …?", "When was the Rudaw
# article about … published?": the report's date, not the date of what it reports.
_ASKS_REPORT_DATE = re.compile(
    rf"\b(?:what|which)\s+(?:is|was)\s+the\s+(?:date|day)\s+of\s+(?:the|its|an?)\s+(?:[\w'’.-]+\s+){{0,3}}?{_WRITTEN}\b"
    rf"|\bwhen\s+(?:did|was|were)\s+(?:[\w'’.-]+\s+){{0,4}}?(?:publish(?:ed)?|run|carry|carried|post(?:ed)?)\b"
    rf"|\bwhen\s+(?:did|was|were)\s+(?:the\s+)?(?:[\w'’.-]+\s+){{0,3}}?{_WRITTEN}\b", re.IGNORECASE)


def asks_report_date(question: str) -> bool:
    """Whether the question asks when a report was published."""
    return bool(_ASKS_REPORT_DATE.search(asking_sentence(question)))


def _named_outlet(question: str, group: EvidenceGroup) -> str | None:
    """The first of the group's outlets ("Rudaw", "France 24") the question names, as a word of its own."""
    return next((o for o in group.outlets if re.search(rf"(?<!\w){re.escape(o)}(?!\w)", question, re.IGNORECASE)),
                None)


def reported_article(question: str, groups: list[EvidenceGroup]) -> tuple[int, EvidenceGroup] | None:
    """Of the shown articles with a date from the outlet the question names, the one its words match best (title
    and sentences shown; the better ranked on a tie), with its number; None if there is none. An undated article
    has no date to give: the date asked is another article's or nobody's."""
    asked = set(content_terms(question))
    named = [(n, g) for n, g in enumerate(groups, start=1) if g.doc.date and _named_outlet(question, g)]
    if not named:
        return None
    return max(named, key=lambda item: len(asked & set(content_terms(f"{item[1].doc.title} {item[1].text()}"))))


def answer_with_report_date(question: str, parsed: Question, composed: Composed, verified: list[VerifiedQuote],
                            groups: list[EvidenceGroup], passages: list[Citation]
                            ) -> tuple[Composed, list[VerifiedQuote]]:
    """For a question asking when a shown outlet's report came out, that article's date, citing it (its shown
    sentences are the quotes); otherwise the answer and quotes as they were."""
    found = reported_article(question, groups) if asks_report_date(question) else None
    if found is None:
        return composed, verified
    n, group = found
    try:
        day = date.fromisoformat(group.doc.date or "")
    except ValueError:
        return composed, verified
    text = f"The {_named_outlet(question, group)} report is dated {day.day} {day:%B %Y} [{n}]."
    quotes = [q for q in verified if q.n == n] or [VerifiedQuote.whole(n, s) for s in group.sentences[:1]]
    return assembled_answer(text, quotes, passages)
