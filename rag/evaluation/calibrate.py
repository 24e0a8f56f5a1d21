"""Fit the abstention model: a logistic regression over answer signals, its threshold chosen on held-out folds.

Each answered record of an evaluation run (seeds gold, RealTimeQA, negative rejection) is one example: its
signals (rag.answer.confidence.FEATURES) and whether the answer was right (a wrong answer and any answer to a question
that should be abstained on are 0). Weights come from all examples; the threshold from out-of-fold probabilities,
so no question judges the weights it trained: by default the one of the highest truthfulness over all the runs'
questions (truthfulness.py), or (objective "precision", the former rule) the most abstention recall at a target
abstention precision.

The folds hold whole groups of records (`fold_group`), so that near twins are never on both sides: by default
("week") the same question from several runs (a RealTimeQA question in `realtimeqa`, `rejection` and each part of
`crossed`; a gold question in the gold run and in `crossed`) and every RealTimeQA question of the same week (the
same news) share a group; "question" groups only the same question, "example" none (each answer on its own).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.answer.confidence import FEATURES, Calibration, gated
from rag.evaluation import truthfulness
from rag.evaluation.truthfulness import Candidate

TARGET_PRECISION = 0.9
KEEP_RIGHT = 0.95  # when the precision target is out of reach: lose at most 5% of the right answers
# The truthfulness objective's floor: decline at most 10% of the questions answered right (issue 19). Without it
# the most truthful threshold on the negatives-rich runs declines a third of the right answers.
KEEP_RIGHT_TRUTHFUL = 0.9
OBJECTIVES = ("truthfulness", "precision")
# The signals `rag eval calibrate` fits by default: how well retrieval matched the question. Fitted on all 16, the
# logistic model learns the answers it was fitted on; held out (thresholds out of fold too, three sets of the
# four benchmarks' answers: 2026-11-26, repacked with drafted quotes, not repacked) these four alone gave 0.515,
# 0.526 and 0.515 truthfulness against 0.430, 0.459 and 0.381 with all 16, never worse on a dev set and far
# better on the negatives (eval/NOTES.md). They do not depend on the model, nor on how its kernels round.
CALIBRATED_FEATURES = ("dense_top", "top_sentence", "keyword_top", "keyword_gap")
FOLDS = 5
FOLDS_BY = ("week", "question", "example")
_RTQA_ID = re.compile(r"^(\d{8})_\d+$")  # RealTimeQA's question ids: the week, then the question's number


@dataclass(frozen=True)
class Example:
    """One answer the model gave: its signals, whether it was right, whether it should have been an abstention."""

    values: tuple[float, ...]
    right: bool
    should_abstain: bool
    gated: bool = False  # withheld whatever its confidence (rag.answer.confidence.gated)
    group: str | None = None  # records of one group share a fold (None: a group of its own)


def fold_group(record: dict[str, Any], by: str = "week") -> str | None:
    """The group of a record for the folds (None: its own). A record's question is its id without the part a
    benchmark appends after "@" (`rag eval crossed`: "20220617_3@other-weeks"); with "week", a RealTimeQA
    question ("YYYYMMDD_n") is grouped by its week, any other by its question."""
    if by not in FOLDS_BY:
        raise ValueError(f"folds are grouped by one of {', '.join(FOLDS_BY)}, not {by!r}")
    question = str(record.get("id") or "").split("@")[0]
    if by == "example" or not question:
        return None
    if by == "week" and (match := _RTQA_ID.match(question)):
        return f"week {match[1]}"
    return question


def examples(records: list[dict[str, Any]], folds_by: str = "week", features: tuple[str, ...] = FEATURES
             ) -> tuple[list[Example], list[dict[str, Any]]]:
    """The records the confidence could change (answered, with signals), and the rest (abstained before scoring);
    each example in its fold group (fold_group), its values those of `features` (trials add a signal here)."""
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
        scored.append(Example(tuple(_value(signals.get(f, 0.0)) for f in features), right, should,
                              gated(signals), fold_group(r, folds_by)))
    return scored, fixed


def _value(value: Any) -> float:
    """A recorded signal; a missing one (None: the model gave no log-probabilities) is NaN until train() fills
    it with its column's mean."""
    return float("nan") if value is None else float(value)


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


