"""A toll given from two sources, answered with each count and who gives it.

"How many fighters were killed in the June 2021 US strikes on the Syria-Iraq border?" Where the article says the
strikes "killed at least seven fighters" and, further on, that militia groups "in a statement named four members …
they said were killed", the sources disagree and the answer says so: "At least seven fighters killed, according to
France 24 [1]; four members killed, according to Iraqi militia groups aligned with Iran [1]." A small model writes
one count, or takes a third from another article about another strike.

Only one article's counts are set side by side: articles about strikes years apart count their dead alike, and
which event an undated article reports cannot be told from its words. A question that names its sources ("What
death tolls did Reuters' sources and the Syrian Observatory give …?") says which sides it wants: each named source's
toll is one, wherever its article is. Not every second count is a dispute: "killed six people, including three
children" counts a part, "another two were killed" adds to it, "three soldiers" and "two civilians" count different
people, one source giving two counts ("rose from 12 to 15") updates its own, and "a similar attack" last month is
another event. Where no toll is given from two sources, the model's answer stands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer.agreement import casualties, counted_terms, figures, number_value
from rag.answer.asking import about_question, asking_sentence
from rag.answer.compose import Composed, lower_start, sides_answer, speaker
from rag.answer.evidence import EvidenceGroup, Question, Sentence
from rag.answer.quotes import VerifiedQuote
from rag.text import capitalised_terms, content_terms, fold, stem
from rag.types import Citation

MAX_COUNTS = 3  # sides an answer lists: an article rarely sets more than three sources' tolls side by side
_NUMBER = re.compile(r"\d[\d,]*|[A-Za-z]+(?:-[A-Za-z]+)?")  # "17", "1,200", "seven", "Twenty-two" (and any word)
_QUALIFIER = re.compile(r"\b(?:at least|more than|over|nearly|almost|about|around|up to|some|as many as|fewer than|"
                        r"less than)\s+$", re.IGNORECASE)
_NOUN = re.compile(r"\s+([a-z]+)")
# A count that is a part of another or added to it: "including three children", "another two", "also killed four".
_PART_OF = re.compile(r"\b(?:including|among|another|additional|further|also|whom)\W+(?:\w+\W+){0,2}$", re.IGNORECASE)
# Words after a number that are not what it counts ("four were killed", "17 had been").
_NOT_NOUN = frozenset("were was had have has are is of in and at on by killed died dead wounded injured".split())
# People counted apart: "three soldiers" and "two civilians" are both true, not a dispute.
_KINDS = frozenset(stem(w) for w in ("civilians children women men soldiers troops police policemen officers "
                                     "students workers contractors journalists").split())
# "Iraqi militia groups aligned with Iran in a statement named four members … they said were killed": who said so.
_STATEMENT = re.compile(r"^(?P<who>[A-Z][^,;]{2,80}?)\s+in\s+a\s+(?:joint\s+)?statement\b")
# A sentence that tells of another event in the asked one's article: "It followed a similar attack on Balad Air Base
# on Sunday, injuring one contractor", "Last month a strike killed 12": its toll is not a side of the asked one's.
_ANOTHER_EVENT = re.compile(r"\b(?:a similar|an earlier|a previous|a separate|followed|(?:last|earlier this)\s+"
                            r"(?:week|month|year))\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_SAID_AS = {"dead": "killed", "hurt": "wounded"}  # what each side's count counts, in the answer's words
# "What death tolls did Reuters' sources and the Syrian Observatory give …?", "… according to SOHR and Reuters?": the
# question names whose tolls it asks, and each is a side wherever its article is.
_NAMED = re.compile(r"\b(?:did|do|does)\s+(?P<did>.+?)\s+(?:give|report|cite|put|say|count|record)\b"
                    r"|\baccording to\s+(?P<according>[^?,;]+)", re.IGNORECASE)
_SEPARATOR = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+")
_NAME_WORD = re.compile(r"\b[A-Z][\w.-]*")
# A speaker opening its sentence with an ordinary word and no name after it ("Local sources and a medical source"),
# not a name ("Iraqi militia groups", "Kataib Hezbollah"): the second word is in lower case, the first is a common
# description of a source.
_ORDINARY = re.compile(r"^(?:Local|Medical|Hospital|Security|Military|Police|Health|Government|Rescue|Civil|Witnesses|"
                       r"Residents|Officials|Sources|Activists|Doctors|Medics|Monitors)\b(?!\s+[A-Z])")


@dataclass(frozen=True)
class Count:
    """One count of the asked dead or wounded, as the sentence words it, who gives it, and where it is shown."""

    value: float
    words: str  # "at least seven fighters"
    who: str
    n: int
    sentence: Sentence
    kind: str | None  # the stemmed noun after the number ("fighter"), if any


def asked_casualties(question: str, parsed: Question) -> frozenset[str]:
    """The one casualty kind ("dead" or "hurt") a how-many question asks for; empty for any other question."""
    if parsed.wants != "number":
        return frozenset()
    kinds = casualties(content_terms(question))
    return kinds if len(kinds) == 1 else frozenset()


def _counts_in(sentence: str, asked: frozenset[str]) -> list[float]:
    """The sentence's counts of the asked casualty kind: a count whose neighbours name it, or the sentence's only
    count where the sentence speaks of that kind alone."""
    found = figures(sentence)
    whole = casualties(content_terms(sentence))
    return [value for value, near in found
            if casualties(near) == asked or (not casualties(near) and whole == asked and len(found) == 1)]


def _worded(sentence: str, value: float) -> tuple[str, str | None] | None:
    """How the sentence words the count `value` ("at least seven fighters") and its noun's stem ("fighter"); None
    where it is a part of another count or added to it ("including three children", "another two")."""
    for found in _NUMBER.finditer(sentence):
        if number_value(fold(found.group()).lower()) != value:
            continue
        before = sentence[:found.start()]
        if _PART_OF.search(before):
            return None
        qualifier, noun = _QUALIFIER.search(before), _NOUN.match(sentence, found.end())
        noun = noun if noun and noun[1] not in _NOT_NOUN else None
        start, end = qualifier.start() if qualifier else found.start(), noun.end() if noun else found.end()
        return sentence[start:end].strip(), stem(noun[1]) if noun else None
    return None


def _named_giver(sentence: str) -> str | None:
    """Who the sentence names as giving its count: its speaker, else the body whose statement it reports."""
    statement = _STATEMENT.match(sentence)
    who = speaker(sentence) or (statement["who"] if statement else None)
    if who and sentence.startswith(who) and _ORDINARY.match(who):
        return who[0].lower() + who[1:]  # "Local sources and a medical source …": capitalised as the sentence opens
    return lower_start(who) if who else None


def _giver(sentence: str, group: EvidenceGroup) -> str | None:
    """Who gives the sentence's count: the one it names, else the outlet."""
    return _named_giver(sentence) or (group.outlets[0] if group.outlets else None)


