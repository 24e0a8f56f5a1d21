"""Trial of a verifier signal (issue 19): the model's P(yes) to "do these sentences state this answer?", as one
more confidence signal, judged by its held-out effect. Not shipped: see eval/NOTES.md for the figures.

    .venv/bin/python eval/trial_verifier.py RUN_DIR... [--model qwen2.5-coder-1.5b] [--shots] [--scores v.json]

For every answered record of the runs (their results.json) it reads the question, the answer (or the answer
the confidence withheld) and the verified quote sentences (~100 tokens), and takes the probability of "yes"
against "no" as the next token. Then it compares, with and without that signal: the out-of-fold AUC of the
calibrated probability (right vs not) and the held-out truthfulness with thresholds chosen out of fold too
(rag.evaluation.signal_effects). Runs the LLM (~1.1 s a record on an AMD EPYC): one llama.cpp job at a time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.config import Config  # noqa: E402
from rag.evaluation import calibrate  # noqa: E402
from rag.evaluation.signal_effects import nested_truthfulness  # noqa: E402
from rag.evaluation.truthfulness import tally  # noqa: E402
from rag.models.registry import llm_path  # noqa: E402

SYSTEM = ("You check answers against news sentences. Say yes only when the sentences themselves state the answer, "
          "and the answer gives the specific detail the question asks for (a name for who, a place for where, "
          "a number for how many, a date for when). Say no when the answer only restates the question, gives "
          "something else, or is not in the sentences.")
# General examples, written for no benchmark question.
SHOTS = [("The city council voted on Tuesday to close the old bridge to trucks after inspectors found cracks in two "
          "of its supports.", "Who found cracks in the bridge?", "Inspectors found cracks in two of the bridge's "
          "supports.", "yes"),
         ("Rescue teams were still searching the collapsed building on Friday, the regional governor told reporters.",
          "How many people died when the building collapsed?", "Rescue teams were searching the collapsed building.",
          "no"),
         ("The festival, first held in 1998, moved to the harbour district this year.",
          "Where is the festival held this year?", "The festival was first held in 1998.", "no"),
         ("Officials said 14 people were injured in the fire, which started in a kitchen on the third floor.",
          "How many people were injured in the fire?", "14 people were injured, officials said.", "yes")]


def turn(sentences: str, question: str, answer: str) -> dict:
    return {"role": "user", "content": f"Sentences:\n{sentences}\n\nQuestion: {question}\nAnswer: {answer}\n\n"
                                       "Do the sentences state this answer to the question? Reply yes or no."}


def messages(record: dict, shots: bool) -> list[dict]:
    answer = re.sub(r"\s*\[\d+\]", "", record.get("refused") or record["answer"]).strip()
    quotes = "\n".join(f"- {e['quote']}" for e in record.get("evidence") or []) or "- (no sentence)"
    examples = [m for s, q, a, v in SHOTS for m in (turn(f"- {s}", q, a), {"role": "assistant", "content": v})]
    question = turn(quotes, record["question"], answer)
    return [{"role": "system", "content": SYSTEM}, *(examples if shots else []), question]


class YesProbability:
    """P("yes") against P("no") as the model's next token, the shared start of prompts kept in llama.cpp's cache."""

    def __init__(self, path: Path):
        import llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.llm = llama_cpp.Llama(str(path), n_ctx=2048, n_threads=os.cpu_count(), verbose=False)
        eos = self.llm.detokenize([self.llm.token_eos()], special=True).decode()
        self.format = Jinja2ChatFormatter(self.llm.metadata["tokenizer.chat_template"], eos_token=eos, bos_token="")
        self.yes, self.no = self._single_tokens(["yes", "Yes", " yes", " Yes"]), self._single_tokens(
            ["no", "No", " no", " No"])

    def _single_tokens(self, words: list[str]) -> set[int]:
        return {t[0] for w in words if len(t := self.llm.tokenize(w.encode(), add_bos=False, special=False)) == 1}

    def __call__(self, chat: list[dict]) -> float:
        tokens = self.llm.tokenize(self.format(messages=chat).prompt.encode(), add_bos=False, special=True)
        held, shared = self.llm.input_ids[:self.llm.n_tokens].tolist(), 0
        while shared < min(len(held), len(tokens) - 1) and held[shared] == tokens[shared]:
            shared += 1
        self.llm.n_tokens = shared
        self.llm.eval(tokens[shared:])
        logits = np.ctypeslib.as_array(self.llm._ctx.get_logits(), shape=(self.llm.n_vocab(),))
        top = max(logits[i] for i in self.yes | self.no)
        yes, no = (sum(math.exp(logits[i] - top) for i in ids) for ids in (self.yes, self.no))
        return yes / (yes + no)


def auc(scores: list[float], right: list[bool]) -> float:
    pos, neg = np.array([s for s, r in zip(scores, right) if r]), np.array([s for s, r in zip(scores, right) if not r])
    return float(((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum())
                 / max(1, len(pos) * len(neg)))


def effect(records: list[dict]) -> dict:
    """Out-of-fold AUC and nested held-out truthfulness without and with the verifier signal."""
    out = {}
    for name, features in (("without", calibrate.FEATURES), ("with", calibrate.FEATURES + ("verifier",))):
        items, fixed = calibrate.examples(records, features=features)
        probabilities = calibrate.out_of_fold(items, features=features)
        out[name] = {"oof_auc": round(auc(probabilities, [e.right for e in items]), 3),
                     "truthfulness": round(nested_truthfulness(items, tally(fixed), features=features), 3)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run folders holding results.json")
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--shots", action="store_true", help="four general worked examples before the question")
    parser.add_argument("--scores", help="a JSON file of P(yes) per record: read if present, else written")
    parser.add_argument("--limit", type=int, help="only the first N records of each run (a quick check)")
    args = parser.parse_args()
    cache = json.loads(Path(args.scores).read_text()) if args.scores and Path(args.scores).exists() else {}
    judge, records = None, []
    for run in args.runs:
        for record in json.loads((Path(run) / "results.json").read_text())["configurations"][0]["records"][:args.limit]:
            if record.get("signals"):
                key = f"{Path(run).name}/{record['id']}"
                if key not in cache:
                    judge = judge or YesProbability(llm_path(args.model, Config().cache_dir))
                    cache[key] = judge(messages(record, args.shots))
                record["signals"]["verifier"] = cache[key]
            records.append(record)
    if args.scores:
        Path(args.scores).write_text(json.dumps(cache))
    print(json.dumps({"records": len(records), **effect(records)}, indent=1))


if __name__ == "__main__":
    main()
