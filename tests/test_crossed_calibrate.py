"""Calibration folds grouped so near twins (one question in several runs, one RealTimeQA week) never straddle them."""

from __future__ import annotations

import random

import pytest

from rag.answer.confidence import FEATURES
from rag.evaluation import calibrate as calibration
from rag.evaluation.calibrate import Example, assign_folds, calibrate, examples, fold_group, out_of_fold


def test_fold_groups_follow_the_question_and_its_week():
    assert fold_group({"id": "20220617_3"}) == "week 20220617"
    assert fold_group({"id": "20220617_3@other-weeks"}) == "week 20220617"  # rag eval crossed's ids
    assert fold_group({"id": "seeds-001@seeds-on-rtqa"}) == "seeds-001" == fold_group({"id": "seeds-001"})
    assert fold_group({"id": "20220617_3@rtqa-on-seeds"}, "question") == "20220617_3"
    assert fold_group({"id": "20220617_3"}, "example") is None and fold_group({}) is None
    with pytest.raises(ValueError, match="week, question, example"):
        fold_group({"id": "x"}, "kind")


def _items(groups: list[str | None]) -> list[Example]:
    return [Example((float(i),) * len(FEATURES), i % 2 == 0, i % 3 == 0, group=g) for i, g in enumerate(groups)]


def test_examples_of_their_own_are_dealt_as_before_groups():
    items = _items([None] * 23)
    order = list(range(23))
    random.Random(13).shuffle(order)
    expected = [0] * 23
    for fold in range(5):
        for i in order[fold::5]:
            expected[i] = fold
    assert assign_folds(items, 5, 13) == expected


def test_a_group_is_never_split_and_the_folds_stay_balanced():
    weeks = [f"week {w}" for w in range(11) for _ in range(12)]
    items = _items(weeks + [f"seeds-{i:03d}" for i in range(40) for _ in range(2)])
    folds = assign_folds(items, 5)
    for group in {i.group for i in items}:
        assert len({f for f, i in zip(folds, items) if i.group == group}) == 1
    sizes = [folds.count(f) for f in range(5)]
    assert max(sizes) - min(sizes) <= 12  # at most one week apart


def test_a_model_never_trains_on_the_group_of_an_example_it_scores(monkeypatch):
    items = _items([f"week {i % 7}" for i in range(70)] + [None] * 10)
    trained_on = []
    real_train = calibration.train

    def spy(chosen, l2=1.0, features=calibration.FEATURES):
        trained_on.append({id(e) for e in chosen})
        return real_train(chosen, l2, features)

    monkeypatch.setattr(calibration, "train", spy)
    out_of_fold(items)
    folds = assign_folds(items)
    for fold, seen in enumerate(trained_on):
        held = [e for e, f in zip(items, folds) if f == fold]
        assert held and not any(id(e) in seen for e in held)
        trained_groups = {e.group for e in items if id(e) in seen and e.group}
        assert trained_groups.isdisjoint({e.group for e in held if e.group})


def _record(qid: str, overlap: float, right: bool, should: bool) -> dict:
    signals = {f: 0.0 for f in FEATURES} | {"quote_overlap": overlap, "answer_logprob": -0.3 if right else -1.2}
    return {"id": qid, "signals": signals, "abstained": False, "error": None,
            "verdicts": {"should_abstain": should, "correct": right and not should}}


def test_calibrate_groups_the_folds_by_week_by_default_and_says_so():
    rng = random.Random(5)
    records = []
    for week in ("20220617", "20220624", "20220701", "20220708", "20220715", "20220722"):
        for n in range(8):
            right = rng.random() < 0.6
            records.append(_record(f"{week}_{n}", rng.gauss(0.9 if right else 0.6, 0.05), right, False))
            records.append(_record(f"{week}_{n}@other-weeks", rng.gauss(0.55, 0.05), False, True))
    items, _ = examples(records)
    assert {i.group for i in items} == {f"week {r['id'][:8]}" for r in records}
    model, _ = calibrate(records, "fixture")
    assert "held-out folds (grouped by week)" in model.fitted_on
    assert calibrate(records, "fixture", folds_by="example")[0].weights == model.weights  # folds change no weight
