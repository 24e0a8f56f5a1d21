"""Source agreement and the restated-question gate on fixtures: key terms, supporting sources, rival figures."""

from __future__ import annotations

from rag.answer.agreement import (
    agreement,
    counts_other_casualties,
    figures,
    key_terms,
    rival_figures,
    supporting_sources,
    unsupported_figures,
)
from rag.answer.confidence import (
    FEATURES,
    adds_nothing,
    gated,
    lacks_what_is_asked,
    signals,
)
from rag.answer.evidence import Question
from rag.answer.quotes import VerifiedQuote
from rag.text import stem
from tests.shared import sentences_group as group

QUESTION = "How many people were killed in the February 2021 strikes?"

SOHR = group("a", "Rudaw", "The Syrian Observatory said 22 people were killed in the strikes on Thursday.")
REUTERS = group("b", "Reuters", "Local sources said at least seventeen people were killed.")
UNRELATED = group("c", "CNN", "The Pentagon said two F-15E jets dropped seven bombs on 25 February.")


def test_key_terms_are_the_answers_words_beyond_the_question():
    answer = "The Syrian Observatory said 22 people were killed [1]."
    assert key_terms(answer, QUESTION) == [stem("syrian"), stem("observatory"), "22"]


def test_a_source_supports_an_answer_when_it_holds_most_of_its_key_terms():
    terms = key_terms("The Syrian Observatory counted 22 dead [1].", QUESTION)
    assert supporting_sources(terms, [SOHR, REUTERS, UNRELATED]) == 1
    assert supporting_sources([], [SOHR]) == 0  # an answer with nothing new is supported by nobody


def test_figures_skip_the_numbers_of_names():
    assert [value for value, _ in figures("Two F-15E jets, a COVID-19 ward, the G7 and 3-1")] == [2.0, 3.0, 1.0]


def test_figures_skip_years_days_of_a_month_and_the_pronoun_one():
    found = [value for value, _ in figures("On 25 February 2021 one of them said twenty-two died, and 1,200 fled.")]
    assert found == [22.0, 1200.0]


def test_a_rival_figure_is_another_number_tied_to_the_questions_words():
    parsed = Question.parse(QUESTION)
    answer = "The Syrian Observatory said 22 people were killed [1]."
    assert rival_figures(QUESTION, parsed, answer, [SOHR, REUTERS, UNRELATED]) == (17.0,)  # "seven bombs": not killed
    both = "The Syrian Observatory said 22 were killed [1]; local sources said 17 [2]."
    assert rival_figures(QUESTION, parsed, both, [SOHR, REUTERS]) == ()
    assert rival_figures(QUESTION, parsed, "Nobody gave a toll [1].", [SOHR, REUTERS]) == ()  # no figure given
    who = "Who reported the toll of the February 2021 strikes?"
    assert rival_figures(who, Question.parse(who), answer, [SOHR, REUTERS]) == ()  # not a number question


def test_agreement_reads_both_at_once():
    found = agreement(QUESTION, Question.parse(QUESTION), "Local sources said 17 people were killed [2].",
                      [SOHR, REUTERS])
    assert found.sources == 1 and found.rival_figures == (22.0,)


def test_an_answer_that_only_restates_the_question_adds_nothing():
    asked = "San Francisco officials opened a park this week in which unusual location?"
    assert adds_nothing(asked, "San Francisco officials opened a park this week in an unusual location [2].")
    assert not adds_nothing(asked, "San Francisco opened a park on a freeway roof [2].")
    # A "not" answers a yes/no question, and "yes" is a word of its own.
    assert not adds_nothing("Did the Council meet?", "The Council did not meet [1].")
    assert not adds_nothing("Did the Council meet?", "Yes, the Council met [1].")
    # Words outside ASCII are compared as written (folding to ASCII would leave nothing of them).
    asked_ru = "Кто отрицал обмен разведданными?"
    assert not adds_nothing(asked_ru, "Министерство обороны Ирака отрицало это [1].")
    assert adds_nothing(asked_ru, "Отрицал обмен разведданными [1].")
    assert not adds_nothing("Who hosts the summit?", "Düsseldorf hosts the summit [1].")


