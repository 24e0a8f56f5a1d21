"""Trial of a decline signal (issue 19): how likely the model was to open its reply with NONE, before it quoted,
as one more confidence signal, judged by its held-out effect per benchmark. Not shipped: see eval/NOTES.md.

    .venv/bin/python eval/trial_decline.py RUN_DIR... [--scores decline.json]

For every record of the runs (their results.json) it rebuilds the prompt the pipeline gave the model (the run's
index and settings, the record's date filter and asking date), reads it, and takes the log-probability that the
first token begins "NONE" ("N", "NO", "NON", "NONE"), from the raw distribution before the grammar. It costs no
written token: in `rag ask` it would be read off the first step. Then, with and without it as a signal:
held-out truthfulness per run, with probabilities and thresholds chosen out of fold (folds grouped by question
and RealTimeQA week; rag.evaluation.signal_effects). Runs the LLM (~4 s a record on an AMD EPYC, prompt only).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.evaluation.signal_effects import render_trial, trial_records  # noqa: E402

FEATURE, FLOOR = "decline_logprob", -15.0


class DeclineProbe:
    """Log P(first token begins NONE) for a run's questions, over that run's index, prefix kept in the cache."""

    def __init__(self, config: dict):
        from rag.answer.assistant import Assistant
        from rag.config import Config
        from rag.models.generator import LlamaCppGenerator
        from rag.models.registry import llm_path

        settings = Config(**{k: v for k, v in config.items() if k in Config.__dataclass_fields__})
        self.generator = LlamaCppGenerator(settings.model, llm_path(settings.model, settings.cache_dir),
                                           settings.n_ctx, settings.threads)
        self.assistant = Assistant(settings, generator=self.generator)
        llm = self.generator._llm
        self.ids = [t[0] for end in range(1, 5) if len(t := llm.tokenize(b"NONE"[:end], add_bos=False)) == 1]

    def __call__(self, record: dict) -> dict[str, float] | None:
        """The record's signal (floored: a vanishing probability says no more than a small one)."""
        log_p = self.log_p_none(record)
        return None if log_p is None else {FEATURE: max(FLOOR, log_p)}

    def log_p_none(self, record: dict) -> float | None:
        from rag.store.base import Filters

        filters = Filters(until=record["until"]) if record.get("until") else None
        messages, _ = self.assistant.prompt_for(record["question"], filters, asked_on=record.get("asked_on"))
        if not messages:
            return None
        import llama_cpp

        from rag.models.decoding import LlamaDraftModel

        generator, llm = self.generator, self.generator._llm
        formatted = generator._format(messages=messages)
        tokens = llm.tokenize(formatted.prompt.encode(), add_bos=not formatted.added_special, special=True)
        LlamaDraftModel(llm).prompt(tokens)  # as an answer reads it: the cached prefix kept, the rest evaluated
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(llm.n_vocab(),))
        logits = logits.astype(np.float64)
        top = logits.max()
        normaliser = top + np.log(np.exp(logits - top).sum())
        return float(np.log(np.exp(logits[self.ids] - top).sum()) + top - normaliser)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run folders holding results.json")
    parser.add_argument("--scores", help="a JSON file of the signal per record: read if present, else written")
    args = parser.parse_args()
    records, runs = trial_records(args.runs, DeclineProbe, args.scores)
    print(render_trial(records, runs, [(FEATURE,)]))


if __name__ == "__main__":
    main()
