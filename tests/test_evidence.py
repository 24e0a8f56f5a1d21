"""Sentence-level evidence selection on fixtures: the answering sentence, budgets, wire copies, leaning sentences."""

from __future__ import annotations

import pytest

from rag.answer.evidence import Question, answer_type_fits, select_evidence
from rag.text import stem
from rag.types import Chunk, Document, Hit

FILLER = " ".join(f"Officials met on day {i} to discuss the weather and the roads." for i in range(8))
RUDAW = (f"{FILLER} The ministry denied its involvement in the airstrikes. Twenty-two militiamen were killed in "
         "the strikes, the Syrian Observatory for Human Rights reported. He added that it was a routine operation.")
COPY = RUDAW.replace("Officials met", "Officials gathered", 2)  # the same wire story in another outlet
OTHER = "The council voted to fund a new stadium. Police said the storm destroyed nine homes in the town."


def _hit(doc_id: str, outlet: str, text: str, rank: int, date: str | None = "2021-02-27") -> Hit:
    doc = Document(doc_id, f"/{doc_id}.txt", f"{outlet} report", text, outlet=outlet, date=date)
    return Hit(Chunk(f"{doc_id}:0", doc_id, 0, text, 0, len(text), len(text.split())), doc, 1.0 / (rank + 1))


def _count(text: str) -> int:
    return len(text.split())


def test_the_answering_sentence_is_selected_and_the_article_comes_first():
    hits = [_hit("other", "Herald", OTHER, 0), _hit("rudaw", "Rudaw", RUDAW, 1)]
    groups = select_evidence("How many militiamen were killed in the strikes?", hits, _count, 60)
    assert groups[0].doc.doc_id == "rudaw"
    assert "Twenty-two militiamen were killed" in groups[0].text()
    assert "weather" not in groups[0].text()


def test_budget_and_sentence_limits_hold():
    hits = [_hit("rudaw", "Rudaw", RUDAW, 0), _hit("other", "Herald", OTHER, 1)]
    groups = select_evidence("Who denied involvement in the airstrikes?", hits, _count, 25, max_sentences=2)
    assert sum(_count(s.text) for g in groups for s in g.sentences) <= 25
    assert sum(len(g.sentences) for g in groups) <= 3  # two picked, plus at most one sentence leaned on


def test_wire_copies_collapse_into_one_group_listing_both_outlets():
    hits = [_hit("rudaw", "Rudaw", RUDAW, 0), _hit("copy", "AFP", COPY, 1)]
    groups = select_evidence("How many militiamen were killed?", hits, _count, 80)
    assert len(groups) == 1 and groups[0].outlets == ["Rudaw", "AFP"]


def test_a_sentence_leaning_on_the_one_before_brings_it_along():
    hits = [_hit("rudaw", "Rudaw", RUDAW, 0)]
    groups = select_evidence("Was it a routine operation?", hits, _count, 80, max_sentences=1)
    texts = [s.text for s in groups[0].sentences]
    assert texts[-1].startswith("He added") and len(texts) == 2


def test_max_articles_limits_the_groups():
    hits = [_hit("rudaw", "Rudaw", RUDAW, 0), _hit("other", "Herald", OTHER, 1)]
    groups = select_evidence("How many were killed or destroyed in the strikes and the storm?", hits, _count, 200,
                             max_articles=1)
    assert len(groups) == 1


def test_questions_about_the_present_prefer_the_newest_article():
    old = _hit("old", "Herald", "The mayor of Springfield resigned over the budget.", 0, date="2022-01-01")
    new = _hit("new", "Courier", "Shelbyville's mayor resigned after a vote.", 1, date="2022-06-15")
    groups = select_evidence("Which mayor resigned this week?", [old, new], _count, 40, asked_on="2022-06-16")
    assert groups[0].doc.doc_id == "new"


ESTA = ("Local sources told Reuters that at least 17 people had been killed in the strikes. The official told Reuters "
        "the strikes killed one fighter. Reuters said the death toll from the strikes could rise. A statement said "
        "the strikes killed protectors of the nation.")


def test_a_source_the_question_names_is_shown_though_another_article_fills_the_budget():
    hits = [_hit("esta", "ESTA", ESTA, 0), _hit("rudaw", "Rudaw", RUDAW, 1)]
    question = "What death tolls did Reuters' sources and the Syrian Observatory give for the strikes?"
    shown = " ".join(g.text() for g in select_evidence(question, hits, _count, 30))
    assert "Syrian Observatory" in shown and "Reuters" in shown


