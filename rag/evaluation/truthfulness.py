"""Truthfulness (CRAG style): each question right (+1), declined (0) or wrong (−1), and the risk–coverage curve.

A question that should be declined (kind "unanswerable", no alias groups, every rejection question) is right
when declined and wrong when answered. An answer the confidence withheld (a record's `refused`) is a decline as
run; on the curve it is shown again once the threshold drops below its confidence, and judged on its own words
(`verdicts.refused_correct`). A failed question (ask() raised) scores 0 and counts as not answered.

Plain functions on the records of results.json (see metrics.py), so old runs can be scored too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

RIGHT, DECLINED, WRONG, FAILED = "right", "declined", "wrong", "failed"
SCORES = {RIGHT: 1, DECLINED: 0, WRONG: -1, FAILED: 0}
ABOVE_ALL = 1.01  # a threshold no probability reaches: every scored answer withheld


@dataclass(frozen=True)
class Tally:
    """Outcome counts over some questions."""

    answered_right: int = 0
    answered_wrong: int = 0
    declined_right: int = 0  # declined a question that should be declined
    declined: int = 0  # declined an answerable question
    failed: int = 0

    @property
    def n(self) -> int:
        return self.answered_right + self.answered_wrong + self.declined_right + self.declined + self.failed

    @property
    def answered(self) -> int:
        return self.answered_right + self.answered_wrong

    @property
    def right(self) -> int:
        return self.answered_right + self.declined_right

    @property
    def truthfulness(self) -> float | None:
        return (self.right - self.answered_wrong) / self.n if self.n else None

    @property
    def coverage(self) -> float | None:
        return self.answered / self.n if self.n else None

    @property
    def accuracy(self) -> float | None:
        """Right answers among the answers shown (an answer to a question to decline is wrong)."""
        return self.answered_right / self.answered if self.answered else None

    def plus(self, other: Tally) -> Tally:
        return Tally(self.answered_right + other.answered_right, self.answered_wrong + other.answered_wrong,
                     self.declined_right + other.declined_right, self.declined + other.declined,
                     self.failed + other.failed)

    def as_dict(self) -> dict[str, Any]:
        return {"truthfulness": self.truthfulness, "coverage": self.coverage, "answered_accuracy": self.accuracy,
                "outcomes": {RIGHT: self.right, DECLINED: self.declined, WRONG: self.answered_wrong,
                             FAILED: self.failed}}


def _one(answered: bool, right: bool, should_decline: bool) -> Tally:
    if answered:
        return Tally(answered_right=1) if right and not should_decline else Tally(answered_wrong=1)
    return Tally(declined_right=1) if should_decline else Tally(declined=1)


def record_tally(record: dict[str, Any]) -> Tally:
    """One record as run."""
    if record.get("error"):
        return Tally(failed=1)
    verdicts = record["verdicts"]
    return _one(not record["abstained"], bool(verdicts.get("correct")), bool(verdicts["should_abstain"]))


def outcome(record: dict[str, Any]) -> str:
    """right, declined, wrong or failed: one record as run."""
    one = record_tally(record)
    return FAILED if one.failed else RIGHT if one.right else WRONG if one.answered_wrong else DECLINED


def tally(records: Iterable[dict[str, Any]]) -> Tally:
    total = Tally()
    for record in records:
        total = total.plus(record_tally(record))
    return total


@dataclass(frozen=True)
class Candidate:
    """An answer the abstention threshold decides on: its confidence and how it is judged when shown."""

    confidence: float
    right: bool  # the answer's own words are right (never, for a question to decline)
    should_decline: bool
    answered: bool = True  # shown as run (False: withheld by the confidence)

    def at(self, threshold: float) -> Tally:
        """Shown when its confidence reaches the threshold (`rag ask` abstains below it)."""
        return _one(self.confidence >= threshold, self.right, self.should_decline)


def _candidate(record: dict[str, Any], calibration: Any = None) -> Candidate | None:
    """The record as a Candidate, or None when no threshold changes it (failed, declined before scoring...)."""
    if record.get("error"):
        return None
    signals = record.get("signals") or {}
    confidence = calibration.probability(signals) if calibration and signals else record.get("confidence")
    from rag.answer.confidence import gated  # here: the eval CLI imports this module and must stay light

    # A gated answer is withheld whatever its confidence.
    if confidence is None or gated(signals):
        return None
    verdicts = record["verdicts"]
    should = bool(verdicts["should_abstain"])
    if record["abstained"]:
        if not record.get("refused"):
            return None  # the model declined itself: nothing was scored
        return Candidate(float(confidence), bool(verdicts.get("refused_correct")) and not should, should, False)
    return Candidate(float(confidence), bool(verdicts["correct"]) and not should, should, True)


def candidates(records: list[dict[str, Any]], calibration: Any = None) -> tuple[list[Candidate], Tally]:
    """The records a threshold decides on, and the tally of the others (as run).

    With a `calibration` (rag.answer.confidence.Calibration) the confidence is recomputed from each record's
    signals instead of read from `confidence`.
    """
    items, fixed = [], Tally()
    for record in records:
        item = _candidate(record, calibration)
        if item is None:
            fixed = fixed.plus(record_tally(record))
        else:
            items.append(item)
    return items, fixed


def point(items: list[Candidate], fixed: Tally, threshold: float) -> dict[str, Any]:
    """Coverage, accuracy among the answered and truthfulness when answers below `threshold` are withheld."""
    total = fixed
    for item in items:
        total = total.plus(item.at(threshold))
    return {"threshold": threshold, "coverage": total.coverage, "accuracy": total.accuracy,
            "truthfulness": total.truthfulness, "answered": total.answered, "right": total.right,
            "wrong": total.answered_wrong, "shown_right": total.answered_right}


def points(items: list[Candidate], fixed: Tally) -> list[dict[str, Any]]:
    """The risk–coverage curve: a point at every threshold that changes what is shown, lowest threshold first."""
    thresholds = sorted({0.0, *(item.confidence for item in items), ABOVE_ALL})
    return [point(items, fixed, t) for t in thresholds]


def curve(records: list[dict[str, Any]], calibration: Any = None) -> list[dict[str, Any]]:
    return points(*candidates(records, calibration))


def best(curve_points: list[dict[str, Any]], keep_right: float = 0.0) -> dict[str, Any] | None:
    """The point of highest truthfulness; of equals, the lowest threshold (the most answers shown). With
    `keep_right`, only among the points that still show that share of the right answers the lowest shows."""
    scored = [p for p in curve_points if p["truthfulness"] is not None]
    if keep_right and scored:
        most = max(p["shown_right"] for p in scored)
        scored = [p for p in scored if p["shown_right"] >= keep_right * most]
    return max(scored, key=lambda p: (p["truthfulness"], -p["threshold"])) if scored else None


def run_threshold(items: list[Candidate], recorded: float | None) -> float | None:
    """The threshold the run used, when it was recorded and accounts for what was shown and withheld."""
    if recorded is None or any((item.confidence >= recorded) != item.answered for item in items):
        return None
    return recorded


def summary(config: dict[str, Any], calibration: Any = None) -> dict[str, Any]:
    """One configuration of a run: its tally as run, its curve, the best threshold, the threshold it ran with."""
    items, fixed = candidates(config["records"], calibration)
    curve_points = points(items, fixed)
    return {"tally": tally(config["records"]), "points": curve_points, "scored": len(items),
            "best": best(curve_points) if items else None,
            "threshold": None if calibration else run_threshold(items, config.get("threshold"))}


def metrics(records: list[dict[str, Any]]) -> dict[str, Any]:
    """What aggregate() adds to a configuration's metrics."""
    items, fixed = candidates(records)
    top = best(points(items, fixed)) if items else None
    return {**tally(records).as_dict(), "best_threshold": None if top is None else
            {key: top[key] for key in ("threshold", "truthfulness", "coverage", "accuracy")}}
