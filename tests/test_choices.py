"""An either-or question answered with each choice the shown sentences give and who gives it, on fixtures."""

from __future__ import annotations

import pytest

from rag.answer.choices import answer_with_choices, choices_given, offered_choices
from rag.answer.compose import Composed
from rag.answer.evidence import Question
from rag.answer.prompting import to_citation
from tests.shared import sentences_group as group

QUESTION = "What kind of aircraft hit the PMF in Babil province: jets or a drone?"
RUDAW = group(
    "a", "Rudaw",
    "“It was a blatant aggression,” said Yehia Rasool, military spokesperson to the prime minister, on Wednesday.",
    "“They targeted, with fighter jets coming from beyond the borders, Iraqi sites in northern Babil province,” he "
    "added.",
    "The PMF announced early Wednesday that a drone strike had targeted one of its brigades, without blaming anyone.",
)
ONE_SIDE = group("b", "CNN", "US fighter jets hit a PMF base in Babil province on Tuesday.")
MODEL = Composed("The US military struck a PMF base in Babil province [1].", False)


@pytest.mark.parametrize("question, offered", [
    (QUESTION, ["jets", "a drone"]),
    ("Was the base in Babil hit by jets or a drone?", ["jets", "a drone"]),
    ("Which towns or villages were hit in the June 2021 US strikes?", []),  # one thing named two ways
    ("A school district in which city will require clear or mesh backpacks?", []),  # asks for a city
    ("Who was trafficked to the UK, when he was eight or nine years old?", []),
])
def test_only_a_question_that_ends_in_two_short_choices_offers_them(question, offered):
    assert offered_choices(question) == offered


def test_each_choice_with_who_gives_it_a_he_added_from_the_sentence_before():
    given = choices_given(QUESTION, [RUDAW])
    assert [(c.words, c.who) for c in given] == [("jets", "Yehia Rasool"), ("a drone", "the PMF")]


def test_two_choices_given_replace_the_models_one_sided_answer_and_its_quotes():
    passages = [to_citation(1, RUDAW)]
    composed, quotes = answer_with_choices(QUESTION, Question.parse(QUESTION), MODEL, [], [RUDAW], passages)
    assert composed.text == "Jets, according to Yehia Rasool [1]; a drone, according to the PMF [1]."
    assert [q.sentence for q in quotes] == RUDAW.sentences[1:]
    assert not composed.abstained and [c.n for c in composed.citations] == [1]


def test_one_choice_shown_leaves_the_answer_as_it_was():
    passages = [to_citation(1, ONE_SIDE)]
    composed, quotes = answer_with_choices(QUESTION, Question.parse(QUESTION), MODEL, [], [ONE_SIDE], passages)
    assert composed is MODEL and quotes == []


def test_a_sentence_naming_both_choices_gives_neither():
    both = group("c", "AP", "It was fighter jets, not a drone, that hit the PMF in Babil, officials said.")
    assert choices_given(QUESTION, [both]) == []
