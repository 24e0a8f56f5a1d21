"""eval/trial_verifier.py's reading of a record and of the model's reply: the checked turn and P("yes")."""

import importlib.util
from pathlib import Path

import pytest

from rag.config import Config
from rag.models.registry import llm_path

_SPEC = importlib.util.spec_from_file_location(
    "trial_verifier", Path(__file__).resolve().parents[1] / "eval" / "trial_verifier.py")
trial_verifier = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(trial_verifier)

RECORD = {"question": "How many homes did the storm destroy?",
          "answer": "The mayor said 12 homes were destroyed [1]; police put it at 9 [2].",
          "refused": None,
          "evidence": [{"n": 1, "quote": "The mayor said 12 homes were destroyed."},
                       {"n": 2, "quote": "Police put the number at 9."}]}


def test_the_checked_turn_holds_the_quotes_and_the_answer_without_its_citations():
    chat = trial_verifier.messages(RECORD, shots=False)
    assert [m["role"] for m in chat] == ["system", "user"]
    asked = chat[-1]["content"]
    assert "- The mayor said 12 homes were destroyed.\n- Police put the number at 9." in asked
    assert "Answer: The mayor said 12 homes were destroyed; police put it at 9." in asked
    assert "[1]" not in asked.split("Answer:", 1)[1]


def test_a_withheld_answer_is_the_one_checked_and_no_quote_is_said_so():
    record = {**RECORD, "answer": "I cannot find the answer in the provided articles.",
              "refused": "Twelve homes [1].", "evidence": []}
    asked = trial_verifier.messages(record, shots=False)[-1]["content"]
    assert "Answer: Twelve homes." in asked and "- (no sentence)" in asked


def test_the_worked_examples_come_as_answered_turns_before_the_question():
    chat = trial_verifier.messages(RECORD, shots=True)
    assert len(chat) == 2 + 2 * len(trial_verifier.SHOTS)
    assert [m["content"] for m in chat[2:-1:2]] == [verdict for *_, verdict in trial_verifier.SHOTS]


def test_auc_counts_ties_as_half():
    assert trial_verifier.auc([0.9, 0.8, 0.1], [True, True, False]) == 1.0
    assert trial_verifier.auc([0.5, 0.5], [True, False]) == 0.5
    assert trial_verifier.auc([0.1, 0.9], [True, False]) == 0.0


@pytest.mark.integration
def test_p_yes_is_a_probability_between_the_yes_and_no_tokens_of_the_tiny_model():
    judge = trial_verifier.YesProbability(llm_path("smollm2-135m", Config().cache_dir))
    assert judge.yes and judge.no and not judge.yes & judge.no
    first = judge(trial_verifier.messages(RECORD, shots=False))
    again = judge(trial_verifier.messages(RECORD, shots=True))  # shares the system turn's cached state
    assert 0.0 < first < 1.0 and 0.0 < again < 1.0
    assert judge(trial_verifier.messages(RECORD, shots=False)) == pytest.approx(first, abs=1e-4)
