"""Truthfulness on fixture records: the arithmetic, the risk–coverage curve, the best threshold, the reports."""

from __future__ import annotations

import pytest

from rag.answer.confidence import Calibration
from rag.evaluation import truthfulness
from rag.evaluation.report import render_report, render_results_md
from rag.evaluation.risk_coverage import at_coverage, newest_and_oldest, risk_coverage_table, write_risk_coverage_plot
from rag.evaluation.runner import run_eval
from rag.evaluation.truthfulness import Tally, candidates, curve, outcome, run_threshold, summary, tally
from tests.shared import ScriptedAssistant, q


def rec(should: bool, abstained: bool, correct: bool = False, confidence: float | None = None,
        refused: str | None = None, refused_correct: bool | None = None, error: str | None = None,
        signals: dict | None = None) -> dict:
    """A results.json record with only what truthfulness reads."""
    verdicts = {"should_abstain": should, "correct": abstained if should else correct}
    if refused is not None:
        verdicts["refused_correct"] = bool(refused_correct)
    return {"kind": "unanswerable" if should else "single", "abstained": abstained, "refused": refused,
            "confidence": confidence, "signals": signals or {}, "error": error, "verdicts": verdicts}


# As run with threshold 0.3: four answers shown, two withheld, one declined by the model, one failed.
RECORDS = [
    rec(False, False, True, 0.9),  # right
    rec(False, False, True, 0.6),  # right
    rec(False, False, False, 0.4),  # wrong
    rec(True, False, confidence=0.5),  # an answer to an unanswerable question: wrong
    rec(True, True),  # the model declined an unanswerable question: right, and no threshold changes it
    rec(False, True, confidence=0.1, refused="Kirby [1].", refused_correct=True),  # withheld; right if shown
    rec(True, True, confidence=0.2, refused="Paris [1]."),  # withheld, rightly: an answer would be wrong
    rec(False, False, error="ModelError: prompt too long"),  # failed: 0, not answered
]


def test_each_question_is_right_declined_wrong_or_failed():
    assert [outcome(r) for r in RECORDS] == ["right", "right", "wrong", "wrong", "right", "declined", "right",
                                             "failed"]
    t = tally(RECORDS)
    assert (t.n, t.right, t.declined, t.answered_wrong, t.failed, t.answered) == (8, 4, 1, 2, 1, 4)
    assert t.truthfulness == pytest.approx((4 - 2) / 8)
    assert t.coverage == pytest.approx(4 / 8)
    assert t.accuracy == pytest.approx(2 / 4)  # the answer to the unanswerable question is a wrong answer


def test_declining_everything_scores_the_unanswerable_share_and_answering_nothing_has_no_accuracy():
    declined = [rec(False, True), rec(True, True), rec(True, True)]
    t = tally(declined)
    assert t.truthfulness == pytest.approx(2 / 3) and t.coverage == 0 and t.accuracy is None
    assert Tally().truthfulness is None and tally([]).as_dict()["outcomes"] == {
        "right": 0, "declined": 0, "wrong": 0, "failed": 0}


def test_the_curve_shows_withheld_answers_again_below_their_confidence():
    items, fixed = candidates(RECORDS)
    assert len(items) == 6 and (fixed.declined_right, fixed.failed) == (1, 1)
    points = {p["threshold"]: p for p in curve(RECORDS)}
    assert sorted(points) == [0.0, 0.1, 0.2, 0.4, 0.5, 0.6, 0.9, truthfulness.ABOVE_ALL]
    expected = {  # threshold: (truthfulness, coverage, accuracy of the answered)
        0.0: (1 / 8, 6 / 8, 3 / 6),  # everything shown: the withheld right answer and the wrong one too
        0.2: (0 / 8, 5 / 8, 2 / 5),
        0.4: (2 / 8, 4 / 8, 2 / 4),  # what was run (threshold 0.3)
        0.5: (3 / 8, 3 / 8, 2 / 3),
        0.6: (5 / 8, 2 / 8, 1.0),
        0.9: (4 / 8, 1 / 8, 1.0),
        truthfulness.ABOVE_ALL: (3 / 8, 0.0, None),  # nothing shown: only the declines of unanswerables count
    }
    for threshold, (truth, coverage, accuracy) in expected.items():
        p = points[threshold]
        assert (p["truthfulness"], p["coverage"]) == (pytest.approx(truth), pytest.approx(coverage)), threshold
        assert p["accuracy"] == (None if accuracy is None else pytest.approx(accuracy)), threshold
    assert points[0.1]["truthfulness"] == points[0.0]["truthfulness"]  # "abstain below 0.1" keeps 0.1


