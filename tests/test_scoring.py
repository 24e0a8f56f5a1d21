"""Unit tests for rag.evaluation.scoring."""

import numpy as np
import pytest

from rag.evaluation import scoring


def test_normalize_drops_case_punctuation_articles_and_extra_spaces():
    assert scoring.normalize("  The  Quick, brown FOX!  ") == "quick brown fox"
    assert scoring.normalize("An apple a day") == "apple day"


def test_normalize_keeps_words_that_merely_contain_articles():
    assert scoring.normalize("Theater and anthem") == "theater and anthem"


def test_normalize_folds_unicode_quotes_and_dashes():
    assert scoring.normalize("Iraq’s “war”—again") == scoring.normalize("Iraq's \"war\"-again") == "iraq s war again"


def test_contains_respects_word_boundaries():
    assert scoring.contains("It cost 220 dollars", "22") is False
    assert scoring.contains("It cost 22 dollars", "22") is True
    assert scoring.contains("The Iraqi army", "Iraq") is False


def test_contains_ignores_case_punctuation_and_articles():
    assert scoring.contains("Iraq’s capital is Baghdad.", "Iraq") is True
    assert scoring.contains("He won THE Nobel Prize!", "nobel prize") is True
    assert scoring.contains("They watched Squid Game.", "“Squid Game”") is True


def test_contains_empty_alias_never_matches():
    assert scoring.contains("anything", "") is False
    assert scoring.contains("anything", "the") is False  # normalizes to empty


def test_matches_alias_groups_needs_every_group():
    groups = [["Biden", "Joe Biden"], ["Delaware"]]
    assert scoring.matches_alias_groups("Joe Biden is from Delaware.", groups) is True
    assert scoring.matches_alias_groups("Joe Biden is from Pennsylvania.", groups) is False


def test_matches_alias_groups_with_no_groups_is_false():
    assert scoring.matches_alias_groups("anything", []) is False


def test_exact_match_on_normalized_strings():
    assert scoring.exact_match("The Eiffel Tower.", "eiffel tower") == 1.0
    assert scoring.exact_match("Eiffel Tower in Paris", "Eiffel Tower") == 0.0


def test_token_f1_partial_overlap():
    # 2 shared tokens: precision 2/4, recall 2/2
    assert scoring.token_f1("Eiffel Tower in Paris", "the Eiffel Tower") == pytest.approx(2 / 3)
    assert scoring.token_f1("Eiffel Tower Paris", "Eiffel Tower") == pytest.approx(0.8)


def test_token_f1_counts_repeated_tokens_once_per_occurrence():
    assert scoring.token_f1("paris paris paris", "paris") == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))


def test_token_f1_empty_cases():
    assert scoring.token_f1("", "") == 1.0
    assert scoring.token_f1("the", "a") == 1.0  # both normalize to nothing
    assert scoring.token_f1("", "Paris") == 0.0
    assert scoring.token_f1("Paris", "") == 0.0
    assert scoring.token_f1("London", "Paris") == 0.0


def test_abstention_precision_and_recall():
    predicted = [True, True, False, False]
    should = [True, False, True, False]
    assert scoring.abstention_precision_recall(predicted, should) == (0.5, 0.5)


def test_abstention_none_when_denominators_are_zero():
    assert scoring.abstention_precision_recall([False, False], [True, False]) == (None, 0.0)
    assert scoring.abstention_precision_recall([True, False], [False, False]) == (0.0, None)
    assert scoring.abstention_precision_recall([], []) == (None, None)


def test_abstention_length_mismatch_raises():
    with pytest.raises(ValueError):
        scoring.abstention_precision_recall([True], [True, False])


def test_recall_at_k_counts_distinct_docs_despite_repeated_passages():
    ranked = ["a", "a", "a", "b", "c"]
    # the first 2 distinct docs are a and b, even though b is the 4th passage
    assert scoring.recall_at_k(ranked, ["b", "c"], 2) == 0.5
    assert scoring.recall_at_k(ranked, ["b", "c"], 3) == 1.0
    assert scoring.recall_at_k(ranked, ["c", "c"], 2) == 0.0


def test_recall_at_k_none_without_expected_and_rejects_bad_k():
    assert scoring.recall_at_k(["a"], [], 5) is None
    with pytest.raises(ValueError):
        scoring.recall_at_k(["a"], ["a"], 0)


def test_reciprocal_rank_uses_distinct_docs():
    assert scoring.reciprocal_rank(["a", "a", "b"], ["b"]) == 0.5
    assert scoring.reciprocal_rank(["a", "b"], ["z"]) == 0.0
    assert scoring.reciprocal_rank(["a"], []) is None


def test_cites_expected():
    assert scoring.cites_expected(["x", "b"], ["a", "b"]) is True
    assert scoring.cites_expected(["x"], ["a"]) is False
    assert scoring.cites_expected([], ["a"]) is False