def test_a_first_clause_that_restates_what_is_asked_adds_nothing_whatever_follows():
    asked = "To which news agency did US and Iraqi officials call the new factions smokescreen entities?"
    assert adds_nothing(asked, "US and Iraqi officials called the new factions smokescreen entities [1]; Austin "
                               "said that the powerful pro-Iranian organization was behind them [1].")
    assert not adds_nothing(asked, "US and Iraqi officials told AFP the factions were smokescreen entities [1].")
    # Inflections are the same word: "fired" restates "fire".
    assert adds_nothing("Where did Iraq fire ballistic missiles?", "Iraq fired ballistic missiles [1]; the US "
                                                                   "carried out air strikes [2].")
    # A statement the question opens with may be restated before the answer.
    opened = "The June 2021 strikes were Biden's second raid; which border crossing was hit in the first one?"
    assert not adds_nothing(opened, "The June 2021 strikes were Biden's second raid [1]; the al Qa'im border "
                                    "crossing was hit in the first one [1].")
    # A month is an answer, though "may" is a stopword.
    assert not adds_nothing("In which month was Qasim Muslih arrested?", "Qasim Muslih was arrested in May [1].")


def test_a_gate_withholds_whatever_the_weights_and_is_not_weighed():
    assert gated({"adds_nothing": 1.0}) and gated({"unsupported_dates": 2.0}) and gated({"unsupported_figures": 1.0})
    assert gated({"lacks_asked": 1.0})
    assert not gated({"adds_nothing": 0.0, "unsupported_dates": 0.0}) and not gated({})  # older records
    assert gated({"speaker_unnamed": 1.0})
    assert gated({"alternatives": 1.0})
    assert not {"adds_nothing", "unsupported_figures", "lacks_asked", "stitched", "speaker_unnamed",
                "alternatives"} & set(FEATURES)


def _lacks(question: str, answer: str) -> bool:
    return lacks_what_is_asked(question, Question.parse(question), answer)


def test_a_how_many_answer_must_give_a_count_of_its_own_in_its_first_clause():
    asked = "How many fighters were killed in the June 2021 strikes?"
    assert not _lacks(asked, "Seven fighters were killed [1].")
    assert not _lacks(asked, "The strikes killed one fighter [1].")  # "one" counts where it counts something
    assert not _lacks(asked, "Local sources said 17 were killed [2]; the Observatory said 22 [1].")
    assert _lacks(asked, "The strikes targeted positions of Kataib Hezbollah along the border (1) [1].")  # filler
    assert _lacks(asked, "The June 2021 strikes targeted one of the militia's depots [1].")  # the question's year
    assert _lacks(asked, "The strikes hit a depot on Sunday (2021-06-27) [1]; seven were killed [2].")  # a date
    assert _lacks(asked, "Positions along the border were hit [1]; the official said seven were killed [1].")


def test_a_how_many_answer_counts_something_the_question_asks_about():
    asked = "How many US soldiers were hurt in the rocket attack on Balad Air Base?"
    assert _lacks(asked, "1 contractor was killed [2]; rockets were fired at a base hosting U.S. forces [2].")
    assert not _lacks(asked, "Two soldiers were hurt [1].")
    assert not _lacks(asked, "The attack on the base wounded 3 [1].")  # "base" is asked about
    assert not _lacks(asked, "12 [1].")  # a bare count: nothing beside it says what it counts
    assert not _lacks("How many people were killed in the strikes?", "22 militiamen were killed [1].")


def test_a_count_of_what_the_question_does_not_ask_about_is_no_answer():
    # "F-15E" names a jet: its 15 counts nothing, so "bombs" beside it does not make "Two" a count of bombs.
    asked = "How many bombs were dropped in the February 2021 strikes on the Syria-Iraq border?"
    assert _lacks(asked, "Two US F-15E attack jets bombed buildings at the border crossing [2].")
    assert not _lacks(asked, "Two F-15E jets dropped seven bombs [2].")


def test_an_answer_to_the_names_of_someone_must_name_someone_the_question_does_not():
    members = "What were the names of the four Kataib Sayyid al-Shuhada members killed in the June 2021 strikes?"
    assert _lacks(members, "The four members killed were four members of the Kataib Sayyid al-Shuhada faction [1].")
    assert not _lacks(members, "They were Ali Hassan and Karim Jaber [1].")
    assert not _lacks(members, "The statement named Ali Hassan [1].")  # a name after a lowercase start
    # An outlet attributed to is not the name asked for.
    attributed = "According to France 24, the four Kataib Sayyid al-Shuhada members killed were members [1]."
    assert lacks_what_is_asked(members, Question.parse(members), attributed, ("France 24",))
    # "Who" is answered without a name too ("the ministry", "drone experts"); "called" may want a label.
    assert not _lacks("Who denied the intelligence sharing?", "The ministry denied it [1].")
    assert not _lacks("What is the weather pattern called?", "It is called a heat dome [1].")