def test_the_best_threshold_maximises_truthfulness_and_prefers_more_answers_on_ties():
    best = truthfulness.best(curve(RECORDS))
    assert best["threshold"] == 0.6 and best["truthfulness"] == pytest.approx(5 / 8)
    tied = [{"threshold": 0.2, "truthfulness": 0.5}, {"threshold": 0.7, "truthfulness": 0.5},
            {"threshold": 0.9, "truthfulness": 0.1}, {"threshold": 0.5, "truthfulness": None}]
    assert truthfulness.best(tied)["threshold"] == 0.2
    assert truthfulness.best([]) is None


def test_the_best_threshold_can_be_held_to_keep_most_right_answers():
    curve_points = [{"threshold": 0.0, "truthfulness": 0.2, "shown_right": 50},
                    {"threshold": 0.4, "truthfulness": 0.3, "shown_right": 46},
                    {"threshold": 0.7, "truthfulness": 0.4, "shown_right": 30}]  # declines 40% of the right
    assert truthfulness.best(curve_points)["threshold"] == 0.7
    assert truthfulness.best(curve_points, keep_right=0.9)["threshold"] == 0.4
    assert truthfulness.point([], truthfulness.Tally(answered_right=2), 0.5)["shown_right"] == 2


def test_the_threshold_as_run_is_kept_only_when_it_explains_what_was_shown():
    items, _ = candidates(RECORDS)
    assert run_threshold(items, 0.3) == 0.3
    assert run_threshold(items, 0.45) is None  # the 0.4 answer was shown
    assert run_threshold(items, None) is None
    scored = summary({"records": RECORDS, "threshold": 0.3})
    assert scored["threshold"] == 0.3 and scored["best"]["threshold"] == 0.6 and scored["scored"] == 6


def test_a_date_gated_answer_and_a_model_decline_are_not_on_the_curve():
    gated = rec(False, True, confidence=0.95, refused="On 3 May [1].", refused_correct=True,
                signals={"unsupported_dates": 1.0})
    items, fixed = candidates([gated, rec(False, True)])
    assert items == [] and fixed.declined == 2
    assert [p["truthfulness"] for p in curve([gated])] == [0.0, 0.0]


def test_a_calibration_file_recomputes_the_confidence_from_the_signals():
    calibration = Calibration(("x",), (0.0,), (1.0,), (1.0,), 0.0, 0.5)
    records = [rec(False, False, True, 0.1, signals={"x": 3.0}), rec(False, False, False, 0.9, signals={"x": -3.0})]
    recorded = truthfulness.best(curve(records))
    recomputed = truthfulness.best(curve(records, calibration))
    assert recorded["truthfulness"] == pytest.approx(0.0)  # the recorded order is backwards: nothing helps
    assert recomputed["truthfulness"] == pytest.approx(0.5) and recomputed["coverage"] == pytest.approx(0.5)
    assert summary({"records": records, "threshold": 0.5}, calibration)["threshold"] is None


