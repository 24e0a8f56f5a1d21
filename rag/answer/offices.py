"""Whether an answer names someone by another office than the one asked for, or a ministry for its minister.

"Who was the Pentagon spokesman quoted in the later coverage of the Babil strike?" answered "President Biden [3]"
names a president where a spokesman is asked: the model took the name nearest the question's words. And "which
Iraqi defense minister did he meet?" answered "Iraq's Ministry of Defense met …" gives the ministry for its minister.
Neither is what is asked; the answer is withheld (rag.answer.confidence, as lacks_asked). Titles that fit many
offices ("official", "chief", "leader", "head") and ranks ("General") are no evidence of a mismatch, nor is a
clause that names no office at all ("John Kirby [1]").
"""

from __future__ import annotations

import re

from rag.answer.asking import asking_sentence, question_parts
from rag.answer.citations import strip_markers
from rag.answer.compose import split_clauses

# Offices that say which post someone holds, each with the class it answers for: a press secretary speaks for the
# Pentagon as a spokesman does, a defence secretary is a minister elsewhere.
_CLASSES = {
    "spokesman": {"spokes"}, "spokesperson": {"spokes"}, "spokeswoman": {"spokes"},
    "secretary": {"spokes", "minister"}, "minister": {"minister"}, "premier": {"minister"},
    "president": {"president"}, "ambassador": {"envoy"}, "envoy": {"envoy"}, "governor": {"governor"},
    "mayor": {"mayor"}, "senator": {"senator"}, "chairman": {"chair"}, "chairwoman": {"chair"},
    "king": {"monarch"}, "queen": {"monarch"}, "prince": {"monarch"},
}
OFFICES = frozenset(_CLASSES)  # the offices a person holds, by name (rag.answer.titles adds ranks and deputies)
# Person offices whose holder a body cannot be: asked for, a ministry or department is not an answer.
_PEOPLE = OFFICES | {"commander", "pilot", "general", "leader", "chief", "official"}
_OFFICE_WORDS = "|".join(sorted(_PEOPLE, key=len, reverse=True))
# "Who was the Pentagon spokesman …", "which Iraqi defense minister …": the office is the asked phrase's own noun
# (not "the prime minister's office", whose office is asked).
_ASKED = re.compile(r"\b(?:who|which|what)\s+(?:(?:was|is|were|are)\s+)?(?:the\s+)?(?:[\w'’.-]+\s+){0,3}?"
                    rf"(?P<office>{_OFFICE_WORDS})s?\b(?![’']s)", re.IGNORECASE)
_TITLE = re.compile(rf"\b(?P<title>{'|'.join(_CLASSES)})\b", re.IGNORECASE)
_BODY = re.compile(r"^(?:the\s+)?(?:[A-Z][\w’'.-]*\s+)*?(?:Ministry|Department|Office|Agency|Council|Committee)\b")


def asked_office(part: str) -> str | None:
    """The office a question (or one part of it) asks the holder of ("spokesman"), lower-cased; None if none."""
    found = _ASKED.search(asking_sentence(part))
    return found["office"].lower() if found else None


def names_other_office(office: str, clause: str) -> bool:
    """Whether the clause names an office of another class than `office` and none of its own ("President Biden"
    for a spokesman), or opens with a body where a person is asked ("Iraq's Ministry of Defense" for a minister)."""
    text = strip_markers(clause).strip()
    if _BODY.match(re.sub(r"^[A-Z][\w.-]*[’']s\s+", "", text)):
        return True
    asked = _CLASSES.get(office)
    titles = [t.lower() for t in _TITLE.findall(text)]
    return bool(asked and titles) and not any(asked & _CLASSES[t] for t in titles)


def other_office(question: str, answer: str) -> bool:
    """Whether an answer's clause names another office than its question (or question part) asks the holder of."""
    parts = question_parts(question)
    clauses = split_clauses(answer)
    pairs = zip(parts, clauses) if len(parts) > 1 else [(question, clauses[0] if clauses else "")]
    return any((office := asked_office(part)) and names_other_office(office, clause) for part, clause in pairs)
