"""Two unattributed fillers for one slot of the question are a guess, not an answer; a dispute or a list is not."""

from __future__ import annotations

from rag.answer.alternatives import alternatives, asks_for_one, asks_for_several, shared_opening
from rag.answer.confidence import gated, signals
from rag.answer.evidence import Question
from rag.answer.quotes import VerifiedQuote
from tests.shared import sentences_group

LEADER = "Who is the leader of Kataib Hezbollah?"
TWO_GUESSES = ("The leader of Kataib Hezbollah is Austin [1]; the leader of Kataib Hezbollah is the group of drone "
               "experts working on reconnaissance [2].")


def test_the_frame_is_the_opening_both_clauses_share():
    assert shared_opening("The leader of X is Austin", "the leader of X is the group") == "The leader of X is"
    assert shared_opening("Austin", "Kirby") == ""


def test_two_fillers_for_one_frame_of_the_question_are_alternatives():
    assert alternatives(LEADER, TWO_GUESSES)
    flood = "Dozens of people were unaccounted for early Thursday after severe flooding in which state?"
    assert alternatives(flood, "Dozens of people were unaccounted for after flooding in North Carolina [2]; dozens "
                               "of people remained unaccounted for after flooding in Germany [3].")


def test_a_dispute_that_says_who_says_what_is_no_guess():
    assert not alternatives(LEADER, "According to Rudaw, the leader of Kataib Hezbollah is Ali [1]; according to "
                                    "ESTA, the leader of Kataib Hezbollah is Hassan [2].")
    assert not alternatives(LEADER, "The leader of Kataib Hezbollah is Ali [1]; the leader of Kataib Hezbollah "
                                    "is Ali, AFP reported [2].")


def test_one_clause_a_shared_subject_word_or_a_list_is_no_guess():
    assert not alternatives(LEADER, "The leader of Kataib Hezbollah is Austin [1].")
    # A shared subject that is no frame of the question: "Kataib Hezbollah" alone is one of its terms.
    assert not alternatives("What did Kataib Hezbollah say about the Babil attack?",
                            "Kataib Hezbollah blamed Kuwait [1]; Kataib Hezbollah vowed revenge [2].")
    towns = "Which towns or villages were hit in the June 2021 US strikes?"
    assert asks_for_several(towns) and asks_for_several("Who were the victims?")
    assert not asks_for_several(LEADER) and not asks_for_several("Which news agency reported it?")
    assert asks_for_one(LEADER) and asks_for_one("What is the name of the town?")
    assert not asks_for_one("What did the survey find?") and not asks_for_one(towns)
    assert not alternatives(towns, "The strikes hit Al-Qaim [1]; the strikes hit Abu Kamal [2].")
    # Two findings or two remarks answer "what did … find/say?": only a question for one thing is judged.
    found = "What did the survey find about the strikes?"
    assert not alternatives(found, "The survey found that most backed the strikes [1]; the survey found that few "
                                   "trusted the Pentagon [2].")
    two_parts = "Who was quoted in February, and who was quoted about Babil?"
    assert not alternatives(two_parts, "The one quoted was Kirby [1]; the one quoted was Ryder [2].")


def test_the_confidence_gates_alternatives():
    group = sentences_group("a", "Rudaw", "Kataib Hezbollah issued a statement condemning the US attacks.",
                            title="Kataib Hezbollah condemns strikes")
    quote = VerifiedQuote(1, group.sentences[0].text, group.sentences[0], 1.0)
    read = signals(LEADER, Question.parse(LEADER), [group], [quote], TWO_GUESSES, [], [])
    assert read.alternatives == 1.0 and gated(read)