def test_citation_precision_only_counts_correct_answers_with_expected_docs():
    items = [
        (True, ["a"], ["a"]),  # counted, cites expected
        (True, ["x"], ["a"]),  # counted, misses
        (False, ["a"], ["a"]),  # wrong answer: ignored
        (True, ["a"], []),  # no expected docs: ignored
    ]
    assert scoring.citation_precision(items) == 0.5


def test_citation_precision_none_when_nothing_to_judge():
    assert scoring.citation_precision([]) is None
    assert scoring.citation_precision([(False, ["a"], ["a"]), (True, ["a"], [])]) is None


def test_split_sentences_keeps_markers_with_their_sentence():
    text = "Paris is the capital [2]. It has a tower. [1][3] Is it tall? Yes!"
    expected = ["Paris is the capital [2].", "It has a tower. [1][3]", "Is it tall?", "Yes!"]
    assert scoring.split_sentences(text) == expected


def test_split_sentences_does_not_split_decimals_and_keeps_unterminated_tail():
    assert scoring.split_sentences("Rates rose 3.5 percent. Then fell") == ["Rates rose 3.5 percent.", "Then fell"]
    assert scoring.split_sentences("   ") == []


def test_cited_sentence_share():
    assert scoring.cited_sentence_share("A is true [1]. B is true. C too. [2][3]") == pytest.approx(2 / 3)
    assert scoring.cited_sentence_share("No citations here.") == 0.0
    assert scoring.cited_sentence_share("") is None


@pytest.mark.parametrize("q", [0, 10, 50, 90, 95, 100])
def test_percentile_matches_numpy_linear(q):
    values = [3.0, 1.0, 7.0, 2.0, 10.0]
    assert scoring.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_edge_cases():
    assert scoring.percentile([], 50) is None
    assert scoring.percentile([4.0], 95) == 4.0
    with pytest.raises(ValueError):
        scoring.percentile([1.0], 101)


def test_cited_sentence_share_reads_every_marker_form():
    # "[1, 3]" and "[2;4]" are citations too: both sentences carry one.
    assert scoring.cited_sentence_share("Iraq denied it [1, 3]. Kirby disagreed [2;4].") == 1.0


GAS = "Where in the US is it illegal to pump your own gas?"
STATES = ["New Jersey & Oregon", "California & Washington", "Alabama & Louisiana", "Idaho & South Dakota"]
LEADERS = ["North Korean leader Kim Jong Un", "UK Prime Minister Boris Johnson", "Russian President Vladimir Putin"]


def test_a_choice_named_in_other_words():
    assert scoring.names_choice("Oregon is one of two states (New Jersey is the other)", GAS, STATES, 0)
    assert scoring.names_choice("The detention was extended for six months [3].", "How many months?",
                                ["3", "4", "5", "6"], 3)  # "[3]" is a citation, not choice 3
    assert scoring.names_choice("Prime Minister Boris Johnson resigned", "Which head of state resigned?", LEADERS, 1)
    assert scoring.names_choice("The Avalanche won the Cup", "Which team won?", ["Colorado Avalanche", "Boston Bruins"],
                                0)
    assert scoring.names_choice("Apple will unveil new iPhones", "Which Apple product?", ["iPad", "iPhone"], 1)
    assert scoring.names_choice("It costs 10,000 dollars", "How much?", ["1,000", "10,000"], 1)


def test_a_choice_is_not_named_by_a_vague_a_shared_or_a_hedged_answer():
    swings = ["30,000", "350,000", "500,000", "2 million"]
    assert not scoring.names_choice("Millions of baby swings were recalled", "How many swings?", swings, 3)
    assert not scoring.names_choice("Oregon is one of two states", GAS, STATES, 0)  # half of "New Jersey Oregon"
    assert not scoring.names_choice("Boris Johnson or Vladimir Putin resigned", "Who resigned?", LEADERS, 1)
    # A word of the question tells no choice apart: "leader" is asked, so "the leader" names nobody.
    assert not scoring.names_choice("The leader resigned", "Which leader resigned?", ["leader Kim", "Putin"], 0)
    assert not scoring.names_choice("Zika", "Which virus?", ["Monkeypox", "Zika"], 0)


def test_a_decimal_or_a_clause_long_choice_is_not_named_by_part_of_its_words():
    debt = ["$800 billion", "$1 trillion", "$8 trillion", "$16 trillion"]
    assert not scoring.names_choice("Household debt passed $16.2 trillion", "How much debt?", debt, 3)
    assert scoring.names_choice("Household debt passed sixteen trillion dollars", "How much debt?", debt, 3)
    irs = ["Finish processing the backlog of 2021 tax returns", "Issue more stimulus checks"]
    assert not scoring.names_choice("It will begin processing 2021 tax returns in January", "What will the IRS do?",
                                    irs, 0)
