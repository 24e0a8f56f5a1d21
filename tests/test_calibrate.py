"""The confidence model: signals, a logistic fit on a fixture, held-out threshold choice, the shipped file."""

from __future__ import annotations

import json
import random

import pytest

from rag.answer.confidence import FEATURES, Calibration
from rag.evaluation.calibrate import (
    CALIBRATED_FEATURES,
    Example,
    calibrate,
    choose_threshold,
    fit_logistic,
    most_truthful,
    operating_points,
    provenance,
    signal_names,
)
from rag.evaluation.runs import prompt_digest
from rag.models.registry import LLMS


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
    model, points = calibrate(_fixture(), "fixture", target=0.9, objective="precision")
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
    assert shipped.features == CALIBRATED_FEATURES and 0.0 <= shipped.threshold <= 1.0
    path = tmp_path / "calibration.json"
    path.write_text(shipped.to_json())
    assert Calibration.load(path) == shipped


def test_the_default_threshold_is_the_most_truthful_on_held_out_folds():
    model, points = calibrate(_fixture(), "fixture")
    chosen = next(p for p in points if p["threshold"] == model.threshold)
    assert chosen["truthfulness"] == max(p["truthfulness"] for p in points)
    everything = points[0]  # threshold 0: every answer shown
    assert everything["coverage"] == 1.0 and chosen["truthfulness"] > everything["truthfulness"]
    assert "highest truthfulness" in model.fitted_on and "5 held-out folds" in model.fitted_on
    precision_model, _ = calibrate(_fixture(), "fixture", objective="precision")
    assert precision_model.threshold != model.threshold  # the former rule stays available, and differs here
    with pytest.raises(ValueError, match="objective"):
        calibrate(_fixture(), "fixture", objective="recall")


def test_operating_points_score_truthfulness_over_every_record():
    items = [Example((0.0,) * len(FEATURES), True, False), Example((0.0,) * len(FEATURES), False, True),
             Example((0.0,) * len(FEATURES), True, False, gated=True)]
    fixed = [{"abstained": True, "verdicts": {"should_abstain": True}}]
    points = {p["threshold"]: p for p in operating_points(items, [0.9, 0.1, 0.95], fixed)}
    # Threshold 0: the right answer and the answer to an unanswerable question shown; the gated one never is.
    assert points[0.0]["truthfulness"] == pytest.approx((2 - 1) / 4) and points[0.0]["coverage"] == 0.5
    assert points[0.9]["truthfulness"] == pytest.approx(3 / 4) and points[0.9]["accuracy"] == 1.0
    assert points[0.1]["truthfulness"] == points[0.0]["truthfulness"]  # withheld only *below* the threshold
    assert points[0.95]["truthfulness"] == pytest.approx(2 / 4) and points[0.95]["coverage"] == 0.0
    assert most_truthful(list(points.values())) == 0.9
    curve = [{"threshold": 0.0, "truthfulness": 0.1, "answered_right": 1.0},
             {"threshold": 0.5, "truthfulness": 0.3, "answered_right": 0.92},
             {"threshold": 0.8, "truthfulness": 0.4, "answered_right": 0.6}]  # declines 40% of the right answers
    assert most_truthful(curve) == 0.8 and most_truthful(curve, keep_right=0.9) == 0.5


def test_the_truthfulness_objective_keeps_nine_in_ten_right_answers_by_default():
    model, points = calibrate(_fixture(), "fixture")
    chosen = next(p for p in points if p["threshold"] == model.threshold)
    assert chosen["answered_right"] >= 0.9 and "keeping at least 90% of the right answers" in model.fitted_on
    free, _ = calibrate(_fixture(), "fixture", keep_right=0.0)
    assert "keeping" not in free.fitted_on


def test_the_file_records_the_model_and_prompts_it_was_fitted_for(tmp_path):
    model, _ = calibrate(_fixture(), "fixture", model="qwen2.5-coder-1.5b", prompts="sha256:abc")
    assert (model.model, model.prompts) == ("qwen2.5-coder-1.5b", "sha256:abc")
    path = tmp_path / "calibration.json"
    path.write_text(model.to_json())
    assert Calibration.load(path) == model
    shipped = Calibration.load()  # it belongs to the default model and the prompts shipped with it
    assert (shipped.model, shipped.prompts) == ("qwen2.5-coder-1.5b", prompt_digest())
    assert shipped.model_sha256 == LLMS["qwen2.5-coder-1.5b"].sha256


def test_provenance_names_the_model_and_prompts_and_what_is_doubtful():
    def run(model, prompts=None):
        return {"configurations": [{"model": model}], "meta": {"prompts": prompts} if prompts else {}}

    assert provenance([("a", run("m", "sha256:1")), ("b", run("m", "sha256:1"))], "sha256:now") == \
        ("m", "sha256:1", [])
    model, prompts, doubts = provenance([("a", run("m", "sha256:1")), ("b", run("n"))], "sha256:now")
    assert (model, prompts) == ("m, n", "sha256:1, sha256:now")
    assert any("b did not record their prompts" in d for d in doubts)
    assert any("different models" in d for d in doubts) and any("different prompts" in d for d in doubts)


def test_cli_calibrate_writes_the_file_and_the_report(tmp_path):
    from click.testing import CliRunner

    from rag.cli import main

    records = _fixture()
    for name, part in (("run-a", records[:100]), ("run-b", records[100:])):
        (tmp_path / name).mkdir()
        results = {"configurations": [{"name": "default", "model": "smollm2-135m", "records": part}],
                   "meta": {"benchmark": "gold", "prompts": "sha256:0123456789abcdef"}}
        (tmp_path / name / "results.json").write_text(json.dumps(results))
    out, report = tmp_path / "calibration.json", tmp_path / "report"
    args = ["eval", "calibrate", str(tmp_path / "run-a"), str(tmp_path / "run-b"), "--out", str(out), "--report",
            str(report)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "(held out): truthfulness" in result.output and "Warning" not in result.output
    saved = json.loads(out.read_text())
    assert saved["model"] == "smollm2-135m" and saved["prompts"] == "sha256:0123456789abcdef"
    assert "run-a, run-b" in saved["fitted_on"] and "truthfulness" in saved["fitted_on"]
    text = (report / "calibration.md").read_text()
    assert "(chosen)" in text and "For model smollm2-135m, prompts sha256:0123456789abcdef." in text
    for plot in ("risk_coverage.png", "pr_curve.png"):
        assert (report / plot).read_bytes()[:4] == b"\x89PNG" and f"]({plot})" in text

    again = CliRunner().invoke(main, [*args, "--objective", "precision", "--target", "0.9"], catch_exceptions=False)
    assert again.exit_code == 0 and "abstention precision >= 0.9" in json.loads(out.read_text())["fitted_on"]


def test_the_signals_fitted_on_are_the_retrieval_scores_unless_named():
    assert signal_names(None) == CALIBRATED_FEATURES and set(CALIBRATED_FEATURES) <= set(FEATURES)
    assert signal_names("all") == FEATURES
    assert signal_names("quote_overlap, answer_logprob,quote_overlap") == ("quote_overlap", "answer_logprob")
    with pytest.raises(ValueError, match="unknown signals confidence"):
        signal_names("quote_overlap,confidence")
    model, _ = calibrate(_fixture(), "fixture", features=("quote_overlap",))
    assert model.features == ("quote_overlap",) and len(model.weights) == 1 and model.weights[0] > 0