def test_a_count_of_the_dead_answers_a_death_toll():
    tolls = "What death tolls did Reuters' sources and the Syrian Observatory give for the February 2021 strikes?"
    assert not _lacks(tolls, "At least 17 people killed, according to local sources (Reuters) [1]; 22 killed [2].")
    assert _lacks(tolls, "At least 17 people, according to local sources (Reuters) [1].")  # nothing says they died


def test_a_count_of_the_dead_is_no_count_of_the_wounded():
    wounded = "How many people were wounded in the US strike on the PMF base in Babil province?"
    killed = "The US military struck a PMF base in Babil province on Tuesday; four fighters were killed in the attack."
    assert counts_other_casualties(wounded, "Four people were wounded in the strike [1]", [killed])
    both = "The strike killed two and wounded four."
    assert not counts_other_casualties(wounded, "Four people were wounded [1]", [both])
    assert not counts_other_casualties(wounded, "Four people were wounded [1]", ["Four people were hurt."])
    assert not counts_other_casualties(wounded, "Four people [1]", ["Four buildings were hit."])  # beside neither
    # Asked of the dead, answered from the count of the wounded; a question about both is no such sign.
    assert counts_other_casualties("How many were killed?", "Thirteen were killed [1]", ["thirteen people injured"])
    assert not counts_other_casualties("How many were killed or injured?", "Thirteen [1]", ["thirteen people injured"])
    babil = group("b", "Rudaw", killed)
    quote = VerifiedQuote(1, killed, babil.sentences[0], 1.0)
    read = signals(wounded, Question.parse(wounded), [babil], [quote], "Four people were wounded in the strike [1].",
                   [], [])
    assert read.lacks_asked == 1.0 and gated(read)


def test_a_place_where_it_happened_is_not_the_name_asked_for():
    contractor = "What was the name of the contractor killed in the February 15 rocket attack on Erbil?"
    placed = ("A contractor was killed at a U.S. military base at Erbil International Airport in the Kurdistan "
              "Region [1].")
    assert _lacks(contractor, placed)
    assert not _lacks(contractor, "The contractor killed at Erbil airport was Ali Hassan of the Kurdistan Region [1].")
    # Unless a place is what is asked.
    town = "What is the name of the town hit in the June 2021 strikes?"
    assert not _lacks(town, "The strikes hit buildings in Al-Qaim [1].")


def test_a_when_answer_must_give_a_date_of_its_own_in_its_first_clause():
    asked = "When did the Iraqi government start its strategic dialogue with the United States?"
    assert not _lacks(asked, "The Iraqi government started it in June 2020 [1].")
    assert not _lacks(asked, "Kirby tweeted on Saturday (2021-02-27) [1].")
    assert not _lacks(asked, "It started two years ago [1].")
    assert _lacks(asked, "The Iraqi government started its strategic dialogue with the United States [1].")
    assert _lacks(asked, "The government may start it soon [1].")  # "may" the verb is no month
    assert _lacks("What happened in June 2021 when did the strikes start?", "They started in June 2021 [1].")


def test_a_count_no_shown_sentence_gives_is_unsupported():
    evidence = " ".join(g.text() for g in (SOHR, REUTERS, UNRELATED))
    assert unsupported_figures("The strikes cost $1.5 billion [1].", evidence) == [1.5]
    assert unsupported_figures("At least 40 people were killed [2].", evidence) == [40.0]
    # Given in digits or in words, either way round, and with thousands separators.
    assert unsupported_figures("17 people were killed [2]; the Observatory said twenty-two [1].", evidence) == []
    assert unsupported_figures("Some 1,200 troops [1].", "about 1200 troops") == []
    # Dates are rag.dates's to check; "one" is mostly a pronoun; the question's own figures count as given.
    assert unsupported_figures("It was denied on Friday (2021-02-26) [1].", evidence) == []
    assert unsupported_figures("One of the groups was hit [1].", evidence) == []
    assert unsupported_figures("Two sites were hit [1].", "Were two sites hit? The Pentagon said so.") == []


def test_a_year_the_article_gives_a_month_day_is_not_a_date_from_memory():
    question = "On what date was the rocket attack on Erbil?"
    erbil = group("e", "Rudaw", "A rocket attack on Erbil on February 15 left two people dead.")
    parsed = Question.parse(question)
    read = signals(question, parsed, [erbil], [], "The attack on Erbil was on February 15, 2021 [1].", [], [])
    assert read.unsupported_dates == 0  # the article is of 2021-02-26: its February 15 is 2021's
    invented = signals(question, parsed, [erbil], [], "The attack on Erbil was on February 15, 2019 [1].", [], [])
    assert invented.unsupported_dates == 2 and gated(invented)  # 2019-02-15 and 2019