def train(items: list[Example], l2: float = 1.0, features: tuple[str, ...] = FEATURES) -> Calibration:
    """A Calibration (threshold 0.5, to be replaced) fitted on `items`, whose values are those of `features`."""
    x = np.array([e.values for e in items], dtype=float)
    y = np.array([e.right for e in items], dtype=float)
    known = ~np.isnan(x)
    counts = np.maximum(known.sum(axis=0), 1)
    means = np.where(known, x, 0.0).sum(axis=0) / counts
    x = np.where(known, x, means)  # a missing signal is its mean: it says nothing either way
    scales = x.std(axis=0)
    scales[scales == 0] = 1.0
    weights, bias = fit_logistic((x - means) / scales, y, l2)
    return Calibration(features, tuple(means), tuple(scales), tuple(weights), bias, 0.5)


def assign_folds(items: list[Example], folds: int = 5, seed: int = 13) -> list[int]:
    """Each example's fold: the groups in a seeded random order, largest first, each to the fold with the fewest
    examples so far. Examples in groups of their own are dealt round-robin in a random order, as before groups."""
    groups: dict[Any, list[int]] = {}
    for i, item in enumerate(items):
        groups.setdefault(item.group if item.group is not None else ("own", i), []).append(i)
    members = list(groups.values())
    if len(members) < 2:  # one group cannot be held out from itself
        members = [[i] for i in range(len(items))]
    random.Random(seed).shuffle(members)
    members.sort(key=len, reverse=True)  # stable: equal sizes keep the random order
    sizes, fold_of = [0] * folds, [0] * len(items)
    for member in members:
        fold = min(range(folds), key=lambda f: sizes[f])
        for i in member:
            fold_of[i] = fold
        sizes[fold] += len(member)
    return fold_of


def out_of_fold(items: list[Example], folds: int = 5, seed: int = 13, l2: float = 1.0,
                features: tuple[str, ...] = FEATURES) -> list[float]:
    """Each example's probability from a model that did not see it, nor any example of its group."""
    fold_of = assign_folds(items, folds, seed)
    probabilities = [0.0] * len(items)
    for fold in range(folds):
        held = {i for i, f in enumerate(fold_of) if f == fold}
        if not held:
            continue
        model = train([e for i, e in enumerate(items) if i not in held], l2, features)
        for i in held:
            probabilities[i] = model.probability(dict(zip(features, items[i].values)))
    return probabilities


def operating_points(items: list[Example], probabilities: list[float], fixed: list[dict]) -> list[dict]:
    """For each candidate threshold (abstain when p < t), over all records: abstention precision and recall, the
    share of the right answers kept, and truthfulness, coverage and accuracy of the answered."""
    fixed_abstained = [bool(r["abstained"]) for r in fixed]
    fixed_should = [bool(r["verdicts"]["should_abstain"]) for r in fixed]
    should_total = sum(fixed_should) + sum(e.should_abstain for e in items)
    right_total = sum(e.right for e in items)
    # A gated answer never reaches a threshold: -1 keeps it withheld at every one.
    candidates = [Candidate(-1.0 if e.gated else p, e.right, e.should_abstain) for e, p in zip(items, probabilities)]
    fixed_tally = truthfulness.tally(fixed)
    points = []
    for t in sorted({0.0, *probabilities, truthfulness.ABOVE_ALL}):
        abstain = [c.confidence < t for c in candidates]
        hits = sum(a and s for a, s in zip(fixed_abstained, fixed_should)) + \
            sum(a and e.should_abstain for a, e in zip(abstain, items))
        total = sum(fixed_abstained) + sum(abstain)
        kept_right = sum(e.right and not a for a, e in zip(abstain, items))
        scores = truthfulness.point(candidates, fixed_tally, t)
        points.append({"threshold": t, "precision": hits / total if total else None,
                       "recall": hits / should_total if should_total else None,
                       "answered_right": kept_right / right_total if right_total else None,
                       **{key: scores[key] for key in ("truthfulness", "coverage", "accuracy")}})
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