def _sentence_counts(sentence: str, asked: frozenset[str]) -> list[tuple[float, str, str | None]]:
    """The sentence's counts of the asked kind that are no part of another, each with its words (and what they
    count: "at least 17 people killed", as an answer's side must say) and noun."""
    found = [(value, *worded) for value in _counts_in(sentence, asked) if (worded := _worded(sentence, value))]
    return [(value, lower_start(f"{words} {_SAID_AS[next(iter(asked))]}"), kind) for value, words, kind in found]


def another_event(sentence: str, question: str) -> bool:
    """Whether a sentence tells of an event other than the asked one: a similar or earlier one, last month's, or
    one of another year than the question names (a question that names none may be of any year)."""
    asked_years = set(_YEAR.findall(question))
    return bool(_ANOTHER_EVENT.search(sentence)) or bool(asked_years and set(_YEAR.findall(sentence)) - asked_years)


def _toll_sentences(question: str, group: EvidenceGroup) -> list[Sentence]:
    """The group's shown sentences that may give the asked toll: about the question, and of no other event."""
    terms, names = counted_terms(question), capitalised_terms(question)
    return [s for s in group.sentences if about_question(terms, names, s.text) and not another_event(s.text, question)]


def article_counts(question: str, asked: frozenset[str], n: int, group: EvidenceGroup) -> list[Count]:
    """The asked toll as each of the article's shown sentences about the question gives it, one count per value."""
    counts: dict[float, Count] = {}
    for sentence in _toll_sentences(question, group):
        who = _giver(sentence.text, group)
        for value, words, kind in _sentence_counts(sentence.text, asked):
            if who and value not in counts:
                counts[value] = Count(value, words, who, n, sentence, kind)
    return list(counts.values())


