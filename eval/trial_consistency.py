"""Trial of self-consistency (issue 19) as a confidence signal, judged by its held-out effect. Not shipped: see
eval/NOTES.md for the figures and why its time could not fit anyway.

    .venv/bin/python eval/trial_consistency.py RUN_DIR... [--samples 2] [--temperature 0.7] [--cache sc.json]

For every answered record of the runs this trial answers the question again as the run did (its index, settings,
date filter and asking date; the same greedy pipeline, so the same answer: a record whose answer now reads
differently gets no value), then samples `--samples` more answer lines from the same prompt and the same greedy
quotes (the prompt and quotes stay in llama.cpp's cache; only the answer line is written again, one token a step,
under the answer grammar) and reads:
- `consistency`: the mean share of the greedy answer's key terms (its content words the question does not have)
  that each sampled answer line also holds;
- `consistency_min`: the least of those shares.
Then, with and without them: held-out truthfulness per run (rag.evaluation.signal_effects).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from statistics import fmean

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.answer.agreement import key_terms  # noqa: E402
from rag.evaluation.signal_effects import answer_again, render_trial, trial_records  # noqa: E402
from rag.text import content_terms  # noqa: E402

SIGNALS = ("consistency", "consistency_min")
ANSWER_ROOT = 'root    ::= " " clause ("; " clause)? ".\\n"'


def agreement(greedy: str, question: str, samples: list[str]) -> dict[str, float] | None:
    """The trial's signals: how much of the greedy answer's new content each sample repeats."""
    terms = key_terms(greedy, question)
    if not terms or not samples:
        return None
    shares = [sum(t in set(content_terms(s)) for t in terms) / len(terms) for s in samples]
    return {"consistency": fmean(shares), "consistency_min": min(shares)}


class Sampler:
    """Answer lines sampled at a temperature under a compiled GBNF grammar, one token a step, from a llama.cpp context
    that already holds the prompt (the longest shared prefix is reused)."""

    def __init__(self, llm, temperature: float, seed: int = 0):
        import numpy as np

        self.llm, self.temperature, self.rng = llm, temperature, np.random.default_rng(seed)

    def __call__(self, tokens: list[int], grammar, max_tokens: int = 80) -> str:
        from rag.models.decoding import LlamaDraftModel

        model = LlamaDraftModel(self.llm, grammar)
        model.pick = lambda row: self._pick(model, row)  # the same context handling, a sampled pick
        try:
            model.prompt(tokens)
            picked, token = [], model.pick(-1)
            while token != self.llm.token_eos() and len(picked) < max_tokens:
                picked.append(token)
                text = self.llm.detokenize(picked).decode("utf-8", "ignore")
                if text.endswith("\n"):
                    break
                model.decode([token])
                token = model.pick(0)
            return self.llm.detokenize(picked).decode("utf-8", "ignore")
        finally:
            model.close()
            self.llm._requires_eval = True

    def _pick(self, model, row: int) -> int:
        import llama_cpp
        import numpy as np

        llm = self.llm
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, row), shape=(llm.n_vocab(),))
        scaled = logits.astype(np.float64) / self.temperature
        for _ in range(20):  # a sampled token the grammar refuses is drawn again
            weights = np.exp(scaled - scaled.max())
            token = int(self.rng.choice(len(weights), p=weights / weights.sum()))
            if model._allowed(token, float(logits[token])):
                break
            scaled[token] = -np.inf
        else:
            token = model._grammar_argmax(logits)
        llama_cpp.llama_sampler_accept(model._grammar, token)
        return token


class ConsistencyProbe:
    """Answers a run's records again with its settings and samples more answer lines after the same quotes."""

    def __init__(self, config: dict, samples: int, temperature: float):
        from rag.answer.assistant import Assistant
        from rag.config import Config

        settings = Config(**{k: v for k, v in config.items() if k in Config.__dataclass_fields__})
        self.assistant, self.samples = Assistant(settings), samples
        self.temperature = temperature
        self.sampler: Sampler | None = None

    def __call__(self, record: dict) -> dict[str, float] | None:
        from rag.answer.stages import prompt

        if not record.get("signals"):
            return None  # nothing the confidence decides on
        state = answer_again(self.assistant, record)
        at = state.raw.find("ANSWER:") if state else -1
        if at < 0:
            print(f"  {record['id']}: answer differs from the record's or has no answer line; no values", flush=True)
            return None
        generator = self.assistant.generator
        messages, grammar = prompt(self.assistant.templates, state)
        # The answer line alone, compiled once by the generator's own grammar cache.
        grammar = generator._grammar(re.sub(r"^root\s*::=.*$", ANSWER_ROOT, grammar, count=1, flags=re.M))
        _, tokens = generator.prompt_tokens(messages, prefill=state.raw[:at + len("ANSWER:")])
        self.sampler = self.sampler or Sampler(generator._llm, self.temperature)
        lines = [self.sampler(tokens, grammar) for _ in range(self.samples)]
        greedy = state.raw[at + len("ANSWER:"):].split("\n", 1)[0]
        print(f"  {record['id']}: {greedy.strip()[:70]!r} vs {[line.strip()[:50] for line in lines]}", flush=True)
        return agreement(greedy, record["question"], lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run folders holding results.json")
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--cache", help="a JSON file of the signals per record: read if present, else written")
    args = parser.parse_args()
    records, runs = trial_records(args.runs, lambda config: ConsistencyProbe(config, args.samples, args.temperature),
                                  args.cache)
    print(render_trial(records, runs, [*((name,) for name in SIGNALS), SIGNALS]))


if __name__ == "__main__":
    main()
