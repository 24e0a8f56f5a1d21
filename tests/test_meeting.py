"""An answer whose added words and the question's meet in no shown sentence is stitched together, and withheld."""

from __future__ import annotations

from rag.answer.assistant import Assistant
from rag.answer.confidence import gated, signals
from rag.answer.evidence import EvidenceGroup, Question
from rag.answer.meeting import added_terms, stitched, without_unmet_clauses
from rag.text import stem
from tests.fakes import FakeEmbedder, FakeGenerator, quoted
from tests.shared import sentences_group


def group(doc_id: str, title: str, *sentences: str) -> EvidenceGroup:
    return sentences_group(doc_id, "Rudaw", *sentences, title=title)


QUESTION = "Which Iraqi defense minister met Lloyd Austin at the security dialogue in Washington?"
DIALOGUE = group("a", "US and Iraq hold security talks",
                 "At the security dialogue in Washington, Lloyd Austin met Iraqi defense minister Thabit al-Abbasi.",
                 "The talks lasted two days.")
MPS = group("b", "Iraqi MPs demand probe of collusion with US attack", "Lawmakers said the raid broke the law.")


def is_stitched(question: str, answer: str, *groups: EvidenceGroup) -> bool:
    return stitched(question, Question.parse(question), answer, list(groups))


def test_an_answer_from_the_sentence_that_holds_the_question_meets_it():
    assert not is_stitched(QUESTION, "Thabit al-Abbasi met Lloyd Austin in Washington [1].", DIALOGUE, MPS)


def test_a_name_from_a_headline_about_something_else_is_stitched():
    # "MPs" is in the evidence, but not where the question's words are.
    assert is_stitched(QUESTION, "Iraqi MPs met Lloyd Austin at the security dialogue in Washington [2].",
                       DIALOGUE, MPS)


def test_a_sentence_and_the_next_one_shown_are_one_place():
    strike = group("c", "Strikes in Syria", "The US struck a border crossing used by the militia on Thursday.",
                   "Kataib Hezbollah later confirmed that one of its fighters was killed there.")
    question = "Which group lost a fighter in the strike on the border crossing used by the militia?"
    assert not is_stitched(question, "Kataib Hezbollah confirmed its loss [1].", strike)


def test_a_headline_that_holds_both_is_a_place():
    title = group("d", "Netflix to show ads on a cheaper plan next year", "Subscribers reacted on social media.")
    assert not is_stitched("What is Netflix adding to a cheaper plan?", "Netflix will show ads [1].", title)


def test_counts_and_a_yes_are_not_what_an_answer_adds():
    assert added_terms("How many people were injured?", "Two people died and 13 were injured [1].") == {stem("died")}
    assert added_terms("Did the US use Iraqi information?", "Yes, the US did [1].") == set()
    # A count question's answer is its count: the count gates judge it, not where its other words sit.
    assert not is_stitched("How many people were injured in the raid?", "Two people died [1].", MPS)


def test_dates_are_not_what_an_answer_adds():
    # A report's date is its article's, shown beside its headline: the date gates judge it, not where words sit.
    question = "What is the date of the Rudaw report on the Iraqi Defense Ministry's denial?"
    assert added_terms(question, "The Rudaw report is dated 27 February 2021, a Saturday [2].") == set()
    assert not is_stitched(question, "The Rudaw report is dated 27 February 2021 [2].", MPS)


def test_each_part_of_a_two_part_question_is_met_by_its_own_clause():
    erbil = group("e", "Rockets hit Erbil", "A rocket attack on Erbil on February 15 left two people dead.",
                  "A contractor was among the victims of the attack on Erbil.")
    syria = group("f", "Strikes in Syria", "Local sources told Reuters that at least 17 people had been killed.")
    asked = "How many people were killed in the rocket attack on Erbil, and who was among the victims?"
    assert not is_stitched(asked, "Two people were killed [1]; a contractor was among the victims [1].", erbil, syria)
    # The second clause says who reported a toll, not who was among the victims: half an answer.
    assert is_stitched(asked, "Two people were killed [1]; local sources told Reuters that 17 people had been killed "
                              "[2].", erbil, syria)
    # A count part is its count's to judge, as a count question is.
    assert not is_stitched("Who was among the victims, and how many people were killed in Syria?",
                           "A contractor was among the victims [1]; 17 people were killed [2].", erbil, syria)


def test_a_stitched_answer_is_withheld_whatever_its_confidence():
    parsed = Question.parse(QUESTION)
    read = signals(QUESTION, parsed, [DIALOGUE, MPS], [], "Iraqi MPs met Lloyd Austin in Washington [2].", [], [])
    assert read.stitched == 1.0 and gated(read)
    right = signals(QUESTION, parsed, [DIALOGUE, MPS], [], "Thabit al-Abbasi met Lloyd Austin [1].", [], [])
    assert right.stitched == 0.0 and not gated(right)


def test_a_later_clause_about_something_else_is_left_out():
    parsed = Question.parse(QUESTION)
    answer = "Thabit al-Abbasi met Lloyd Austin in Washington [1]; lawmakers said the raid broke the law [2]."
    assert without_unmet_clauses(QUESTION, parsed, answer, [DIALOGUE, MPS]) == \
        "Thabit al-Abbasi met Lloyd Austin in Washington [1]."
    meets = "Thabit al-Abbasi met Lloyd Austin [1]; the talks at the security dialogue lasted two days [1]."
    assert without_unmet_clauses(QUESTION, parsed, meets, [DIALOGUE, MPS]) == meets
    two_parts = "Who met Lloyd Austin in Washington, and what did lawmakers say?"
    both = "Thabit al-Abbasi [1]; lawmakers said the raid broke the law [2]."
    assert without_unmet_clauses(two_parts, Question.parse(two_parts), both, [DIALOGUE, MPS]) == both


def test_the_answer_shown_leaves_out_an_unrelated_clause_and_its_quote(seed_index):
    reply = quoted("Iraq's Ministry of Defense denied it [1]; a storm hit the harbour town [2].",
                   (1, "The ministry denied its involvement"), (2, "Kataib Hezbollah"))
    assistant = Assistant(seed_index, embedder=FakeEmbedder(), generator=FakeGenerator(reply))
    answer = assistant.ask("Who denied the intelligence sharing?")
    assert answer.text == "Iraq's Ministry of Defense denied it [1]." and [c.n for c in answer.citations] == [1]
    assert [e.n for e in answer.evidence] == [1]
