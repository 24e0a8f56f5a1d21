"""The confidence model: signals, a logistic fit on a fixture, held-out threshold choice, the shipped file."""

from __future__ import annotations

import random

import pytest

from rag.answer.confidence import FEATURES, Calibration
from rag.evaluation.calibrate import Example, calibrate, choose_threshold, fit_logistic, operating_points


def _record(quote_overlap: float, answer_logprob: float, should_abstain: bool, correct: bool) -> dict:
    signals = {f: 0.0 for f in FEATURES} | {"quote_overlap": quote_overlap, "answer_logprob": answer_logprob}
    return {"signals": signals, "abstained": False, "error": None,
            "verdicts": {"should_abstain": should_abstain, "correct": correct}}


def _fixture(n: int = 200, seed: int = 3) -> list[dict]:
    """Right answers have well-matched quotes and confident tokens; answers to unanswerable questions don't."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        answerable = i % 3 != 0
        good = answerable and rng.random() < 0.85
        # Wrong answers to answerable questions sit between the two: the right article, the wrong sentence.
        overlap = rng.gauss(0.9 if good else 0.75 if answerable else 0.55, 0.07)
        logprob = rng.gauss(-0.3 if good else -0.7 if answerable else -1.4, 0.2)
        records.append(_record(overlap, logprob, not answerable, good))
    return records


def test_logistic_fit_recovers_the_direction_of_the_signals():
    import numpy as np

    x = np.array([[0.0], [1.0], [2.0], [3.0], [0.5], [2.5]])
    y = np.array([0, 0, 1, 1, 0, 1], dtype=float)
    weights, bias = fit_logistic(x - x.mean(), y, l2=0.1)
    assert weights[0] > 0


def test_calibration_separates_right_from_wrong_and_meets_the_precision_target():
    model, points = calibrate(_fixture(), "fixture", target=0.9)
    chosen = next(p for p in points if p["threshold"] == model.threshold)
    assert chosen["precision"] >= 0.9 and chosen["recall"] > 0.5
    good = model.probability({"quote_overlap": 0.95, "answer_logprob": -0.2})
    bad = model.probability({"quote_overlap": 0.55, "answer_logprob": -1.5})
    assert good > 0.8 > 0.2 > bad
    assert model.weights[FEATURES.index("quote_overlap")] > 0 and model.weights[FEATURES.index("answer_logprob")] > 0


def test_threshold_is_the_most_recall_at_the_target_precision():
    points = [{"threshold": 0.2, "precision": 1.0, "recall": 0.3, "answered_right": 1.0},
              {"threshold": 0.5, "precision": 0.92, "recall": 0.7, "answered_right": 0.9},
              {"threshold": 0.8, "precision": 0.8, "recall": 0.9, "answered_right": 0.6}]
    assert choose_threshold(points, 0.9) == 0.5
    assert choose_threshold(points, 0.99) == 0.2
    # Out of reach, the most recall that keeps 95% of the right answers, not merely the most precise point.
    reachable = [{"threshold": 0.1, "precision": 0.7, "recall": 0.1, "answered_right": 1.0},
                 {"threshold": 0.3, "precision": 0.6, "recall": 0.4, "answered_right": 0.96},
                 {"threshold": 0.6, "precision": 0.5, "recall": 0.8, "answered_right": 0.7}]
    assert choose_threshold(reachable, 0.9) == 0.3


def test_abstentions_decided_before_scoring_count_in_the_operating_points():
    items = [Example((0.0,) * len(FEATURES), True, False), Example((0.0,) * len(FEATURES), False, True)]
    fixed = [{"abstained": True, "verdicts": {"should_abstain": True}}]
    points = operating_points(items, [0.9, 0.1], fixed)
    none, everything = points[0], points[-1]
    assert none["threshold"] == 0.0 and none["precision"] == 1.0 and none["recall"] == 0.5
    assert everything["recall"] == 1.0 and everything["answered_right"] == 0.0


def test_calibration_needs_right_and_wrong_answers():
    with pytest.raises(ValueError):
        calibrate([_record(0.9, -0.1, False, True)] * 10, "fixture")


def test_the_shipped_calibration_loads_and_round_trips(tmp_path):
    shipped = Calibration.load()
    assert shipped.features == FEATURES and 0.0 <= shipped.threshold <= 1.0
    path = tmp_path / "calibration.json"
    path.write_text(shipped.to_json())
    assert Calibration.load(path) == shipped
