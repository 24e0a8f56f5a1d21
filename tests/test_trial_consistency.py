"""eval/trial_consistency.py's agreement of sampled answers with the greedy one, and the trials' shared re-answering
of a record (rag.evaluation.signal_effects.answer_again)."""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

from rag.answer.compose import Composed, abstention
from rag.evaluation.signal_effects import answer_again

_SPEC = importlib.util.spec_from_file_location(
    "trial_consistency", Path(__file__).resolve().parents[1] / "eval" / "trial_consistency.py")
trial_consistency = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(trial_consistency)


def test_consistency_is_the_share_of_the_greedy_answers_new_words_each_sample_repeats():
    # The greedy answer's words beyond the question: police, put, 9 ("toll" is the question's).
    values = trial_consistency.agreement("Police put the toll at 9 [1].", "What toll did they give?",
                                         ["The police said 9 [1].", "Officials put it at 12 [1]."])
    assert values["consistency"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert values["consistency_min"] == pytest.approx(1 / 3)


def test_an_answer_with_nothing_beyond_the_question_or_no_sample_gives_no_values():
    assert trial_consistency.agreement("They give the toll [1].", "What toll did they give?", ["9 [1]"]) is None
    assert trial_consistency.agreement("Police put it at 9 [1].", "What toll?", []) is None


def _assistant(answer: str | None):
    """A scripted assistant whose one stage composes `answer` (None: it declines)."""
    def stage(_assistant, state):
        state.composed = abstention() if answer is None else Composed(answer, False)
        yield from ()

    def start(question, filters, asked_on=None):
        return SimpleNamespace(question=question, filters=filters, asked_on=asked_on, composed=None)

    return SimpleNamespace(start=start, stages=(stage,))


def test_a_record_answered_again_the_same_gives_its_state_with_the_runs_filters():
    record = {"question": "Who?", "until": "2022-06-17", "asked_on": "2022-06-17", "answer": "Police [1].",
              "abstained": False}
    state = answer_again(_assistant("Police [1]."), record)
    assert state is not None and state.filters.until == "2022-06-17" and state.asked_on == "2022-06-17"


def test_a_record_answered_differently_now_gives_nothing():
    record = {"question": "Who?", "answer": "Police [1].", "abstained": False}
    assert answer_again(_assistant("Officials [1]."), record) is None
    assert answer_again(_assistant(None), record) is None
    declined = {"question": "Who?", "answer": "I cannot find the answer.", "abstained": True}
    assert answer_again(_assistant(None), declined) is not None