def named_sources(question: str) -> list[tuple[str, list[str]]]:
    """The sources a toll question names, each as it writes it and by its capitalised words ("the Syrian
    Observatory", ["Syrian", "Observatory"]); a source named without one ("the ministry") is left out."""
    found = _NAMED.search(asking_sentence(question))
    if not found:
        return []
    named = [part.strip() for part in _SEPARATOR.split(found["did"] or found["according"]) if part.strip()]
    return [(part, words) for part in named if (words := _NAME_WORD.findall(part.replace("’", "'").split("'")[0]))]


def named_counts(question: str, asked: frozenset[str], groups: list[EvidenceGroup]) -> list[Count]:
    """Each named source's toll, from the best-ranked shown sentence about the question that names it and gives one
    count, wherever its article is; none unless every source the question names gives one."""
    shown = [(n, s) for n, group in enumerate(groups, start=1) for s in _toll_sentences(question, group)]
    named = named_sources(question)
    counts = []
    for part, words in named:
        for n, sentence in shown:
            found = _sentence_counts(sentence.text, asked)
            if len(found) == 1 and all(re.search(rf"\b{re.escape(w)}\b", sentence.text) for w in words):
                counts.append(Count(found[0][0], found[0][1], _named_side(sentence.text, part, words), n, sentence,
                                    found[0][2]))
                break
    return counts if len(counts) == len(named) else []


def _named_side(sentence: str, part: str, words: list[str]) -> str:
    """Who gives a named source's toll: the sentence's speaker, with the source the question named where the
    speaker is not it ("local sources … (Reuters)" of "Local sources … told Reuters"), else the question's words."""
    who = _named_giver(sentence)
    if who is None:
        return part
    return who if all(w in who for w in words) else f"{who} ({' '.join(words)})"


def disputed(counts: list[Count]) -> bool:
    """Whether counts are one toll on which sources differ: two values from two givers, of people not told apart
    ("three soldiers" and "two civilians" count different people)."""
    givers = {c.who.lower() for c in counts}
    kinds = {c.kind for c in counts if c.kind in _KINDS}
    return len(counts) >= 2 and len(givers) >= 2 and len(kinds) < 2


def answer_with_tolls(question: str, parsed: Question, composed: Composed, verified: list[VerifiedQuote],
                      groups: list[EvidenceGroup], passages: list[Citation]) -> tuple[Composed, list[VerifiedQuote]]:
    """Where the sources the question names each give the asked toll, or one shown article gives it from two or
    more sources, the answer names each count with who gives it, and its quotes are those sentences; otherwise the
    answer and quotes as they were."""
    asked = asked_casualties(question, parsed)
    if not asked:
        return composed, verified
    named = named_counts(question, asked, groups)
    if len(named) >= 2 and len({c.sentence for c in named}) == len(named):
        return sides_answer([(c.words, c.who, VerifiedQuote.whole(c.n, c.sentence)) for c in named], passages)
    for n, group in enumerate(groups, start=1):
        counts = article_counts(question, asked, n, group)[:MAX_COUNTS]
        if disputed(counts):
            return sides_answer([(c.words, c.who, VerifiedQuote.whole(c.n, c.sentence)) for c in counts], passages)
    return composed, verified
