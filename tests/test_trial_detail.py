"""eval/trial_detail.py's reading of a reply's tokens: which log-probabilities are the detail's and the quotes'."""

import importlib.util
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "trial_detail", Path(__file__).resolve().parents[1] / "eval" / "trial_detail.py")
trial_detail = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(trial_detail)

REPLY = ['QUOTE', ' [', '1', ']:', ' "', 'Police', ' put', ' it', ' at', ' 9', '"\n',
         'ANS', 'WER', ':', ' Police', ' put', ' the', ' toll', ' at', ' 9', ' [', '1', '].\n']
LOGPROBS = [-0.1, 0, -0.5, 0, 0, -1.5, 0, 0, 0, 0, 0,
            0, 0, 0, -0.8, -0.2, 0, -0.05, 0, -2.0, 0, -3.0, 0]


def test_the_detail_is_the_first_token_of_each_answer_word_beyond_the_question():
    values = trial_detail.detail_signals("What toll did they give?", [p.encode() for p in REPLY], LOGPROBS)
    # New content words: Police (-0.8), put (-0.2), 9 (-2.0); "toll" is the question's, the citation's 1 is not a word.
    assert values["detail_first_min"] == -2.0
    assert values["detail_first_mean"] == pytest.approx((-0.8 - 0.2 - 2.0) / 3)
    assert values["quote_choice"] == -1.5  # the quote's first word


def test_a_multibyte_character_split_across_tokens_is_read_whole():
    text, spans = trial_detail.token_spans(["Iraq".encode(), "’".encode()[:2], "’".encode()[2:], "s".encode()])
    assert text == "Iraq’s" and spans == [(0, 4), (4, 4), (4, 5), (5, 6)]


def test_no_answer_and_no_quote_give_no_values():
    assert trial_detail.detail_signals("Who?", [b"NONE", b"\n"], [-0.1, 0.0]) is None
