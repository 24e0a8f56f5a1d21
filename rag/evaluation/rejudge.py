"""Judge a finished run's answers again with today's judge, without asking the model again."""

from __future__ import annotations

from typing import Any

from rag.evaluation.metrics import aggregate, answer_verdict

_ANSWER_VERDICTS = ("correct", "refused_correct")  # what a change of the judge can turn


def rejudge_record(record: dict[str, Any]) -> dict[str, Any]:
    """The record with its answer verdicts (`correct`, `by_choice`, `refused_correct`) judged again; retrieval and
    citation verdicts, and those of items to be declined, stay as recorded (they do not read the answer's words)."""
    verdicts = dict(record["verdicts"])
    if verdicts["should_abstain"]:
        return record
    gold = (record["answers"], record["question"], record.get("choices") or None, record.get("answer_index"))
    if not record["abstained"]:
        verdicts["correct"], chosen = answer_verdict(record["answer"], *gold)
        if record.get("choices"):
            verdicts["by_choice"] = chosen
    if record.get("refused"):
        verdicts["refused_correct"] = answer_verdict(record["refused"], *gold)[0]
    return {**record, "verdicts": verdicts}


def rejudge_results(results: dict[str, Any]) -> int:
    """Judge every configuration's records again and recompute its metrics; returns how many records were judged
    right or wrong differently."""
    changed = 0
    for config in results["configurations"]:
        records = [rejudge_record(r) for r in config["records"]]
        changed += sum(any(old["verdicts"].get(key) != new["verdicts"].get(key) for key in _ANSWER_VERDICTS)
                       for old, new in zip(config["records"], records))
        config["records"], config["metrics"] = records, aggregate(records)
    return changed
