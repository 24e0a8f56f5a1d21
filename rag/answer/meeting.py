"""Whether what an answer adds and what the question asks meet in one place the model was shown.

A small model asked "Which Iraqi defense minister met Lloyd Austin at the Joint Security Cooperation Dialogue?"
may answer "Iraqi MPs met Lloyd Austin at the Joint Security Cooperation Dialogue [1]": the question's words from
one sentence, "MPs" from a headline about something else. Each word is in the evidence, so no check of words
against the evidence as a whole sees it; but no shown sentence says both. A right answer sits where the question's
words are: in one sentence, a sentence and the next one shown, or a headline holding a good share of both the
question's words and the words the answer adds. An answer whose added words meet the question nowhere is stitched
together, and is withheld (rag.answer.confidence.gated); a later clause that meets it nowhere is left out.
"""

from __future__ import annotations

from typing import Iterator

from rag.answer.asking import question_parts
from rag.answer.citations import strip_markers
from rag.answer.compose import first_clause, split_clauses
from rag.answer.evidence import EvidenceGroup, Question
from rag.dates import MONTHS, WEEKDAYS
from rag.text import NUMBER_WORDS, content_terms

# The share of the question's words, and of the answer's added words, that one place must hold. Replayed on the
# recorded answers of five benchmarks (eval/NOTES.md, 2026-11-29): 0.25 to 0.35 withhold 10 to 15 wrong answers
# for 1 to 5 right ones; from 0.45 on, as many right answers as wrong (right ones word the question otherwise).
MEET = 0.3
_NOT_ADDED = frozenset({"yes"})  # "Yes, …" answers a yes/no question; what it adds is the rest


def added_terms(question: str, answer: str) -> set[str]:
    """The content terms the answer's first clause (the answer itself) adds to the question's, counts and dates
    left out: whether a count or a date is the articles' is the count and date gates' to judge
    (rag.answer.confidence; a report's date is its article's, given beside its headline, not in a sentence).
    Number words, month and weekday names are terms as they are (rag.text.stem leaves them whole)."""
    asked = set(content_terms(question))
    said = content_terms(strip_markers(first_clause(answer)))
    return {t for t in said if t not in asked and t not in NUMBER_WORDS and t not in _NOT_ADDED
            and t not in MONTHS and t not in WEEKDAYS and not any(c.isdigit() for c in t)}


def _places(groups: list[EvidenceGroup]) -> Iterator[set[str]]:
    """The terms of each place one claim can be read from: a headline, a shown sentence, two shown in a row."""
    for group in groups:
        sentences = [set(content_terms(s.text)) for s in group.sentences]
        yield set(content_terms(group.doc.title))
        yield from sentences
        yield from (first | second for first, second in zip(sentences, sentences[1:]))


def _meets_nowhere(asked: set[str], added: set[str], groups: list[EvidenceGroup]) -> bool:
    """Whether no shown place holds MEET of both `asked` and `added` (False when either is empty: nothing to meet)."""
    if not asked or not added or not groups:
        return False
    best = max(min(len(asked & place) / len(asked), len(added & place) / len(added)) for place in _places(groups))
    return best < MEET


def stitched(question: str, parsed: Question, answer: str, groups: list[EvidenceGroup]) -> bool:
    """Whether no shown place holds MEET of both the question's terms and the terms the answer adds, or, for a
    question in parts, of some part's terms and what its clause adds ("…, and who was among the victims?" answered
    in its second clause with who reported the toll: half an answer is a miss). Not for a "how many" question or
    part, whose answer is its count: "Two people died and thirteen injured [1]" to "How many people were injured
    …?" adds "died" where the article says "dead"."""
    if parsed.wants != "number" and _meets_nowhere(set(parsed.terms), added_terms(question, answer), groups):
        return True
    parts = question_parts(question)
    if len(parts) < 2:
        return False
    return any(_meets_nowhere(set(asked.terms), added_terms(part, clause), groups)
               for part, clause in zip(parts, split_clauses(answer))
               if (asked := Question.parse(part)).wants != "number")


def without_unmet_clauses(question: str, parsed: Question, answer: str, groups: list[EvidenceGroup]) -> str:
    """The answer without its later clauses that meet the question nowhere: "Adele will launch a Las Vegas
    residency later this year [1]; the source said the couple wed Saturday [3]." says its first clause only. Not
    for a two-part question (its second clause answers the second part, whose words are not all the question's)
    nor a "how many" one (see stitched); another side of a dispute sits where the question's words are, and stays."""
    clauses = split_clauses(answer)
    if len(clauses) < 2 or len(question_parts(question)) > 1:
        return answer
    kept = [clauses[0], *(c for c in clauses[1:] if not stitched(question, parsed, c, groups))]
    return answer if len(kept) == len(clauses) else "; ".join(kept) + "."
