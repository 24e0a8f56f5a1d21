"""A count or date answer checked against the shown sentence that matches the question best.

Classic question answering takes a value of the asked type (a count for "how many", a date for "when") from the
passage sentence that shares most of the question's words. A 1.5B model often takes it from a neighbouring
sentence instead: "In what year was Qasem Soleimani killed?" answered "December 2021" from a sentence about
the end of the US combat role, where the sentence naming Soleimani says "the January 2020 drone strike
assassination of … Qasem Soleimani". When the answer's value sits only in sentences that share fewer of the
question's words than one other shown sentence that gives a value of its own, that sentence is the better
reading, and the answer is written again with its value (rag.answer.stages.refocus).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer.agreement import figures, undated
from rag.answer.asking import question_parts
from rag.answer.compose import first_clause
from rag.answer.evidence import EvidenceGroup, Question, Sentence
from rag.answer.quotes import VerifiedQuote
from rag.dates import MONTHS, date_marks
from rag.text import content_terms

_DAY_AFTER = re.compile(r"\s+\d{1,2}(?:st|nd|rd|th)?\b")  # "June 25": the day its month names
_WORD = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?|[A-Za-z]+(?:-[a-z]+)?")


@dataclass(frozen=True)
class BetterValue:
    """The shown sentence that matches the question best and gives a value the answer does not: the phrases that
    give it as that sentence writes them ("January 2020"), and the values read from them."""

    passage: int
    sentence: Sentence
    phrases: tuple[str, ...]
    values: frozenset[str]  # as slot_values reads them
    replaces: frozenset[str]  # the values the answer gave
    wants: str

    def given_by(self, answer: str) -> bool:
        """Whether an answer's first clause gives one of this sentence's values."""
        return bool(slot_values(first_clause(answer), self.wants) & self.values)

    def as_evidence(self, verified: list[VerifiedQuote]) -> list[VerifiedQuote]:
        """The rewritten answer's evidence: this sentence first, then the model's quotes but those that gave the
        value it replaced (shown beside "January 2020", "… in December 2021" would support nothing)."""
        kept = [q for q in verified
                if q.sentence != self.sentence and not slot_values(q.sentence.text, self.wants) & self.replaces]
        return [VerifiedQuote.whole(self.passage, self.sentence), *kept]


def slot_values(text: str, wants: str) -> set[str]:
    """The counts (as numbers: "seven" and "7" are one) or dates (rag.dates.date_marks) that `text` gives."""
    if wants == "number":
        return {f"{value:g}" for value, _ in figures(undated(text))}
    return date_marks(text)


def value_phrases(text: str, values: set[str], wants: str) -> list[tuple[int, int]]:
    """Where `text` gives one of `values`: runs of words that each give one ("January 2020", "10,000"), a day of
    the month after its month's name included ("June 25, 2021"), as spans."""
    spans: list[tuple[int, int]] = []
    for word in _WORD.finditer(text):
        if not slot_values(word.group(), wants) & values:
            continue
        end = word.end()
        if wants == "date" and (day := _DAY_AFTER.match(text, end)) and word.group().lower() in MONTHS:
            end = day.end()
        if spans and re.fullmatch(r"[\s,]*", text[spans[-1][1]:word.start()]):
            spans[-1] = (spans[-1][0], end)  # "January 2020", "June 25, 2021": one phrase
        else:
            spans.append((word.start(), end))
    return spans


def before_value(answer: str, wants: str, question: str) -> str | None:
    """The answer's first clause up to the first value it gives beyond the question's own ("Qasem Soleimani was
    killed in " of "... killed in December 2021 [1]"): where a refocused answer puts another value. None when
    it gives none, or only after a citation (a sentence already ended: "… along the border [1]. The official said
    the strikes killed one fighter")."""
    clause = first_clause(answer)
    spans = value_phrases(clause, slot_values(clause, wants) - slot_values(question, wants), wants)
    opening = clause[:spans[0][0]] if spans else None
    return None if opening is None or "[" in opening else opening


def better_value(question: str, parsed: Question, answer: str, groups: list[EvidenceGroup]) -> BetterValue | None:
    """For a one-part "how many" or "when" question: the shown sentence with the most question words, when its
    value is not the answer's and every sentence giving the answer's value shares fewer of them (None else)."""
    wants = parsed.wants
    if wants not in ("number", "date") or len(question_parts(question)) > 1:
        return None
    own = slot_values(question, wants)
    mine = slot_values(first_clause(answer), wants) - own
    asked = {t for t in content_terms(question) if not slot_values(t, wants)}
    support: dict[str, int] = {}  # each value: the most question words a shown sentence giving it shares
    best: list[tuple[int, int, Sentence, set[str]]] = []  # (shared, passage, sentence, its values) at the top score
    for passage, group in enumerate(groups, start=1):
        for sentence in group.sentences:
            values = slot_values(sentence.text, wants) - own
            if not values:
                continue
            shared = len(asked.intersection(content_terms(sentence.text)))
            for value in values:
                support[value] = max(support.get(value, 0), shared)
            if not best or shared > best[0][0]:
                best = [(shared, passage, sentence, values)]
            elif shared == best[0][0] and sentence.text != best[0][2].text:
                best.append((shared, passage, sentence, values))
    # The answer's value must be one the articles give (else the unsupported-figure and date gates judge it), and
    # the best sentence must be one: two sentences as good as each other leave the model's choice standing.
    if not mine or not mine <= support.keys() or len(best) != 1:
        return None
    shared, passage, sentence, values = best[0]
    if values & mine or shared <= max(support[value] for value in mine):
        return None
    phrases = tuple(dict.fromkeys(sentence.text[a:b] for a, b in value_phrases(sentence.text, values, wants)))
    return BetterValue(passage, sentence, phrases, frozenset(values), frozenset(mine), wants)
