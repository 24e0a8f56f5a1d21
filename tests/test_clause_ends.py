"""A clause the grammar's length cap cut off: finished from the sentence it copies, else marked shortened."""

from __future__ import annotations

from rag.answer.clause_ends import CAP, finish_cut_clauses
from rag.answer.prompting import load_prompt

SENTENCE = ("PM Sudani met US Deputy Assistant Secretary of Defense for Middle East Policy Daniel Shapiro and US "
            "Ambassador to Iraq Alina Romanowski in Baghdad to discuss the security relationship, officials said.")


def _capped(text: str) -> str:
    """The first CAP characters of `text`, as the grammar stops a clause."""
    return text[:CAP]


def test_the_cap_is_the_answer_grammars_own():
    grammar = load_prompt("", "answer.gbnf")  # the shipped grammar
    assert f"{{2,{CAP}}}" in next(line for line in grammar.splitlines() if line.startswith("clause"))


def test_a_clause_cut_mid_word_goes_on_as_its_sentence_to_the_phrase_end():
    cut = _capped(SENTENCE)
    assert cut.endswith("discuss th")  # cut mid-word
    assert finish_cut_clauses(f"{cut} [1]; they set no timeline [2].", [SENTENCE]) == (
        f"{SENTENCE.split(',')[0]} [1]; they set no timeline [2].")


def test_a_clause_at_the_cap_found_nowhere_is_cut_back_to_a_whole_word_and_marked():
    cut = _capped(SENTENCE.replace("Romanowski", "Romanowsky"))
    assert finish_cut_clauses(f"{cut} [1].", ["something else"]) == f"{cut.rsplit(' ', 1)[0]} … [1]."


def test_clauses_the_model_ended_itself_stay_as_they_are():
    short = "PM Sudani met US officials in Baghdad [1]; they set no timeline [2]."
    assert finish_cut_clauses(short, [SENTENCE]) == short
    # Long, but shorter than the cap and ending on a whole word the sentence goes on from: the model's own stop.
    own = SENTENCE[:152].rsplit(" ", 1)[0]
    assert finish_cut_clauses(f"{own} [1].", [SENTENCE]) == f"{own} [1]."
    # Longer than any one clause the grammar allows (an answer's attribution added to it): not a cut.
    long = "According to Rudaw, " + SENTENCE[:150].rsplit(" ", 1)[0]
    assert finish_cut_clauses(f"{long} [1].", ["nothing"]) == f"{long} [1]."


def test_a_cut_word_whose_phrase_runs_on_too_long_is_finished_and_the_rest_marked():
    long = SENTENCE.replace("the security relationship", "the " + "long and winding " * 6 + "relationship")
    cut = _capped(long)
    assert cut.endswith("discuss th")
    assert finish_cut_clauses(f"{cut} [1].", [long]) == f"{cut}e … [1]."
