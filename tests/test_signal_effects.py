"""The signals' held-out effects: a signal that tells right from wrong is kept, one that is noise is not."""

import random

from rag.answer.confidence import FEATURES
from rag.evaluation.calibrate import Example
from rag.evaluation.signal_effects import (
    effects_report,
    held_out_outcomes,
    nested_truthfulness,
    outcomes_by_run,
    render_by_run,
    render_trial,
    signal_effects,
    without,
)
from rag.evaluation.truthfulness import Tally


def _examples(n: int = 120) -> list[Example]:
    rng = random.Random(5)
    items = []
    for i in range(n):
        right = i % 3 != 0  # a third wrong
        telling = (1.0 if right else 0.0) + rng.gauss(0, 0.2)
        items.append(Example((telling, rng.random()), right, should_abstain=False, group=f"q{i % 40}"))
    return items


def test_a_telling_signal_is_kept_and_noise_is_not():
    effects = {e.signal: e for e in signal_effects(_examples(), Tally(), ("telling", "noise"))}
    assert effects[""].truthfulness > 0.6  # wrong answers withheld: right - wrong close to the right share
    assert effects["telling"].kept and effects["telling"].change > 0.2
    assert not effects["noise"].kept


def test_a_missing_signal_says_nothing():
    items = _examples()
    blind = without(without(items, 0), 1)
    # Nothing tells right from wrong: every answer shown is the most truthful, (80 - 40) / 120.
    assert abs(nested_truthfulness(blind, Tally()) - 40 / 120) < 1e-9


def test_records_that_no_threshold_changes_count_in_the_total():
    items = _examples()
    declined_before = Tally(declined_right=30)  # unanswerable questions declined before any scoring
    assert nested_truthfulness(items, declined_before) > nested_truthfulness(items, Tally())


def test_each_example_has_one_held_out_outcome_and_they_add_up():
    items = _examples()
    outcomes = held_out_outcomes(items)
    assert len(outcomes) == len(items) and all(o.n == 1 for o in outcomes)
    total = Tally()
    for outcome in outcomes:
        total = total.plus(outcome)
    assert abs(total.truthfulness - nested_truthfulness(items, Tally())) < 1e-12
    # Per group of examples (as eval/trial_decline.py splits them per run): a wrong answer is never right.
    assert all(o.answered_right == 0 for o, e in zip(outcomes, items) if not e.right)


def _records(n: int = 60) -> list[dict]:
    from rag.evaluation.calibrate import FEATURES

    records = []
    for i in range(n):
        right = i % 2 == 0
        signals = {f: float(i % 7) for f in FEATURES} | {"answer_support": 1.0 if right else 0.0,
                                                               "unsupported_dates": 0.0}  # none gated
        records.append({"id": f"q{i}", "abstained": False, "error": None, "signals": signals,
                        "verdicts": {"correct": right, "should_abstain": False}})
    return records


def test_the_report_of_recorded_runs_names_every_signal():
    from rag.evaluation.calibrate import FEATURES

    report = effects_report(_records(), folds_by="question")
    assert all(f"| {f} |" in report for f in FEATURES)
    assert "| answer_support |" in report.split("\n")[4]  # the largest help first


def test_a_trial_signal_is_judged_per_run_with_the_features_it_is_given():
    records, runs = _records(), ["first"] * 30 + ["second"] * 30
    for i, record in enumerate(records):
        record["signals"]["trial"] = 1.0 if i % 2 == 0 else 0.0  # tells right (even) from wrong
    base = ("quotes",)  # uninformative: i % 7
    blind, told = outcomes_by_run(records, runs, base), outcomes_by_run(records, runs, base + ("trial",))
    assert [t.n for t in told.values()] == [30, 30]
    assert all(told[run].truthfulness > blind[run].truthfulness for run in ("first", "second"))
    assert all(t.answered_wrong == 0 for t in told.values())  # every wrong answer withheld
    line = render_by_run("with", told)
    assert line.startswith("with: held-out truthfulness ") and " over 60; first " in line and "wrong 0); second " in line


def test_a_trials_verdict_is_a_line_without_its_signals_then_one_for_each_addition():
    records, runs = _records(), ["first"] * 30 + ["second"] * 30
    for i, record in enumerate(records):
        record["signals"]["trial"] = 1.0 if i % 2 == 0 else 0.0
        record["signals"]["other"] = 0.0
    lines = render_trial(records, runs, [("trial",), ("trial", "other")]).split("\n")
    assert [line.split(":", 1)[0] for line in lines] == ["without", "with trial", "with trial + other"]
    assert lines[1] == render_by_run("with trial", outcomes_by_run(records, runs, FEATURES + ("trial",)))
