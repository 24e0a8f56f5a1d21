"""Trial of the detail's own log-probability (issue 19) as confidence signals, judged by their held-out effect.

    .venv/bin/python eval/trial_detail.py RUN_DIR... [--cache detail.json]

The answer's mean log-probability is one of the signals, but most answer tokens are words of the question or
the sentence's frame ("was killed in"), which the model writes surely whether it knows the answer or not. The
part that can be wrong is the detail: the answer's content words that the question does not hold ("December
2021", "Lloyd Austin"). For every record of the runs this trial answers the question again as the run did (its
index, settings, date filter and asking date; the same greedy pipeline, so the same answer), keeps the picked
tokens with their log-probabilities, and reads:
- `detail_first_min` / `detail_first_mean`: the least likely / mean log-probability of the first token of each
  new content word of the answer line (the token where the model chooses the word; its other tokens follow
  surely);
- `quote_choice`: the mean log-probability of the first word token of each quote (where the model chooses which
  sentence to copy).
A record whose answer now reads differently from the recorded one gets no values (they would describe another
answer; so does the crossed benchmark's rtqa-on-seeds part, asked of an index other than the run's own), and a
missing value counts as the signal's mean. Then, with and without them: held-out truthfulness per run
(rag.evaluation.signal_effects).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from statistics import fmean

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.evaluation.signal_effects import answer_again, render_trial, trial_records  # noqa: E402
from rag.text import STOPWORDS, content_terms, stem  # noqa: E402

SIGNALS = ("detail_first_min", "detail_first_mean", "quote_choice")
_WORD = re.compile(r"[\w’'-]+")


def token_spans(pieces: list[bytes]) -> tuple[str, list[tuple[int, int]]]:
    """The reply's text and each token's character span in it (a token inside a multi-byte character gets the
    span of the characters it completes, possibly empty)."""
    data, spans, text = b"", [], ""
    for piece in pieces:
        start = len(text)
        data += piece
        text = data.decode("utf-8", "ignore")
        spans.append((start, len(text)))
    return text, spans


def detail_signals(question: str, pieces: list[bytes], logprobs: list[float]) -> dict[str, float] | None:
    """The trial's signals of one reply (its tokens' pieces and log-probabilities, aligned)."""
    text, spans = token_spans(pieces[:len(logprobs)])
    asked = set(content_terms(question))
    values: dict[str, float] = {}
    answer_at = text.find("ANSWER:")
    if answer_at >= 0:
        line_end = text.find("\n", answer_at)
        line_end = len(text) if line_end < 0 else line_end
        body = text[answer_at + len("ANSWER:"):line_end]
        firsts = []
        for match in _WORD.finditer(body):
            word = match.group(0).lower()
            if word.isdigit() and re.search(r"\[\s*$", body[:match.start()]):
                continue  # a citation's number
            if word in STOPWORDS or stem(word) in asked:
                continue
            start = answer_at + len("ANSWER:") + match.start()
            first = next((i for i, (a, b) in enumerate(spans) if b > start), None)
            if first is not None:
                firsts.append(logprobs[first])
        if firsts:
            values["detail_first_min"] = min(firsts)
            values["detail_first_mean"] = fmean(firsts)
    choices = []
    for match in re.finditer(r'QUOTE \[\d+\]: "', text):
        first = next((i for i, (a, b) in enumerate(spans) if a >= match.end() and b > a), None)
        if first is not None:
            choices.append(logprobs[first])
    if choices:
        values["quote_choice"] = fmean(choices)
    return values or None


class DetailProbe:
    """Answers a run's records again with its settings and reads the trial signals off the picked tokens."""

    def __init__(self, config: dict):
        import rag.models.generator as generator
        from rag.answer.assistant import Assistant
        from rag.config import Config

        settings = Config(**{k: v for k, v in config.items() if k in Config.__dataclass_fields__})
        self.assistant = Assistant(settings)
        self.picked: list[int] = []
        original = generator._TokenLogprobs.__call__
        picked = self.picked

        def recording(scorer, input_ids, logits):
            if scorer._previous is not None:
                picked.append(int(input_ids[-1]))
            return original(scorer, input_ids, logits)

        generator._TokenLogprobs.__call__ = recording

    def __call__(self, record: dict) -> dict[str, float] | None:
        self.picked.clear()
        state = answer_again(self.assistant, record)
        if state is None or not state.usage.logprobs:
            print(f"  {record['id']}: answer differs from the record's; no values", flush=True)
            return None
        llm = self.assistant.generator._llm
        pieces = [llm.detokenize([t]) for t in self.picked]
        return detail_signals(record["question"], pieces, state.usage.logprobs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run folders holding results.json")
    parser.add_argument("--cache", help="a JSON file of the signals per record: read if present, else written")
    args = parser.parse_args()
    records, runs = trial_records(args.runs, DetailProbe, args.cache)
    print(render_trial(records, runs, [*((name,) for name in SIGNALS), SIGNALS]))


if __name__ == "__main__":
    main()
