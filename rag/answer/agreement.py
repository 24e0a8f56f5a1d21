"""Agreement across sources: how many independent articles hold an answer's key terms, which other figures they give.

An evidence group is one source: an article together with its wire copies from other outlets (rag.answer.evidence
groups copies), so a story syndicated to five sites counts once. A *rival figure* is a number that a shown
sentence puts next to one of the question's words (within a few words: "17 killed", "killed 22 people") while
the answer gives another: the sign of a toll or count on which the sources disagree, where the answer must name
both sides or decline.

Tried as confidence signals by eval/trial_agreement.py and not kept (eval/NOTES.md). `unsupported_figures` (a count
the answer gives that no shown sentence does) gates answers as an unsupported date does (rag.answer.confidence).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from rag.answer.citations import strip_markers
from rag.answer.evidence import EvidenceGroup, Question
from rag.dates import MONTHS
from rag.text import content_terms, fold, stem

_SMALL = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
          "seventeen eighteen nineteen").split()
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_NUMBER_WORD = {**{w: i for i, w in enumerate(_SMALL)}, **_TENS}
_TOKEN = re.compile(r"\d[\d,]*(?:\.\d+)?|[a-z]+(?:-[a-z]+)?")
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")  # "(2021-02-25)": a date, which rag.dates checks, not three counts
# A number glued to a letter before it names a thing: "F-15E" (a jet), "COVID-19", "MQ-9", "G7" count nothing.
_DESIGNATION = re.compile(r"[a-z]-?$")
WINDOW = 4  # words either side of a figure that may name what it counts
# The dead and the wounded are counted apart: "four fighters were killed" gives no count of the wounded.
_DEAD = frozenset(stem(w) for w in "kill killed killing dead die died dying death deaths fatalities".split())
_HURT = frozenset(stem(w) for w in "wound wounded wounding injured injuring injury injuries hurt".split())


@dataclass(frozen=True)
class Agreement:
    """How the shown sources stand to an answer."""

    sources: int  # evidence groups (an article with its copies) whose sentences hold most of the answer's key terms
    rival_figures: tuple[float, ...]  # figures the sources tie to the question's words that the answer does not give


def key_terms(answer: str, question: str) -> list[str]:
    """The answer's content terms that the question does not already have (citations dropped), in order."""
    asked = set(content_terms(question))
    return list(dict.fromkeys(t for t in content_terms(strip_markers(answer)) if t not in asked))


def supporting_sources(terms: list[str], groups: list[EvidenceGroup], share: float = 0.6) -> int:
    """How many groups' shown sentences (titles too) hold at least `share` of `terms`."""
    if not terms:
        return 0
    count = 0
    for group in groups:
        have = set(content_terms(f"{group.doc.title} {group.text()}"))
        count += sum(t in have for t in terms) >= share * len(terms)
    return count


def number_value(token: str) -> float | None:
    """The number a token spells ("22", "1,200", "seventeen", "twenty-two"), else None."""
    if token[0].isdigit():
        try:
            return float(token.replace(",", ""))
        except ValueError:
            return None
    head, _, tail = token.partition("-")
    if head in _TENS and tail in _NUMBER_WORD and _NUMBER_WORD[tail] < 10:
        return float(_TENS[head] + _NUMBER_WORD[tail])
    return float(_NUMBER_WORD[token]) if token in _NUMBER_WORD and not tail else None


def figures(text: str) -> list[tuple[float, list[str]]]:
    """Each count in `text` with the stemmed words around it. Years, days of a month, "one" (mostly a pronoun:
    "one of the", "the one who") and the numbers of names ("F-15E", "COVID-19") are not counts."""
    folded = fold(text)
    matches = list(_TOKEN.finditer(folded))
    tokens = [m.group() for m in matches]
    found = []
    for i, token in enumerate(tokens):
        value = number_value(token)
        if value is None or token == "one" or _DESIGNATION.search(folded, 0, matches[i].start()):
            continue
        near = tokens[max(0, i - WINDOW): i] + tokens[i + 1: i + 1 + WINDOW]
        is_year = token.isdigit() and len(token) == 4 and 1900 <= value <= 2100
        beside_month = (i > 0 and tokens[i - 1] in MONTHS) or (i + 1 < len(tokens) and tokens[i + 1] in MONTHS)
        if is_year or (beside_month and value <= 31):
            continue
        found.append((value, [stem(w) for w in near]))
    return found


def numbers_in(text: str) -> set[float]:
    """Every number `text` spells, in digits or words, years and days of a month included."""
    return {value for token in _TOKEN.findall(fold(text)) if (value := number_value(token)) is not None}


def undated(text: str) -> str:
    """An answer's words without its citation markers and the dates resolved into it ("(2021-02-25)"), whose digits
    are a date, which rag.dates checks, not counts."""
    return _ISO_DATE.sub(" ", strip_markers(text))


def unsupported_figures(answer: str, evidence: str) -> list[float]:
    """The counts an answer states that the evidence (with the question) never gives: the model's own numbers,
    however sure they sound ("cost $1.5 billion" where no article names a cost). Dates are rag.dates's."""
    return sorted({value for value, _ in figures(undated(answer))} - numbers_in(evidence))


def counted_terms(question: str) -> set[str]:
    """The question's terms that may name what a count counts: its words, not its figures or months."""
    return {t for t in content_terms(question) if not any(c.isdigit() for c in t) and t not in MONTHS}


def casualties(terms: Iterable[str]) -> frozenset[str]:
    """Which of the dead ("dead") and the wounded ("hurt") stemmed `terms` speak of."""
    found = set(terms)
    return frozenset(kind for kind, lexicon in (("dead", _DEAD), ("hurt", _HURT)) if found & lexicon)


def counts_other_casualties(question: str, first_clause: str, quotes: Sequence[str]) -> bool:
    """Whether a count asked of the dead or of the wounded is given from quotes where it counts only the other:
    "Four people were wounded in the strike [1]" where [1] says "four fighters were killed". A quote that puts it
    beside both ("killed two and wounded four") or beside neither is no such sign."""
    asked = casualties(content_terms(question))
    if len(asked) != 1:
        return False
    given = {value for value, _ in figures(undated(first_clause))}
    beside = [casualties(near) for quote in quotes for value, near in figures(quote) if value in given]
    return bool(beside) and all(kinds and not kinds & asked for kinds in beside)


def rival_figures(question: str, parsed: Question, answer: str, groups: list[EvidenceGroup]) -> tuple[float, ...]:
    """For a question that wants a number: the figures the sources tie to the question's own words that the answer
    does not give (none when the answer gives no figure: then it is not one side of a dispute)."""
    if parsed.wants != "number":
        return ()
    given = {value for value, _ in figures(strip_markers(answer))}
    if not given:
        return ()
    asked = counted_terms(question)
    rivals = {value for group in groups for sentence in group.sentences
              for value, near in figures(sentence.text) if value not in given and asked.intersection(near)}
    return tuple(sorted(rivals))


def agreement(question: str, parsed: Question, answer: str, groups: list[EvidenceGroup]) -> Agreement:
    """How the evidence groups shown for `question` stand to `answer`."""
    return Agreement(supporting_sources(key_terms(answer, question), groups),
                     rival_figures(question, parsed, answer, groups))
