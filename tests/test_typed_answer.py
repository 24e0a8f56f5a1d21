"""A question that wants a number or a date gets an answer rule that must give one (rag.answer.format.typed_answer)."""

from __future__ import annotations

import pytest

from rag.answer.evidence import Question
from rag.answer.format import grammar_for, typed_answer
from rag.answer.prompting import Templates
from tests.shared import grammar_takes


def _template() -> str:
    return Templates.load("").grammar


def test_only_questions_that_want_a_number_or_a_date_get_the_typed_rule():
    template = _template()
    assert typed_answer(template, None) == template
    assert typed_answer(template, "name") == template  # a name is not a word list the grammar could hold
    for wants in ("number", "date"):
        typed = typed_answer(template, wants)
        assert typed != template and "\ntyped   ::= " in typed
        assert '"ANSWER: " typed ("; " clause)?' in typed  # the answer's own clause gives it
    assert '"Saturday"' in typed_answer(template, "date") and '"June"' in typed_answer(template, "date")
    assert '"seventeen"' in typed_answer(template, "number") and '"Seventeen"' in typed_answer(template, "number")
    assert '"seventeen"' not in typed_answer(template, "date")


def test_a_grammar_of_another_shape_is_left_alone():
    custom = 'root ::= "ANSWER: " [a-z ]+ "\\n"\n'
    assert typed_answer(custom, "number") == custom


def test_the_typed_rule_keeps_the_passage_and_cjk_rules_and_compiles():
    typed = grammar_for(_template(), 12, "Four fighters were killed.", Question.parse("How many were killed?").wants)
    assert "passage ::= [1-9] [0-9]?" in typed
    assert "\\u4e00-\\u9fff" in typed.split("typed   ::=")[1].split("\n")[0]  # no CJK in the typed clause either
    pytest.importorskip("llama_cpp")
    from llama_cpp import LlamaGrammar

    LlamaGrammar.from_string(typed, verbose=False)


QUOTE = 'QUOTE [1]: "The storm destroyed homes"\n'


@pytest.mark.integration
@pytest.mark.parametrize("wants, answer, taken", [
    (None, "The storm destroyed homes across the town [1].", True),
    ("number", "The storm destroyed homes across the town [1].", False),  # restates "how many"
    ("number", "The storm destroyed 12 homes [1].", True),
    ("number", "The mayor said twelve homes were destroyed [1]; police put it at 9 [1].", True),
    ("number", "Police gave no figure [1]; the mayor said 12 [1].", False),  # a count in the second clause only
    ("number", "Someone destroyed homes [1].", False),  # "one" only where a word begins
    ("number", "The storm destroyed homes (Eighth) [1].", False),  # ... and ends: an ordinal counts nothing
    ("number", "Hundreds of homes were destroyed [1].", True),
    ("number", "The storm destroyed eight [1].", True),
    ("date", "The storm hit the harbour town [1].", False),
    ("date", "The storm hit on Sunday [1].", True),
    ("date", "The storm hit in March 2020 [1].", True),
    ("date", "The Mayor said the storm hit the town [1].", False),  # "May" only as a word of its own
    ("date", "The storm hit in June [1].", True),
])
def test_the_grammar_takes_only_answers_that_give_what_is_wanted(tiny_llm, wants, answer, taken):
    grammar = grammar_for(_template(), 1, "The storm destroyed homes.", wants)
    assert grammar_takes(tiny_llm, grammar, f"{QUOTE}ANSWER: {answer}\n") is taken
    assert grammar_takes(tiny_llm, grammar, "NONE\n")  # declining stays open
