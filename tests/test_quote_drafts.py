"""The rest of a quote guessed from the shown evidence (rag.answer.quote_drafts), on fixtures."""

from rag.answer.quote_drafts import QuoteDrafter

SHOWN = {
    1: '[1] Storm hits harbour town (Coast Herald, 2020-03-02)\n'
       'The mayor said 12 homes were destroyed on Sunday (2020-03-01). Police put the number at 9. The mayor '
       'said "rebuilding starts now" to reporters.',
    2: '[2] Storm damage (Wire, 2020-03-02)\nPolice put the number at 9 on Monday, officials said.',
}
drafter = QuoteDrafter(SHOWN)


def test_no_guess_outside_an_open_quote_or_before_its_first_word():
    assert drafter("") == ""
    assert drafter('QUOTE [1]: "') == ""
    assert drafter('QUOTE [1]: "The mayor said 12 homes were destroyed"\n') == ""  # closed
    assert drafter('QUOTE [1]: "The mayor said 12 homes were destroyed"\nANSWER: The mayor') == ""
    assert drafter('QUOTE [1]: "The') == ""  # starts several sentences, with different continuations


def test_one_word_shown_in_one_place_is_enough():
    assert drafter('QUOTE [1]: "Storm') == ' hits harbour town (Coast Herald, 2020-03-02)"\n'


def test_a_quote_begun_mid_sentence_may_be_capitalised():
    assert drafter('QUOTE [2]: "Officials') == ' said."\n'
    assert drafter('QUOTE [1]: "Rebuilding starts') == ' now'  # up to the quote mark, not closed


def test_a_unique_start_is_guessed_to_the_end_of_its_sentence_and_closed():
    assert drafter('QUOTE [1]: "The mayor said 12') == ' homes were destroyed on Sunday (2020-03-01)."\n'
    assert drafter('QUOTE [1]: "Storm hits') == ' harbour town (Coast Herald, 2020-03-02)"\n'  # the title line
    # A later line of a reply, mid-word.
    assert drafter('QUOTE [1]: "The mayor said 12 homes"\nQUOTE [1]: "Police put the num') == 'ber at 9."\n'


def test_the_quoted_passage_goes_first_then_any_other():
    # "Police put the number at 9" is shown in both passages: the one the quote names decides.
    assert drafter('QUOTE [2]: "Police put') == ' the number at 9 on Monday, officials said."\n'
    assert drafter('QUOTE [1]: "Police put') == ' the number at 9."\n'
    assert drafter('QUOTE [3]: "officials said') == '."\n'  # no passage 3: found in passage 2


def test_different_continuations_give_no_guess():
    assert drafter('QUOTE [1]: "The mayor') == ""  # "said 12 homes..." or "said \\"rebuilding..."
    assert drafter('QUOTE [1]: "The mayor said') == ""


def test_words_not_shown_give_no_guess():
    assert drafter('QUOTE [1]: "The major said') == ""
    assert drafter('QUOTE [1]: "12 houses were') == ""


def test_a_quote_mark_or_the_longest_quote_ends_the_guess_unclosed():
    # The grammar forbids '"' inside a quote: the guess stops before it and the model decides what follows.
    assert drafter('QUOTE [1]: "at 9. The mayor') == " said"  # up to the quote mark, not closed
    assert drafter('QUOTE [1]: "at 9. The mayor said') == ""  # nothing left before the quote mark
    short = QuoteDrafter(SHOWN, max_chars=30)
    assert short('QUOTE [1]: "The mayor said 12') == " homes were d"  # 17 + 13 = 30 characters, not closed
