"""An answer naming someone of another office than the one asked, or a ministry for its minister, on fixtures."""

from __future__ import annotations

import pytest

from rag.answer.confidence import gated, signals
from rag.answer.evidence import Question
from rag.answer.offices import asked_office, names_other_office, other_office
from rag.answer.quotes import VerifiedQuote
from tests.shared import sentences_group as group

SPOKESMAN = "Who was the Pentagon spokesman quoted about the Babil strike?"
TWO_PARTS = ("Which US defense chief praised Iraqi intelligence work, and which Iraqi defense minister did he later "
             "meet in Washington?")


@pytest.mark.parametrize("question, office", [
    (SPOKESMAN, "spokesman"),
    ("Which Iraqi defense minister did Austin meet?", "minister"),
    ("Who is the US ambassador to Iraq?", "ambassador"),
    ("Where was the PMF base struck, prompting condemnation from the prime minister's office?", None),
    ("Who denied the intelligence sharing?", None),
])
def test_the_office_asked_is_the_asked_phrases_own_noun(question, office):
    assert asked_office(question) == office


@pytest.mark.parametrize("office, clause, other", [
    ("spokesman", "President Biden [3]", True),
    ("spokesman", "Pentagon Press Secretary John Kirby [1]", False),  # a press secretary speaks for the Pentagon
    ("spokesman", "John Kirby [1]", False),  # no office named: nothing to tell
    ("minister", "Iraq's Ministry of Defense later met him in Washington [1]", True),
    ("minister", "Iraqi Minister of Defense Thabet al-Abbasi [1]", False),
    ("minister", "US Defence secretary Lloyd Austin [2]", False),
    ("commander", "General Qasem Soleimani [1]", False),  # a rank is no office
])
def test_another_office_or_a_body_for_a_person(office, clause, other):
    assert names_other_office(office, clause) is other


def test_each_part_of_a_two_part_question_is_judged_by_its_own_clause():
    assert other_office(TWO_PARTS, "Lloyd Austin [1]; Iraq's Ministry of Defense met him [1].")
    assert not other_office(TWO_PARTS, "Lloyd Austin [1]; Thabet al-Abbasi [1].")
    assert not other_office("Who denied the intelligence sharing?", "Iraq's Ministry of Defense [1].")


def test_the_wrong_office_withholds_the_answer():
    evidence = group("a", "CNN", "President Biden ordered the strike, the Pentagon spokesman said.")
    sentence = evidence.sentences[0]
    quotes = [VerifiedQuote(1, sentence.text, sentence, 1.0)]
    read = signals(SPOKESMAN, Question.parse(SPOKESMAN), [evidence], quotes, "President Biden [1].", [], [])
    assert read.lacks_asked == 1.0 and gated(read)
