"""Whether the one a question asks about is named where its answer comes from.

"What did Turkey's government say about the US strikes in Babil province?" asked of articles that report what
Iraq's prime minister said answers "Turkey's government said the US strikes were condemned [1]": the words are an
article's, the speaker the question's. A question that asks what someone said, how they responded or what they
called something is answered only from an article that names them; the answer's cited articles (headline, outlet
and the sentences shown) must hold the speaker's names and what they are ("Turkey", "government").
"""

from __future__ import annotations

import re

from rag.answer.asking import asking_sentence
from rag.text import capitalised_terms, content_terms

_SPEECH = r"(?:say|respond|react|describe|call|announce|claim|tell|urge|demand|ask|warn|accuse|propose)"
# "What did Turkey's government say …", "How did Iran's foreign ministry respond …", "What did Russia call for …".
_ASKS_WHAT_SOMEONE_SAID = re.compile(
    r"\b(?:what|how)\s+(?:did|does|do|has|have|had|will|would)\s+(?P<who>.+?)\s+" + _SPEECH + r"\b", re.IGNORECASE)


def asked_speaker(question: str) -> set[str]:
    """The stemmed words that name whom the question asks about, what they said: the speaker's capitalised words
    and the word that says what they are ("Turkey's government" -> turkey, govern); empty when the question asks
    no speaker's words, or names none ("What did they say?")."""
    found = _ASKS_WHAT_SOMEONE_SAID.search(asking_sentence(question))
    if not found:
        return set()
    who = found["who"]
    names = capitalised_terms(who)
    if not names:
        return set()
    return names | set(content_terms(who)[-1:])  # and "ministry" of "Iran's foreign ministry"


def speaker_unnamed(question: str, cited_texts: list[str]) -> bool:
    """Whether the question asks what someone said and none of the texts the answer cites names them whole."""
    speaker = asked_speaker(question)
    if not speaker or not cited_texts:
        return False
    return not any(speaker <= set(content_terms(text)) for text in cited_texts)