def most_truthful(points: list[dict], keep_right: float = 0.0) -> float:
    """The threshold of the highest truthfulness; of equals, the lowest (the most answers shown); with
    `keep_right`, among those that keep at least that share of the right answers."""
    kept = [p for p in points if p["answered_right"] is None or p["answered_right"] >= keep_right]
    top = truthfulness.best(kept or points)
    return top["threshold"] if top else 0.0


def signal_names(given: str | None) -> tuple[str, ...]:
    """The --features setting as signal names: None the default set, "all" every signal, else a comma list."""
    if not given:
        return CALIBRATED_FEATURES
    if given.strip() == "all":
        return FEATURES
    names = tuple(dict.fromkeys(n.strip() for n in given.split(",") if n.strip()))
    unknown = [n for n in names if n not in FEATURES]
    if unknown or not names:
        raise ValueError(f"unknown signals {', '.join(unknown) or '(none given)'}; known: {', '.join(FEATURES)}")
    return names


def calibrate(records: list[dict[str, Any]], sources: str, target: float = TARGET_PRECISION, l2: float = 1.0,
              objective: str = "truthfulness", model: str = "", prompts: str = "", model_sha256: str = "",
              folds_by: str = "week", keep_right: float = KEEP_RIGHT_TRUTHFUL,
              features: tuple[str, ...] = FEATURES) -> tuple[Calibration, list[dict]]:
    """The fitted Calibration with its held-out threshold, and the operating points (for the plot).

    `model` and `prompts` (the LLM and the prompt digest the records' answers came from) go into the file, so a
    calibration is not mistaken for one that fits another model or other prompts.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    items, fixed = examples(records, folds_by, features)
    if len({e.right for e in items}) < 2:
        raise ValueError("calibration needs both right and wrong answers among the records")
    probabilities = out_of_fold(items, folds=FOLDS, l2=l2, features=features)
    points = operating_points(items, probabilities, fixed)
    if objective == "truthfulness":
        threshold = most_truthful(points, keep_right)
        rule = "the highest truthfulness (right − wrong over all questions)" + (
            f" keeping at least {keep_right:.0%} of the right answers" if keep_right else "")
    else:
        threshold = choose_threshold(points, target)
        rule = (f"abstention precision >= {target} if reachable, else the most abstention recall keeping "
                f"{KEEP_RIGHT:.0%} of the right answers")
    fitted = train(items, l2, features)
    return Calibration(fitted.features, fitted.means, fitted.scales, fitted.weights, fitted.bias, threshold,
                       f"{len(items)} answers from {sources}; threshold on {FOLDS} held-out folds (grouped by "
                       f"{folds_by}): {rule}",
                       model, prompts, model_sha256), points


def run_identity(runs: list[tuple[str, dict[str, Any]]]):
    """The identity (rag.models.identity) of the model the first run answered with: as recorded, else its name
    (and the registry's digest for a registry model)."""
    from rag.models.identity import ModelIdentity
    from rag.models.registry import LLMS

    first = runs[0][1]["configurations"][0]
    recorded = first.get("model_identity") or {}
    name = str(recorded.get("name") or first.get("model") or "")
    return ModelIdentity(name, str(recorded.get("sha256") or getattr(LLMS.get(name), "sha256", "")))


def provenance(runs: list[tuple[str, dict[str, Any]]], current_prompts: str) -> tuple[str, str, list[str]]:
    """The model and the prompt digest the runs' answers came from (their first configurations), and what is
    doubtful about them: several models or prompt versions, or runs from before runs recorded their prompts."""
    models = dict.fromkeys(str(results["configurations"][0].get("model") or "") for _, results in runs)
    digests = {name: results.get("meta", {}).get("prompts") for name, results in runs}
    prompts = dict.fromkeys(digest or current_prompts for digest in digests.values())
    doubts = []
    if unrecorded := [name for name, digest in digests.items() if not digest]:
        doubts.append(f"{', '.join(unrecorded)} did not record their prompts: taken to be the current ones "
                      f"({current_prompts})")
    if len(models) > 1:
        doubts.append(f"the runs answered with different models ({', '.join(models)})")
    if len(prompts) > 1:
        doubts.append(f"the runs used different prompts ({', '.join(prompts)})")
    return ", ".join(m for m in models if m), ", ".join(prompts), doubts