def test_aggregate_and_the_reports_put_truthfulness_first():
    questions = [q("a", "Who spoke?", [["Kirby"]]), q("b", "pilots?", [], "unanswerable", ()),
                 q("c", "Who else spoke?", [["Smith"]])]
    results = run_eval(questions, ScriptedAssistant())
    m = results["configurations"][0]["metrics"]
    assert m["truthfulness"] == pytest.approx(1 / 3) and m["coverage"] == pytest.approx(2 / 3)
    assert m["answered_accuracy"] == 0.5 and m["outcomes"] == {"right": 2, "declined": 0, "wrong": 1, "failed": 0}
    assert m["best_threshold"] is None  # the scripted assistant scores no confidence
    results["meta"] = {"benchmark": "gold"}
    report = render_report(results)
    assert report.index("## Summary") < report.index("## Targets") < report.index("## Overall")
    assert "| default | 0.333 | 0.667 | 0.500 | 2 / 0 / 1 | 3 | – | – |" in report
    summary_md = render_results_md([("run", results)])
    assert "| run | benchmark | configuration | model | n | truthfulness | coverage | acc. answered | accuracy |" \
        in summary_md
    assert "| run | gold | default | scripted | 3 | 0.333 | 0.667 | 0.500 | 0.500 |" in summary_md
    assert summary_md.index("### Truthfulness") < summary_md.index("### Targets")
    assert "## Risk–coverage" not in summary_md  # no confidence recorded: no curve to read
    for record, confidence in zip(results["configurations"][0]["records"], (0.9, 0.6, 0.3)):
        record["confidence"] = confidence
    curves_md = render_results_md([("run", results)], plot="results_risk_coverage.png")
    assert curves_md.index("## Summary") < curves_md.index("## Risk–coverage") < curves_md.index("## run")
    assert "| run | gold | default | 0.67: 0.50 / +0.33 |" in curves_md
    assert "![risk–coverage](results_risk_coverage.png)" in curves_md


def test_the_curve_read_at_a_coverage_raises_the_threshold_until_at_most_that_share_is_answered():
    points = curve(RECORDS)  # coverages 6/8, 6/8, 5/8, 4/8, 3/8, 2/8, 1/8, 0 as the threshold rises
    assert at_coverage(points, 0.7)["threshold"] == 0.2  # 5/8 answered
    assert at_coverage(points, 0.75)["threshold"] == 0.0  # every answer shown already answers 6/8
    assert at_coverage(points, 0.5)["threshold"] == 0.4
    assert at_coverage([{"threshold": 0.0, "coverage": 0.9}], 0.5) is None


def test_results_md_shows_each_runs_curve_and_links_its_plot(tmp_path):
    results = {"meta": {"benchmark": "gold"}, "configurations": [
        {"name": "default", "records": RECORDS, "threshold": 0.3, "metrics": {}}]}
    table = risk_coverage_table([("run", results)])
    # all shown: 6/8 answered, 3 right; as run: 4/8 answered, truthfulness 2/8; at most 60%: threshold 0.4 (4/8).
    assert "| run | gold | default | 0.75: 0.50 / +0.12 | 0.50: 0.50 / +0.25 |" in table
    assert "| ≤ 90% | ≤ 80% | ≤ 70% | ≤ 60% | ≤ 50% |" in table
    assert table.rstrip().endswith("| 0.62: 0.40 / +0.00 | 0.50: 0.50 / +0.25 | 0.50: 0.50 / +0.25 |")
    no_confidence = {"meta": {}, "configurations": [{"name": "default", "records": [rec(False, False, True)]}]}
    assert risk_coverage_table([("scripted", no_confidence)]) == ""
    plot = tmp_path / "curves.png"
    assert write_risk_coverage_plot([("run", results), ("scripted", no_confidence)], plot)
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert not write_risk_coverage_plot([("scripted", no_confidence)], tmp_path / "none.png")


def test_the_plot_draws_each_benchmarks_newest_and_oldest_run_of_each_model():
    runs = [(name, {"meta": {"benchmark": bench}, "configurations": [{"model": model}]}) for name, bench, model in
            [("rtqa-new", "realtimeqa", "big"), ("rtqa-small", "realtimeqa", "small"), ("seeds-new", "gold", "big"),
             ("rtqa-mid", "realtimeqa", "big"), ("rtqa-old", "realtimeqa", "big")]]
    assert [name for name, _ in newest_and_oldest(runs)] == ["rtqa-new", "rtqa-old", "rtqa-small", "seeds-new"]
