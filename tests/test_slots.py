"""A count or date taken from a worse-matching sentence is written again with the best sentence's value
(rag.answer.slots, rag.answer.stages.refocus)."""

from __future__ import annotations

import pytest

from rag.answer.evidence import Question
from rag.answer.format import answer_giving, grammar_for
from rag.answer.prompting import Templates
from rag.answer.quotes import VerifiedQuote
from rag.answer.retrieve import Filters
from rag.answer.slots import before_value, better_value, value_phrases
from rag.answer.stages import check, refocus
from rag.answer.state import AskState
from rag.config import Config
from rag.models.generator import Usage
from rag.types import Citation
from tests.shared import evidence_group, grammar_takes

SOLEIMANI = ("Trump approved the January 2020 drone strike assassination of Qasem Soleimani at Baghdad airport. "
             "Iraqi officials condemned it.")
ROLE = "The US role in Iraq became an advise and assist mission in December 2021."
WHEN = "In what year was Qasem Soleimani killed?"
WRONG = "Qasem Soleimani was killed in December 2021 [2]."
GROUPS = [evidence_group("sputnik", "Sputnik", SOLEIMANI), evidence_group("rudaw", "Rudaw", ROLE)]


def better(question: str, answer: str, groups=GROUPS):
    return better_value(question, Question.parse(question), answer, groups)


def test_a_value_from_a_worse_matching_sentence_gives_way_to_the_best_one():
    found = better(WHEN, WRONG)
    assert found is not None and found.passage == 1 and found.phrases == ("January 2020",)
    assert found.sentence.text.startswith("Trump approved the January 2020") and found.replaces == {"december", "2021"}
    assert found.given_by("Qasem Soleimani was killed in January 2020 [1].")
    assert not found.given_by(WRONG)


def test_counts_are_compared_as_numbers():
    groups = [evidence_group("f24", "France 24", "US strikes on the border killed at least seven fighters."),
              evidence_group("esta", "ESTA", "Four guards were wounded in an earlier attack.")]
    found = better("How many fighters did the US strikes on the border kill?", "Four fighters were killed [2].", groups)
    assert found is not None and found.phrases == ("seven",)
    assert better("How many fighters did the US strikes on the border kill?", "7 fighters were killed [1].",
                  groups) is None  # "7" is the best sentence's "seven"


@pytest.mark.parametrize("question, answer", [
    (WHEN, "Qasem Soleimani was killed in January 2020 [1]."),  # the best sentence's value already
    (WHEN, "Qasem Soleimani was killed in March 2019 [1]."),  # a value no article gives: the date gate's case
    ("Who killed Qasem Soleimani?", WRONG),  # no count or date is asked for
    ("In what year was Qasem Soleimani killed, and who condemned it?", WRONG),  # two parts: each has its own
])
def test_nothing_to_refocus(question, answer):
    assert better(question, answer) is None


def test_two_sentences_as_good_as_each_other_leave_the_answer_alone():
    other = evidence_group("cnn", "CNN", "Qasem Soleimani was in Baghdad in March 2019.")
    assert better(WHEN, "Qasem Soleimani was killed in March 2019 [3].", [*GROUPS, other]) is None


def test_value_phrases_hold_a_whole_date_and_a_written_out_count():
    text = "On June 25, 2021 the strikes killed 10,000 or seven."
    assert [text[a:b] for a, b in value_phrases(text, {"06-25", "2021", "june"}, "date")] == ["June 25, 2021"]
    assert [text[a:b] for a, b in value_phrases(text, {"10000", "7"}, "number")] == ["10,000", "seven"]


def test_the_answer_keeps_its_words_up_to_its_value():
    assert before_value(WRONG + "; Iraq condemned it [1].", "date", WHEN) == "Qasem Soleimani was killed in "
    assert before_value("In 2021, the strikes hit in June [1].", "date", "When in 2021 did the strikes hit?") \
        == "In 2021, the strikes hit in "  # the question's own year is no answer
    assert before_value("The strikes hit the border [1]. The official said they killed one fighter and wounded "
                        "four [1].", "number", "How many were wounded?") is None  # no opening after a citation


