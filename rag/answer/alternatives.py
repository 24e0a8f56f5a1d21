"""Two clauses that fill one frame of the question with different things, nobody named for either: a guess, twice.

"Who is the leader of Kataib Hezbollah?" answered "The leader of Kataib Hezbollah is Austin [1]; the leader of
Kataib Hezbollah is the group of drone experts working on reconnaissance [2]." offers two fillers for one slot and
says of neither who claims it: the model does not know which, and the answer is withheld
(rag.answer.confidence.gated). Where sources disagree an answer says who says what ("Austin said …; Kataib
Hezbollah denied …": the model's own words, or rag.answer.compose's attribution of clauses that give other figures
or deny), and it stands. Only a question that asks for one thing is judged: one in two parts, one that asks for
several things ("Which towns were hit?") or for what someone did, said or found is answered clause by clause.
"""

from __future__ import annotations

import re

from rag.answer.asking import asking_sentence, question_parts
from rag.answer.citations import strip_markers
from rag.answer.compose import disagree, says_who, split_clauses
from rag.text import capitalised_terms, content_terms

FRAME_TERMS = 2  # question terms a shared opening must hold to be the question's frame, not a shared subject word
# "Which towns …", "what countries …", "who were …", "what are …": the question asks for more than one thing. A
# plural is a word in -s (not -ss, -us, -is: "press", "US", "this") within two words of "which"/"what", or a
# plural verb right after the question word. Auxiliaries and "news" end in -s and are not plurals.
_SEVERAL = re.compile(r"\b(?:which|what)\s+(?:\w+\s+)?(?!(?:does|was|has|is|its|his|news)\b)\w+[^su\W's]s\b"
                      r"|\b(?:who|which|what)\s+(?:were|are|have)\b", re.IGNORECASE)
# "Who …", "where …", "which state …", "what type …", "what is the name …": one thing asked. Not "what did the report
# find?" or "what did he say?", answered as well by two findings or two remarks.
_ONE_THING = re.compile(r"\b(?:who|whom|where|which)\b|\bwhat\s+(?!(?:did|does|do|has|have|had|will|would|can|could|"
                        r"should|might|may)\b)\w+", re.IGNORECASE)


def asks_for_several(question: str) -> bool:
    """Whether the question asks for a list ("Which towns or villages were hit?", "Who were the victims?")."""
    return bool(_SEVERAL.search(asking_sentence(question)))


def asks_for_one(question: str) -> bool:
    """Whether the question asks for one person, place or thing ("Who is the leader …?", "… in which state?"), not
    for a list, nor for what someone did, said or found."""
    asking = asking_sentence(question)
    return bool(_ONE_THING.search(asking)) and not _SEVERAL.search(asking)


def shared_opening(first: str, second: str) -> str:
    """The words two clauses open with alike, as the first writes them ("The leader of Kataib Hezbollah is")."""
    a, b = first.split(), second.split()
    n = 0
    while n < min(len(a), len(b)) and a[n].casefold() == b[n].casefold():
        n += 1
    return " ".join(a[:n])


def alternatives(question: str, answer: str) -> bool:
    """Whether the answer's first two clauses open with the same words of the question (at least FRAME_TERMS of its
    terms, none of their own, not names alone) and go on differently, neither naming a source nor giving another
    figure or a denial (a dispute, rag.answer.compose attributes it): two fillers for one slot. "Kataib Hezbollah
    blamed Kuwait [1]; Kataib Hezbollah vowed revenge [2]" shares a subject, no frame: two details, both kept."""
    clauses = [strip_markers(c).strip(" .") for c in split_clauses(answer)]
    if len(clauses) < 2 or len(question_parts(question)) > 1 or not asks_for_one(question):
        return False
    first, second = clauses[:2]
    if says_who(first) or says_who(second) or disagree([first, second]):
        return False
    opening = shared_opening(first, second)
    frame = set(content_terms(opening))
    asked = set(content_terms(question))
    is_frame = len(frame) >= FRAME_TERMS and frame <= asked and frame - capitalised_terms(opening)
    goes_on = first[len(opening):].strip() and second[len(opening):].strip()
    return bool(is_frame and goes_on)
