"""Reading the model's QUOTE/ANSWER output and verifying quotes against the evidence sentences."""

from __future__ import annotations

from rag.answer.format import Quote, parse_draft
from rag.answer.quotes import verify
from tests.shared import GROUPS


def test_parse_quotes_then_answer():
    draft = parse_draft('QUOTE [1]: "The ministry denied its involvement"\nQUOTE [2]: "killed one fighter"\n'
                        "ANSWER: Iraq's Ministry of Defense denied it [1].\n")
    assert draft.quotes == [Quote(1, "The ministry denied its involvement"), Quote(2, "killed one fighter")]
    assert draft.answer == "Iraq's Ministry of Defense denied it [1]." and not draft.none


def test_parse_none_and_truncated_output():
    assert parse_draft("NONE\n").none
    assert parse_draft('QUOTE [1]: "The council voted to build a library"\nNONE\n').none  # quoted, then declined
    cut = parse_draft('QUOTE [1]: "Twenty-two militiamen were killed in the str')
    assert cut.quotes == [Quote(1, "Twenty-two militiamen were killed in the str")] and cut.answer == ""
    half = parse_draft('QUOTE [1]: "The ministry denied"\nANSWER: The ministry den')
    assert half.answer == "The ministry den"
    assert parse_draft("").quotes == [] and not parse_draft("").none


def test_exact_quote_verifies_to_the_whole_sentence():
    (found,) = verify([Quote(1, "The ministry denied its involvement in the airstrikes")], GROUPS)
    assert found.n == 1 and found.sentence.text == "The ministry denied its involvement in the airstrikes."
    assert found.overlap == 1.0


def test_paraphrased_quote_is_tolerated():
    # "At least ... were killed" written for "killed ...": the same words in another order.
    (found,) = verify([Quote(2, "One fighter was killed by the strikes and four wounded")], GROUPS)
    assert found.n == 2 and found.sentence.text.startswith("The official said")


def test_forged_quote_is_dropped():
    assert verify([Quote(1, "The capital of Australia is Canberra")], GROUPS) == []


def test_quote_from_the_wrong_article_is_repointed():
    (found,) = verify([Quote(1, "the strikes killed one fighter and wounded four")], GROUPS)
    assert found.n == 2  # the model said [1]; the words are in ESTA's article


def test_the_same_sentence_quoted_twice_counts_once():
    quotes = [Quote(1, "The ministry denied its involvement"), Quote(1, "ministry denied its involvement in")]
    assert len(verify(quotes, GROUPS)) == 1


def test_an_answer_copied_from_a_sentence_stands_in_for_a_forged_quote():
    from rag.answer.quotes import answer_as_quote

    (found,) = answer_as_quote("The Syrian Observatory for Human Rights reported twenty-two killed [1].",
                               "Which organisation reported the deaths?", GROUPS, 1)
    assert found.sentence.text.startswith("Twenty-two militiamen")
    # An answer that only restates the question has nothing of its own to check.
    assert answer_as_quote("The organisation reported the deaths [1].", "Which organisation reported the deaths?",
                           GROUPS, 1) == []
