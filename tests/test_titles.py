"""The posts the articles give someone, each with the outlets that give it, on fixtures."""

from __future__ import annotations

import pytest

from rag.answer.compose import Composed
from rag.answer.evidence import Question
from rag.answer.prompting import to_citation
from rag.answer.titles import answer_with_posts, asked_person, post_before
from tests.shared import sentences_group as group

QUESTION = "What US cabinet post do the articles give for Lloyd Austin?"
STATE = group("a", "Rudaw", "During last week's talks in Washington, US State Secretary Lloyd Austin III met Iraqi "
                            "Minister of Defense Thabet al-Abbasi.")
DEFENCE = group("b", "Sputnik", "US Defence secretary Lloyd Austin praised our Iraqi partners, John F. Kirby said.")
DEFENSE = group("c", "Rudaw", "“It was a team effort,” Secretary of Defense Lloyd J. Austin said.")
MODEL = Composed("Lloyd Austin is the US Defence secretary [2].", False)


@pytest.mark.parametrize("question, person", [
    (QUESTION, "Lloyd Austin"),
    ("What is Pat Ryder's position?", "Pat Ryder"),
    ("What post do the articles give Iraqi Prime Minister Mustafa al-Kadhimi?", "Mustafa al-Kadhimi"),
    ("What rank do the articles give General Austin?", "Austin"),  # the rank the question writes is no name
    ("Who met Lloyd Austin in Washington?", None),  # no post asked
])
def test_the_person_whose_post_is_asked(question, person):
    assert asked_person(question) == person


@pytest.mark.parametrize("sentence, post", [
    (STATE.sentences[0].text, "US State Secretary"),
    (DEFENCE.sentences[0].text, "US Defence secretary"),
    (DEFENSE.sentences[0].text, "Secretary of Defense"),
    ("In April, Austin said the mission would change.", None),  # "In April" is no post
])
def test_the_post_written_before_the_name(sentence, post):
    assert post_before(sentence, "Lloyd Austin") == post


def test_different_posts_are_each_given_with_their_outlets():
    groups = [STATE, DEFENCE, DEFENSE]
    passages = [to_citation(n, g) for n, g in enumerate(groups, start=1)]
    composed, quotes = answer_with_posts(QUESTION, Question.parse(QUESTION), MODEL, [], groups, passages)
    assert composed.text == ("US State Secretary, according to Rudaw [1]; US Defence secretary, according to Sputnik "
                             "and Rudaw [2][3].")
    assert composed.assembled and [q.n for q in quotes] == [1, 2]


def test_one_post_throughout_leaves_the_models_answer():
    groups = [DEFENCE, DEFENSE]
    passages = [to_citation(n, g) for n, g in enumerate(groups, start=1)]
    assert answer_with_posts(QUESTION, Question.parse(QUESTION), MODEL, [], groups, passages) == (MODEL, [])