def _grammar(phrases=("January 2020",)) -> str:
    shipped = grammar_for(Templates.load("").grammar, 2, SOLEIMANI, "date")
    return answer_giving(shipped, phrases)


def test_the_refocused_grammar_keeps_the_passage_rule_and_cjk_exclusion():
    grammar = _grammar()
    root = next(line for line in grammar.splitlines() if line.startswith("root "))
    assert root.startswith("root ::= value ") and 'value ::= "January 2020"' in grammar
    assert "\\u4e00-\\u9fff" in root and "passage ::=" in grammar


@pytest.mark.integration
@pytest.mark.parametrize("rest, taken", [
    ("January 2020 [1].\n", True),
    ("January 2020, at Baghdad airport [1].\n", True),
    ("December 2021 [1].\n", False),  # not the best sentence's value
    ("January 20201 [1].\n", False),  # the value whole
    ("January 2020 [1]; Iraq condemned it [1].\n", False),  # one clause: the value is the answer
])
def test_the_refocused_grammar_takes_only_the_value_then_the_clause_end(tiny_llm, rest, taken):
    assert grammar_takes(tiny_llm, _grammar(), rest) is taken


class _Twice:
    """The model's second pass: writes `second` after the prefill it is given (prefill and grammar recorded)."""

    name = "fake-llm"

    def __init__(self, second: str):
        self.second, self.prefill, self.grammar = second, None, None

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, messages, max_tokens, temperature, usage: Usage, grammar=None, prefill="", guess=None):
        self.prefill, self.grammar = prefill, grammar
        usage.completion_tokens += 3
        usage.logprobs.extend([-0.5, -0.5, -0.5])
        yield self.second


class _Parts:
    def __init__(self, generator):
        self.templates, self.generator = Templates.load(""), generator


def _state(raw: str) -> AskState:
    state = AskState(WHEN, Config(), Filters(), Question.parse(WHEN), groups=GROUPS, raw=raw, answer_start=3)
    state.passages = [Citation(n, g.doc.doc_id, g.doc.source, g.doc.title, g.doc.outlet, g.doc.date, g.chunk_id,
                               g.text()) for n, g in enumerate(GROUPS, start=1)]
    state.usage.logprobs = [-0.1] * 6
    return state


def test_the_rewritten_answer_is_shown_with_the_sentence_whose_value_it_gives():
    found = better(WHEN, WRONG)
    role, condemned = GROUPS[1].sentences[0], GROUPS[0].sentences[1]
    verified = [VerifiedQuote(2, "advise and assist mission in December 2021", role, 0.9),
                VerifiedQuote(1, "Iraqi officials condemned it", condemned, 0.9)]
    shown = found.as_evidence(verified)
    assert [q.sentence for q in shown] == [found.sentence, condemned]  # December 2021's sentence supports nothing now
    assert shown[0].n == 1


def test_refocus_writes_the_value_again_after_the_models_own_opening():
    quote = 'QUOTE [2]: "The US role in Iraq became an advise and assist mission in December 2021"\n'
    state = _state(f"{quote}ANSWER: {WRONG}\n")
    model = _Twice("January 2020 [1].\n")
    list(refocus(_Parts(model), state))
    assert model.prefill == f"{quote}ANSWER: Qasem Soleimani was killed in "
    assert 'value ::= "January 2020"' in model.grammar
    assert state.raw == f"{quote}ANSWER: Qasem Soleimani was killed in January 2020 [1].\n"
    assert state.usage.logprobs == [-0.1, -0.1, -0.5, -0.5, -0.5]  # the quotes' kept, the answer's the new pass's
    assert state.timings.completion_tokens == 3  # the second pass's written tokens are counted (the fake's first: 0)
    list(check(_Parts(model), state))
    assert state.composed.text == "Qasem Soleimani was killed in January 2020 [1]."
    assert [e.quote for e in state.composed.evidence] == [GROUPS[0].sentences[0].text]


def test_a_backend_that_ignores_the_grammar_leaves_the_first_answer():
    raw = f"ANSWER: {WRONG}\n"
    state = _state(raw)
    list(refocus(_Parts(_Twice("December 2021 [2].\n")), state))
    assert state.raw == raw and state.usage.logprobs == [-0.1] * 6 and state.refocused is None
