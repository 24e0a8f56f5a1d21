"""A question about what someone said is answered only from articles that name them."""

from __future__ import annotations

from rag.answer.confidence import gated, signals
from rag.answer.evidence import Question
from rag.answer.quotes import VerifiedQuote
from rag.answer.speakers import asked_speaker, speaker_unnamed
from rag.text import capitalised_terms
from tests.shared import sentences_group

TURKEY = "What did Turkey's government say about the US strikes in Babil province?"
IRAQ = ("The Iraqi prime minister's office has condemned airstrikes that targeted Iran-backed paramilitary forces in "
        "Babil province.")


def test_names_are_capitalised_words_but_stopwords_and_single_letters():
    assert capitalised_terms("The U.S. said Iran's foreign ministry and Kataib Hezbollah") == {"iran", "kataib",
                                                                                             "hezbollah"}


def test_the_speaker_is_their_names_and_what_they_are():
    assert asked_speaker(TURKEY) == {"turkey", "govern"}
    assert asked_speaker("How did Iran's foreign ministry respond to the June 2021 US strikes?") == {"iran", "ministri"}
    assert asked_speaker("What did Russia call for after the strikes?") == {"russia"}
    # No speaker's words asked, or no speaker named: nothing to check.
    assert asked_speaker("What did the strikes hit?") == set()  # "hit" is no speech
    assert asked_speaker("What did they say about the strikes?") == set()
    assert asked_speaker("Which border crossing was hit?") == set()


def test_an_answer_from_articles_that_never_name_the_speaker_is_unnamed():
    assert speaker_unnamed(TURKEY, [f"Iraq condemns strikes Rudaw {IRAQ}"])
    assert not speaker_unnamed(TURKEY, ["Turkey weighs in AFP The Turkish government said the strikes in Babil "
                                        "were a violation. Turkey's government urged calm."])
    # Each article on its own: "Iran" in one and "ministry" in another do not make Iran's ministry.
    iran = "How did Iran's foreign ministry respond to the June 2021 US strikes?"
    assert speaker_unnamed(iran, ["Biden hopes to revive a nuclear deal with Iran.", "The ministry of defence said."])
    assert not speaker_unnamed(iran, ["Iran's foreign ministry condemned the US strikes."])
    assert not speaker_unnamed(TURKEY, [])  # nothing cited: other checks judge that


def test_the_confidence_gates_an_answer_to_an_unnamed_speaker():
    babil = sentences_group("a", "Rudaw", IRAQ, title="Iraq condemns US strikes in Babil")
    quote = VerifiedQuote(1, IRAQ, babil.sentences[0], 1.0)
    answer = "Turkey's government said the US strikes in Babil province were condemned [1]."
    read = signals(TURKEY, Question.parse(TURKEY), [babil], [quote], answer, [], [])
    assert read.speaker_unnamed == 1.0 and gated(read)
    iraqi = "What did the Iraqi prime minister's office say about the US strikes in Babil province?"
    read = signals(iraqi, Question.parse(iraqi), [babil], [quote], "It condemned the airstrikes [1].", [], [])
    assert read.speaker_unnamed == 0.0
