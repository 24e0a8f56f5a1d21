"""The reply's guesses beyond a quote's rest (rag.answer.reply_guesses): the openings, the answer's words."""

from rag.answer.quote_drafts import QuoteDrafter
from rag.answer.reply_guesses import ReplyDrafter, after_closed_quote, answer_words, next_opening

SHOWN = {
    1: "[1] Strikes (Rudaw, 2021-02-27)\nTwenty-two militiamen were killed in the strikes, the monitor reported.",
    2: "[2] Iraq slams strikes (France 24)\nThe groups named four members of the Kataib Sayyed al-Shuhada faction "
       "they said were killed.",
}
Q1 = 'QUOTE [1]: "Twenty-two militiamen were killed in the strikes, the monitor reported."\n'
Q2 = 'QUOTE [2]: "The groups named four members of the Kataib Sayyed al-Shuhada faction they said were killed."\n'
QUESTION = "How many militiamen did the monitor say were killed?"
drafter = ReplyDrafter(QuoteDrafter(SHOWN), QUESTION)


def test_the_fixed_openings_are_guessed_and_the_passage_number_is_not():
    assert next_opening("QUOTE") == " ["
    assert next_opening(Q1 + "Q") == "UOTE ["
    assert next_opening("QUOTE [") == ""  # the passage number is the model's choice
    assert next_opening("QUOTE [2") == ']: "'
    assert next_opening(Q1 + Q2 + "ANS") == "WER: "
    assert next_opening(Q1 + Q2 + "ANSWER: ") == ""
    assert next_opening("NO") == ""  # NONE is not an opening to guess
    assert next_opening("") == ""


def test_after_a_closed_quote_comes_a_second_quote_then_the_answer():
    assert after_closed_quote(Q1) == "QUOTE ["
    assert after_closed_quote(Q1 + Q2) == "ANSWER: "
    assert after_closed_quote("") == ""
    assert drafter(Q1) == "QUOTE ["
    assert drafter(Q1 + Q2) == "ANSWER: "


def test_a_guessed_quote_rest_that_closes_the_quote_runs_on_into_the_next_opening():
    assert drafter('QUOTE [1]: "Twenty-two militiamen') == (
        ' were killed in the strikes, the monitor reported."\nQUOTE [')
    assert drafter(Q1 + 'QUOTE [2]: "The groups named') == (
        ' four members of the Kataib Sayyed al-Shuhada faction they said were killed."\nANSWER: ')


def test_the_answer_copies_a_quote_to_the_end_of_its_phrase():
    answer = Q1 + Q2 + "ANSWER: The monitor said 22 militiamen were"
    assert answer_words(answer) == " killed in the strikes"  # stops at the comma
    assert drafter(answer + " killed [1]; the groups named four mem") == (
        "bers of the Kataib Sayyed al-Shuhada faction they said")  # the word being written, then 8 more
    assert answer_words(Q1 + Q2 + "ANSWER: The monitor said 22 militiamen were killed [1]") == ""


def test_the_question_is_a_source_too():
    assert answer_words(Q1 + "ANSWER: The monitor did say", QUESTION) == " were killed"  # "say" alone, below
    assert answer_words(Q1 + "ANSWER: Many militiamen did the", QUESTION) == " monitor say were killed"


def test_no_answer_guess_when_the_words_are_ambiguous_unknown_short_or_just_ended():
    assert answer_words(Q1 + Q2 + "ANSWER: they said") == " were killed"
    assert answer_words(Q1 + Q2 + "ANSWER: were killed") == ""  # in both quotes, different continuations
    assert answer_words(Q1 + Q2 + "ANSWER: killed") == ""  # alone: in both quotes, different continuations
    assert answer_words(Q1 + Q2 + "ANSWER: the monitors wrote") == ""  # nowhere
    assert answer_words(Q1 + Q2 + "ANSWER: the ministry sa") == ""  # "sa" alone is too short to look up
    assert answer_words(Q1 + Q2 + "ANSWER: the groups ") == ""  # a space: the next word is the model's
    assert answer_words(Q1 + 'QUOTE [2]: "The groups named four') == ""  # not the answer line


def test_the_word_being_written_alone_when_the_last_two_are_found_nowhere():
    assert answer_words(Q1 + Q2 + "ANSWER: 22 milit") == "iamen were killed in the strikes"
    assert answer_words(Q1 + Q2 + "ANSWER: the monitors said") == " were killed"  # only Q2 has "said"
    # Two words found go first: "22 militiamen" is nowhere, "militiamen" alone is in Q1 only.
    assert answer_words(Q1 + Q2 + "ANSWER: 22 militiamen") == " were killed in the strikes"


def test_a_first_letter_of_either_case_matches():
    assert answer_words(Q1 + Q2 + "ANSWER: the monitor said twenty-two") == " militiamen were killed in the strikes"
    assert answer_words(Q1 + Q2 + "ANSWER: The Groups named") == " four members of the Kataib Sayyed al-Shuhada faction"


def test_a_word_is_matched_whole_at_its_start():
    # "said were" and "sai" would match inside "unsaid were" if starts inside words counted.
    quotes = 'QUOTE [1]: "It was unsaid were they there."\n'
    assert answer_words(quotes + "ANSWER: he sai") == ""
    assert answer_words(quotes + "ANSWER: he said were") == " they there"  # "were" alone
