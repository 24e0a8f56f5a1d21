"""The repair of citations that name the wrong passage, and the answer's sentences."""

from __future__ import annotations

from rag.answer.grounding import answer_sentences, repair_citations
from rag.types import Citation


def _p(n: int, text: str) -> Citation:
    return Citation(n=n, doc_id=f"d{n}", source="s", title="Strike report", outlet="Wire", date=None,
                    chunk_id=f"d{n}:0", text=text)


PASSAGES = [_p(1, "Rain fell over the capital on Monday, forecasters said."),
            _p(2, "Iraq's Ministry of Defense denied its involvement in the airstrikes on Thursday.")]


def test_sentences_keep_abbreviations_and_their_markers():
    assert answer_sentences("Secretary Lloyd J. Austin said so [1]. Iraq denied it. [2] Done") == [
        "Secretary Lloyd J. Austin said so [1].", "Iraq denied it. [2]", "Done"]


def test_repair_moves_a_wrong_citation_to_the_passage_that_holds_the_words():
    fixed = repair_citations("The Ministry of Defense denied its involvement in the airstrikes [1]. It rained [1].",
                             PASSAGES)
    assert fixed == "The Ministry of Defense denied its involvement in the airstrikes [2]. It rained [1]."


def test_repair_adds_a_missing_citation_and_keeps_good_ones():
    assert repair_citations("Iraq's Ministry of Defense denied involvement", PASSAGES) == \
        "Iraq's Ministry of Defense denied involvement [2]"
    assert repair_citations("Rain fell over the capital on Monday [1].", PASSAGES) == \
        "Rain fell over the capital on Monday [1]."
