"""Fit the abstention model: a logistic regression over answer signals, its threshold chosen on held-out folds.

Each answered record of an evaluation run (seeds gold, RealTimeQA, negative rejection) is one example: its
signals (rag.answer.confidence.FEATURES) and whether the answer was right (a wrong answer and any answer to a question
that should be abstained on are 0). Weights come from all examples; the threshold from out-of-fold probabilities,
so no question judges the weights it trained.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.answer.confidence import FEATURES, Calibration

TARGET_PRECISION = 0.9
KEEP_RIGHT = 0.95  # when the precision target is out of reach: lose at most 5% of the right answers


@dataclass(frozen=True)
class Example:
    """One answer the model gave: its signals, whether it was right, whether it should have been an abstention."""

    values: tuple[float, ...]
    right: bool
    should_abstain: bool


def examples(records: list[dict[str, Any]]) -> tuple[list[Example], list[dict[str, Any]]]:
    """The records the confidence could change (answered, with signals), and the rest (abstained before scoring)."""
    scored, fixed = [], []
    for r in records:
        signals = r.get("signals") or {}
        if not signals or r.get("error"):
            fixed.append(r)
            continue
        should = bool(r["verdicts"]["should_abstain"])
        # An answer the confidence already withheld is judged on its own words, not on the abstention.
        correct = r["verdicts"]["refused_correct"] if "refused_correct" in r["verdicts"] else r["verdicts"]["correct"]
        right = (not should) and bool(correct)
        scored.append(Example(tuple(float(signals.get(f, 0.0)) for f in FEATURES), right, should))
    return scored, fixed


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 50) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2-regularised logistic regression, by Newton's method (x standardised)."""
    n, d = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    beta = np.zeros(d + 1)
    penalty = np.diag([l2] * d + [0.0])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(design @ beta, -30, 30)))
        gradient = design.T @ (p - y) + penalty @ beta
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[:-1], float(beta[-1])


def train(items: list[Example], l2: float = 1.0) -> Calibration:
    """A Calibration (threshold 0.5, to be replaced) fitted on `items`."""
    x = np.array([e.values for e in items], dtype=float)
    y = np.array([e.right for e in items], dtype=float)
    means, scales = x.mean(axis=0), x.std(axis=0)
    scales[scales == 0] = 1.0
    weights, bias = fit_logistic((x - means) / scales, y, l2)
    return Calibration(FEATURES, tuple(means), tuple(scales), tuple(weights), bias, 0.5)


def out_of_fold(items: list[Example], folds: int = 5, seed: int = 13, l2: float = 1.0) -> list[float]:
    """Each example's probability from a model that did not see it."""
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    probabilities = [0.0] * len(items)
    for fold in range(folds):
        held = set(order[fold::folds])
        model = train([e for i, e in enumerate(items) if i not in held], l2)
        for i in held:
            probabilities[i] = model.probability(dict(zip(FEATURES, items[i].values)))
    return probabilities


def operating_points(items: list[Example], probabilities: list[float], fixed: list[dict]) -> list[dict]:
    """Abstention precision and recall over all records for each candidate threshold (abstain when p < t)."""
    fixed_abstained = [bool(r["abstained"]) for r in fixed]
    fixed_should = [bool(r["verdicts"]["should_abstain"]) for r in fixed]
    should_total = sum(fixed_should) + sum(e.should_abstain for e in items)
    right_total = sum(e.right for e in items)
    points = []
    for t in sorted({0.0, *probabilities, 1.01}):
        abstain = [p < t for p in probabilities]
        hits = sum(a and s for a, s in zip(fixed_abstained, fixed_should)) + \
            sum(a and e.should_abstain for a, e in zip(abstain, items))
        total = sum(fixed_abstained) + sum(abstain)
        kept_right = sum(e.right and not a for a, e in zip(abstain, items))
        points.append({"threshold": t, "precision": hits / total if total else None,
                       "recall": hits / should_total if should_total else None,
                       "answered_right": kept_right / right_total if right_total else None})
    return points


def choose_threshold(points: list[dict], target: float = TARGET_PRECISION, keep_right: float = KEEP_RIGHT) -> float:
    """The threshold with the highest abstention recall whose precision meets the target.

    When no threshold reaches it (wrong answers to answerable questions look like answers to unanswerable
    ones, and abstaining on them counts against precision although silence beats a wrong answer), the
    highest recall that still keeps `keep_right` of the right answers; failing that, the most precise.
    """
    meeting = [p for p in points if p["precision"] is not None and p["precision"] >= target and p["recall"]]
    if meeting:
        return max(meeting, key=lambda p: (p["recall"], -p["threshold"]))["threshold"]
    keeping = [p for p in points if p["recall"] and (p["answered_right"] or 0) >= keep_right]
    if keeping:
        return max(keeping, key=lambda p: (p["recall"], -p["threshold"]))["threshold"]
    usable = [p for p in points if p["precision"] is not None]
    return max(usable, key=lambda p: (p["precision"], -p["threshold"]))["threshold"] if usable else 0.0


def calibrate(records: list[dict[str, Any]], sources: str, target: float = TARGET_PRECISION,
              l2: float = 1.0) -> tuple[Calibration, list[dict]]:
    """The fitted Calibration with its held-out threshold, and the operating points (for the plot)."""
    items, fixed = examples(records)
    if len({e.right for e in items}) < 2:
        raise ValueError("calibration needs both right and wrong answers among the records")
    probabilities = out_of_fold(items, l2=l2)
    points = operating_points(items, probabilities, fixed)
    threshold = choose_threshold(points, target)
    model = train(items, l2)
    return Calibration(model.features, model.means, model.scales, model.weights, model.bias, threshold,
                       f"{len(items)} answers from {sources}; threshold on 5 held-out folds: abstention precision "
                       f">= {target} if reachable, else the most abstention recall keeping {KEEP_RIGHT:.0%} of the "
                       "right answers"), points
