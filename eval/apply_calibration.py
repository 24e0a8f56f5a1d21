"""Apply a calibration file to a finished run's recorded signals: the abstentions `rag ask` would make with it.

    python eval/apply_calibration.py eval/runs/seeds-f1 rag/calibration.json eval/runs/seeds-f1-cal

How the `+calibrated` rows of eval/RESULTS.md were made from the uncalibrated runs that `rag eval calibrate`
learns from. The confidence is computed after the answer, from the signals each record keeps, so the decision
is the pipeline's own; `seeds-pg`, a real run with the shipped file, gives the same figures as `seeds-f1-cal`.
"""

from __future__ import annotations

import sys
from typing import Any

from rag.answer.citations import ABSTENTION
from rag.answer.confidence import Calibration
from rag.evaluation.metrics import aggregate, judge
from rag.evaluation.runs import load_results, write_results


def withhold(record: dict[str, Any], k: int) -> None:
    """Turn an answered record into the abstention the confidence makes of it, judged again."""
    before = record["verdicts"]
    record.update(refused=record["answer"], answer=ABSTENTION, abstained=True, citations=[], evidence=[],
                  dangling=[])
    verdicts = judge(ABSTENTION, True, record["answers"], record["kind"], record["docs"], [],
                     [p["doc"] for p in record["passages"]], k, 0, record.get("choices"), record.get("answer_index"))
    verdicts["evidence_hit"] = before.get("evidence_hit")
    verdicts["refused_correct"] = (not before["should_abstain"]) and bool(before["correct"])
    verdicts.update({key: False for key in ("from_memory", "obeyed") if key in before})  # silence holds neither
    record["verdicts"] = verdicts


def apply(results: dict[str, Any], calibration: Calibration) -> int:
    """Rescore every configuration of `results` in place; the number of answers withheld."""
    withheld = 0
    for config in results["configurations"]:
        for record in config["records"]:
            if not record.get("signals") or record["abstained"] or record.get("error"):
                continue  # abstained before scoring, or never answered: the confidence has no say
            record["confidence"] = calibration.probability(record["signals"])
            if record["confidence"] < calibration.threshold:
                withhold(record, int(config["config"].get("k", 4)))
                withheld += 1
        config["metrics"] = aggregate(config["records"])
        config["name"] += "+calibrated"
    return withheld


def main(run_dir: str, calibration_path: str, out_dir: str) -> None:
    results = load_results(run_dir)
    calibration = Calibration.load(calibration_path)
    withheld = apply(results, calibration)
    results["meta"]["calibration_applied"] = (f"{calibration_path} (threshold {calibration.threshold:.3f}) to the "
                                              f"signals recorded in {run_dir}")
    write_results(results, out_dir)
    print(f"{run_dir}: {withheld} answers withheld -> {out_dir}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
