"""A toll one article gives from two sources answered with each count and who gives it, on fixtures."""

from __future__ import annotations

import pytest

from rag.answer.compose import Composed
from rag.answer.evidence import Question
from rag.answer.prompting import to_citation
from rag.answer.tolls import answer_with_tolls, article_counts, asked_casualties, disputed, named_sources
from tests.shared import sentences_group as group

QUESTION = "How many fighters were killed in the June 2021 US strikes on the Syria-Iraq border?"
FRANCE24 = group(
    "a", "France 24",
    "Iraq on Monday condemned overnight US air strikes against Iran-backed armed groups on the Syrian-Iraqi border "
    "that killed at least seven fighters and sparked calls for revenge.",
    "Iraqi militia groups aligned with Iran in a statement named four members of the Kataib Sayyed al-Shuhada "
    "faction they said were killed in the attack on the Syria-Iraq border.",
)
# Another strike's toll in another article: never set beside France 24's counts.
ESTA = group("b", "ESTA", "Local sources told Reuters that at least 17 people had been killed in the US strikes.")
MODEL = Composed("The strikes killed one fighter [2].", False)
ASKED = frozenset({"dead"})


@pytest.mark.parametrize("question, kinds", [
    (QUESTION, {"dead"}),
    ("How many people were wounded in the blast in Kabul?", {"hurt"}),
    ("How many people were killed or wounded in the blast?", set()),  # two kinds: one count cannot answer both
    ("Who was killed in the June 2021 US strikes?", set()),  # not a count
    ("How many votes did the bill get in the Senate?", set()),  # not a toll
])
def test_only_a_how_many_question_about_the_dead_or_the_wounded_asks_a_toll(question, kinds):
    assert asked_casualties(question, Question.parse(question)) == kinds


def test_each_count_with_who_gives_it_the_outlet_where_the_sentence_names_nobody():
    counts = article_counts(QUESTION, ASKED, 1, FRANCE24)
    assert [(c.words, c.who) for c in counts] == [("at least seven fighters killed", "France 24"),
                                                  ("four members killed", "Iraqi militia groups aligned with Iran")]


def test_two_sources_in_one_article_replace_the_models_answer_and_its_quotes():
    groups = [FRANCE24, ESTA]
    passages = [to_citation(n, g) for n, g in enumerate(groups, start=1)]
    composed, quotes = answer_with_tolls(QUESTION, Question.parse(QUESTION), MODEL, [], groups, passages)
    assert composed.text == ("At least seven fighters killed, according to France 24 [1]; four members killed, "
                             "according to Iraqi militia groups aligned with Iran [1].")
    assert composed.assembled and [c.n for c in composed.citations] == [1]
    assert [q.sentence for q in quotes] == FRANCE24.sentences


def test_counts_from_two_articles_are_not_set_side_by_side():
    one_each = [group("c", "AP", "The US strikes on the border killed seven fighters, officials said."), ESTA]
    passages = [to_citation(n, g) for n, g in enumerate(one_each, start=1)]
    assert answer_with_tolls(QUESTION, Question.parse(QUESTION), MODEL, [], one_each, passages) == (MODEL, [])


@pytest.mark.parametrize("sentences", [
    # a part of the toll, not another toll
    ("The US strikes on the border killed six fighters, including three commanders, the army said.",),
    # one source's count, then the same source's again
    ("The US strikes on the border killed five fighters, the army said.",
     "The army said on Tuesday that seven fighters had been killed in the strikes on the border."),
    # people counted apart: both true
    ("The US strikes on the border killed three soldiers, the army said.",
     "Two civilians were killed in the strikes on the border, residents said."),
    # another event told of in the same article
    ("The US strikes on the border killed seven fighters, the army said.",
     "Last month a similar US strike on the border killed 12 fighters, the monitor said."),
    ("The US strikes on the border killed seven fighters, the army said.",
     "US strikes on the border in 2019 killed 25 fighters, the monitor said."),
])
def test_a_part_an_update_or_other_people_are_no_dispute(sentences):
    article = group("d", "AP", *sentences)
    counts = article_counts(QUESTION, ASKED, 1, article)
    assert not disputed(counts)


NAMED = "What death tolls did Reuters' sources and the Syrian Observatory give for the February 2021 strikes?"
LOCAL = group("e", "ESTA", "Local sources and a medical source in eastern Syria told Reuters that at least 17 people "
                           "had been killed in the February 2021 strikes.")
SOHR = group("f", "Rudaw", "Twenty-two militiamen were killed in the strikes, the Syrian Observatory for Human Rights "
                           "(SOHR) reported.")


@pytest.mark.parametrize("question, named", [
    (NAMED, [("Reuters' sources", ["Reuters"]), ("the Syrian Observatory", ["Syrian", "Observatory"])]),
    ("How many people were killed in the strikes, according to SOHR and Reuters?", [("SOHR", ["SOHR"]),
                                                                                    ("Reuters", ["Reuters"])]),
    ("How many did the ministry say were killed?", []),  # no name to find it by
])
def test_the_sources_a_toll_question_names(question, named):
    assert named_sources(question) == named


def test_each_named_sources_toll_is_a_side_wherever_its_article_is():
    groups = [LOCAL, SOHR]
    passages = [to_citation(n, g) for n, g in enumerate(groups, start=1)]
    composed, quotes = answer_with_tolls(NAMED, Question.parse(NAMED), MODEL, [], groups, passages)
    assert composed.text == ("At least 17 people killed, according to local sources and a medical source in eastern "
                             "Syria (Reuters) [1]; twenty-two militiamen killed, according to the Syrian Observatory "
                             "for Human Rights (SOHR) [2].")
    assert [q.n for q in quotes] == [1, 2]


def test_a_named_source_not_shown_leaves_the_answer_as_it_was():
    passages = [to_citation(1, LOCAL)]
    assert answer_with_tolls(NAMED, Question.parse(NAMED), MODEL, [], [LOCAL], passages) == (MODEL, [])
