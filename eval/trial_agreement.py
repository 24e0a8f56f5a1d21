"""Trial of source agreement (issue 19) as confidence signals, judged by their held-out effect per benchmark.

    .venv/bin/python eval/trial_agreement.py RUN_DIR... [--cache agreement.json]

For every record of the runs (their results.json) it rebuilds the evidence the pipeline showed the model (the
run's index and settings, the record's date filter and asking date; retrieval only, no LLM) and reads the
record's answer against it (rag.answer.agreement): `answer_sources`, how many independent sources (an article
with its wire copies counts once) hold most of the answer's key terms, and `rival_figures`, how many other
figures the sources tie to the question's words when the answer gives one figure of a count. Then, with and
without them: held-out truthfulness per run, probabilities and thresholds chosen out of fold (folds grouped by
question and RealTimeQA week; rag.evaluation.signal_effects), and how often each value comes with a right answer.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.evaluation.signal_effects import render_trial, trial_records  # noqa: E402

SIGNALS = ("answer_sources", "rival_figures")


class AgreementProbe:
    """The agreement signals of a run's records, over that run's index (the embedder loaded once)."""

    def __init__(self, config: dict):
        from rag.answer.assistant import Assistant
        from rag.config import Config

        settings = Config(**{k: v for k, v in config.items() if k in Config.__dataclass_fields__})
        self.assistant = Assistant(settings)

    def __call__(self, record: dict) -> dict[str, float] | None:
        from rag.answer.agreement import agreement
        from rag.answer.stages import retrieve, select
        from rag.store.base import Filters

        answer = record.get("refused") or record.get("answer") or ""
        filters = Filters(until=record["until"]) if record.get("until") else None
        state = self.assistant.start(record["question"], filters, asked_on=record.get("asked_on"))
        for stage in (retrieve, select):
            for _event in stage(self.assistant, state):
                pass
        if not state.groups:
            return None
        found = agreement(record["question"], state.parsed, answer, state.groups)
        return {"answer_sources": float(min(found.sources, 3)),
                "rival_figures": float(min(len(found.rival_figures), 3))}


def tabulate(records: list[dict]) -> str:
    """For each signal value: how many answered records have it, and how many of those were right."""
    lines = []
    for name in SIGNALS:
        counts: Counter = Counter()
        for r in records:
            value = (r.get("signals") or {}).get(name)
            if value is not None and not r.get("abstained"):
                right = bool(r["verdicts"]["correct"]) and not r["verdicts"]["should_abstain"]
                counts[(value, right)] += 1
        values = sorted({v for v, _ in counts})
        lines.append(f"{name}: " + ", ".join(
            f"{v:g} → {counts[(v, True)]} right / {counts[(v, False)]} wrong" for v in values))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run folders holding results.json")
    parser.add_argument("--cache", help="a JSON file of the signals per record: read if present, else written")
    args = parser.parse_args()
    records, runs = trial_records(args.runs, AgreementProbe, args.cache)
    for run in dict.fromkeys(runs):
        print(f"{run}: " + tabulate([r for r, name in zip(records, runs) if name == run]).replace("\n", "; "))
    print(render_trial(records, runs, [SIGNALS[:1], SIGNALS[1:], SIGNALS]))


if __name__ == "__main__":
    main()
