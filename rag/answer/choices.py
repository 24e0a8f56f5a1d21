"""An either-or question answered with every choice the shown sentences give, each with who gives it.

"What kind of aircraft hit the PMF in Babil province: jets or a drone?" asks which of two things happened. Where
one shown sentence says jets ("They targeted, with fighter jets …," he added — the Iraqi prime minister's
spokesman) and another a drone ("The PMF announced … that a drone strike had targeted one of its brigades"), the
sources disagree, and the answer says so: "Jets, according to Yehia Rasool [1]; a drone, according to the PMF
[1]." A small model writes one side, or neither. Where the shown sentences give one choice or none, the model's
answer stands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer.asking import asking_sentence, is_polar
from rag.answer.compose import Composed, lower_start, sides_answer, speaker
from rag.answer.evidence import EvidenceGroup, Question, Sentence
from rag.answer.quotes import VerifiedQuote
from rag.text import content_terms
from rag.types import Citation

# "…: jets or a drone?" (after a colon or dash) and "Was it carried out by jets or a drone?" (a yes/no question's
# frame): two short choices that end the question. Not "which city will require clear or mesh backpacks?" nor
# "…, when he was eight or nine years old?", which ask for something else; nor "Which towns or villages were hit
# …?", which goes on after the "or" (one thing named two ways).
_CHOICES = re.compile(r"(?:[:–—]\s*(?P<listed>(?:[\w'’-]+\s+){0,3}?)|\b)(?P<first>[\w'’-]+)\s+or\s+"
                      r"(?P<second>(?:[\w'’-]+\s+){0,2}[\w'’-]+)\s*\?\s*$")
_PRONOUN_SPEAKER = re.compile(r"\b(?:he|she|they)\s+(?:said|added|says|told)\b", re.IGNORECASE)
_SAID_NAME = re.compile(r"\bsaid\s+(?P<who>[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){1,3})")  # "…,” said Yehia Rasool, …


@dataclass(frozen=True)
class Choice:
    """One choice the question offers, as it words it, and the shown sentence that gives it (with its number)."""

    words: str
    n: int
    sentence: Sentence
    who: str


def offered_choices(question: str) -> list[str]:
    """The choices an either-or question ends with ("jets", "a drone"), as it words them; [] for any other."""
    asking = asking_sentence(question).strip()
    found = _CHOICES.search(asking)
    if not found or (found["listed"] is None and not is_polar(asking)):
        return []
    first = f"{found['listed'] or ''}{found['first']}".strip()
    return [first, found["second"].strip()]


def _head(choice: str) -> str | None:
    """The choice's last content word, stemmed ("drone" of "a drone"): what a sentence must say to give it."""
    terms = content_terms(choice)
    return terms[-1] if terms else None


def _giver(group: EvidenceGroup, at: int) -> str | None:
    """Who the group's sentence `at` says gives its claim: its own speaker, else (a "he added") the one the
    sentence before names, else the outlet."""
    sentence = group.sentences[at].text
    who = speaker(sentence)
    if who is None and at > 0 and _PRONOUN_SPEAKER.search(sentence):
        before = group.sentences[at - 1].text
        named = _SAID_NAME.search(before)
        who = speaker(before) or (named["who"] if named else None)
    return lower_start(who) if who else (group.outlets[0] if group.outlets else None)


def choices_given(question: str, groups: list[EvidenceGroup]) -> list[Choice]:
    """Each offered choice that a shown sentence about the question gives (its best such sentence), in the
    question's order; a sentence that names two choices gives neither ("jets, not a drone")."""
    offered = offered_choices(question)
    heads = [_head(c) for c in offered]
    if len(offered) < 2 or None in heads or len(set(heads)) < len(heads):
        return []
    asked = set(content_terms(question)) - set(heads)
    given: list[Choice] = []
    for words, head in zip(offered, heads):
        best: tuple[float, Choice] | None = None
        for n, group in enumerate(groups, start=1):
            for at, sentence in enumerate(group.sentences):
                terms = set(content_terms(sentence.text))
                if head not in terms or len(terms & set(heads)) > 1 or not terms & asked:
                    continue
                who = _giver(group, at)
                if who and (best is None or sentence.score > best[0]):
                    best = (sentence.score, Choice(words, n, sentence, who))
        if best:
            given.append(best[1])
    return given


def answer_with_choices(question: str, parsed: Question, composed: Composed, verified: list[VerifiedQuote],
                        groups: list[EvidenceGroup], passages: list[Citation]) -> tuple[Composed, list[VerifiedQuote]]:
    """Where shown sentences give two or more of the question's choices, the answer names each with who gives it,
    and its quotes are those sentences; otherwise the answer and quotes as they were."""
    given = choices_given(question, groups)
    if len(given) < 2 or len({c.sentence for c in given}) < 2:
        return composed, verified
    return sides_answer([(c.words, c.who, VerifiedQuote.whole(c.n, c.sentence)) for c in given], passages)