def test_a_name_in_lower_case_or_two_letters_calls_for_no_sentence():
    us = _hit("us", "Herald", "Let us point and laugh at the weather.", 1)
    hits = [_hit("esta", "ESTA", ESTA, 0), us]
    shown = select_evidence("How many were killed in the US strikes?", hits, _count, 30)
    assert [g.doc.doc_id for g in shown] == ["esta"]


def test_a_denial_of_what_a_yes_no_question_asks_is_shown_on_top_of_the_budget():
    claim = ("The Pentagon said the airstrikes were carried out with Iraqi intelligence on the militias. Austin said "
             "Iraqi intelligence on the militias helped the airstrikes. Kirby said Iraqi intelligence on the militias "
             "was shared before the airstrikes.")
    denial = f"{FILLER} The ministry denied any role of its intelligence in the airstrikes."
    hits = [_hit("pentagon", "CNN", claim, 0), _hit("rudaw", "Rudaw", denial, 1)]
    question = "Did Iraqi intelligence help the airstrikes on the militias?"
    shown = [s.text for g in select_evidence(question, hits, _count, 30) for s in g.sentences]
    assert "The ministry denied any role of its intelligence in the airstrikes." in shown
    assert sum(s.startswith(("The Pentagon", "Austin", "Kirby")) for s in shown) >= 2  # the claim is still shown
    open_question = [s.text for g in select_evidence("Who helped the airstrikes on the militias?", hits, _count, 30)
                     for s in g.sentences]
    assert not any("denied" in s for s in open_question)


def test_no_hits_no_evidence():
    assert select_evidence("Anything?", [], _count, 100) == []


@pytest.mark.parametrize(("question", "wants"), [
    ("How many militiamen were killed?", "number"),
    ("What was the death toll of the strikes?", "number"),
    ("When did the talks start?", "date"),
    ("In what year was Soleimani killed?", "date"),
    ("What day did Kirby tweet?", "date"),
    ("Who denied the intelligence sharing?", "name"),
    ("Which organisation reported the strikes?", "name"),
    ("Which organisation reported the toll?", "number"),  # a figure asked for comes first
    ("How old is the teenager who flew around the world?", "number"),
    ("According to the minister, to what level had US forces been reduced?", "number"),
    ("How far did the team go in the tournament?", None),
    ("Where did the strikes hit?", None),
    ("Why were the SUVs recalled?", None),
    # What is asked, not the context before it: a place, though the first sentence speaks of a "number of people".
    ("A growing number of people are fleeing US cities. Where are many Americans moving?", None),
    ("Prices rose again. How many people now rent? Experts disagree.", "number"),
])
def test_the_kind_of_answer_a_question_wants(question, wants):
    assert Question.parse(question).wants == wants


def test_inflections_of_a_word_stem_alike():
    assert stem("strike") == stem("strikes") and stem("fire") == stem("fired") and stem("killed") == stem("kill")
    assert stem("used") == stem("use") and stem("policies") == stem("policy")


def test_a_questions_terms_are_its_stemmed_content_words_without_wh_words():
    terms = Question.parse("Who denied the intelligence sharing?").terms
    assert set(terms) == {"deni", "intellig", "share"}  # stemmed, as sentences' words are


@pytest.mark.parametrize(("question", "sentence", "fits"), [
    ("How many homes were destroyed?", "The mayor said 12 homes were destroyed.", True),
    ("How many homes were destroyed?", "The mayor said nine homes were destroyed.", True),
    ("How many homes were destroyed?", "The mayor said homes were destroyed.", False),
    ("When did the storm hit?", "The storm hit on Sunday.", True),
    ("When did the storm hit?", "The storm hit in 2020.", True),
    ("When did the storm hit?", "The storm hit the harbour town.", False),
    ("Who denied the report?", "The report was denied by the Defense Ministry.", True),
    # A name the question already holds is no answer, and a capital that only opens the sentence is no name.
    ("Who did Kirby quote?", "The report said Kirby spoke.", False),
    ("Who denied the report?", "Officials denied the report.", False),
])
def test_a_sentence_fits_the_kind_of_answer_when_it_holds_one(question, sentence, fits):
    parsed = Question.parse(question)
    asked = set(question.lower().rstrip("?").split())
    assert answer_type_fits(sentence, parsed, asked) is fits


def test_a_question_that_wants_no_particular_kind_fits_no_sentence():
    assert answer_type_fits("The strikes hit the border.", Question.parse("Where did the strikes hit?"), set()) is False
