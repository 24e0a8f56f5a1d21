"""Prompt-lookup drafting against plain greedy decoding on real pipeline prompts (rag.models.decoding).

    .venv/bin/python eval/bench_drafting.py                      # 10 sample questions, drafting 10 vs off
    .venv/bin/python eval/bench_drafting.py --questions 20 --repeat 1 --draft 10
    .venv/bin/python eval/bench_drafting.py --model smollm2-135m --questions 3
    .venv/bin/python eval/bench_drafting.py --library --draft 0   # rag's greedy loop vs llama-cpp-python's
    .venv/bin/python eval/bench_drafting.py --quotes --draft 0    # quotes' rest guessed from the evidence vs off
    .venv/bin/python eval/bench_drafting.py --quotes --draft 0 --library   # ... vs llama-cpp-python's
    .venv/bin/python eval/bench_drafting.py --quotes --reply --draft 0    # the whole reply guessed vs the quotes' rest
    .venv/bin/python eval/bench_drafting.py --reply-both --draft 4   # n-gram drafts besides the whole reply's guesses
    .venv/bin/python eval/bench_drafting.py --batch-costs          # what checking a draft of n tokens costs here

`--quotes` gives the drafted runs the guesses `rag ask` makes with `draft_quotes = true` (the rest of the sentence a
quote has begun, rag.answer.quote_drafts); the plain runs have none. `--library` makes the baseline
llama-cpp-python's own `create_completion` (its sampler runs the grammar over the
whole vocabulary at every step) instead of rag's greedy loop (`draft_tokens = 0`, the grammar asked about the
top pick first); `--draft 0` then measures that loop against it.

The sample articles (../shared/corpus/seeds) are indexed with the configured embedder in a temporary folder;
each question of eval/gold/seeds.jsonl gets the evidence and prompt `rag ask` would build. One model is loaded
once; before every run its context is cut back to the prompt's fixed prefix (rules and worked example), as
it is when a new question comes, so both runs read the same prompt tokens. Runs alternate plain, drafted,
plain, drafted (the order flips every question) and medians are reported.

The completion phase is the time from the first streamed piece to the end: every written token but the first
(whose cost is the prompt's). Identity: the same pieces, the same completion token count, logprobs within 1e-3.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag.answer.quote_drafts import QuoteDrafter  # noqa: E402
from rag.answer.reply_guesses import ReplyDrafter  # noqa: E402
from rag.answer.stages import prompt  # noqa: E402
from rag.config import Config  # noqa: E402
from rag.models.decoding import DraftStats  # noqa: E402
from rag.models.generator import LlamaCppGenerator, Usage  # noqa: E402

SEEDS = REPO.parent / "shared" / "corpus" / "seeds"
GOLD = REPO / "eval" / "gold" / "seeds.jsonl"
ASKED_ON = "2024-06-01"


@dataclass
class Run:
    pieces: list[str]
    completion_tokens: int
    logprobs: list[float]
    prompt_s: float  # to the first piece
    completion_s: float  # the first piece to the end
    completion_cpu: float  # this process's CPU time in the completion phase (all threads)
    stats: DraftStats = field(default_factory=DraftStats)

    @property
    def tokens_per_s(self) -> float:
        # completion_tokens counts create_completion's pieces: the written tokens, and the closing empty piece
        written = self.completion_tokens - 1
        return (written - 1) / self.completion_s if self.completion_s > 0 else 0.0


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


class CpuWatch:
    """How busy the other processes kept the CPU while we ran (from /proc/stat minus our own CPU time)."""

    def __init__(self):
        self.start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float]:
        fields_ = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = fields_[3] + fields_[4]
        tick = os.sysconf("SC_CLK_TCK")
        own = resource.getrusage(resource.RUSAGE_SELF)
        return (sum(fields_) - idle) / tick, own.ru_utime + own.ru_stime, time.monotonic()

    def others_share(self) -> float:
        busy0, own0, t0 = self.start
        busy1, own1, t1 = self._sample()
        cores = os.cpu_count() or 1
        return max(0.0, ((busy1 - busy0) - (own1 - own0)) / ((t1 - t0) * cores))


def prompts(config: Config, count: int, generator) -> list[tuple[str, list[dict], str, QuoteDrafter]]:
    """(question, chat messages, grammar, quote guesses) for the first `count` sample questions, as `rag ask`
    builds them."""
    from rag.answer.assistant import Assistant
    from rag.ingest.pipeline import ingest
    from rag.models.factories import make_embedder

    embedder = make_embedder(config)
    ingest([SEEDS], config, embedder)
    assistant = Assistant(config, embedder=embedder, generator=generator)
    out = []
    for line in GOLD.read_text(encoding="utf-8").splitlines()[:count]:
        question = json.loads(line)["question"]
        state = assistant.prepare(question, asked_on=ASKED_ON)
        if state.passages:
            messages, grammar = prompt(assistant.templates, state)
            out.append((question, messages, grammar, QuoteDrafter(state.shown)))
    return out


def cut_to_prefix(generator: LlamaCppGenerator, messages: list[dict]) -> None:
    """Leave only the fixed prompt prefix in the context, as a new question finds it."""
    llm = generator._llm
    formatted = generator._format(messages=messages)
    tokens = llm.tokenize(formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True)
    keep = min(llm.n_tokens, len(generator._fixed_prefix(messages, tokens)))
    llm._ctx.kv_cache_seq_rm(-1, keep, -1)
    llm.n_tokens = keep


LIBRARY = -1  # the `draft` of a run through llama-cpp-python's create_completion


def library_stream(generator: LlamaCppGenerator, messages: list[dict], max_tokens: int, usage: Usage, grammar: str):
    """llama-cpp-python's own greedy completion of the prompt `generator.stream` would write, pieces as it does."""
    import llama_cpp

    from rag.models.generator import _TokenLogprobs

    formatted = generator._format(messages=messages)
    llm = generator._llm
    tokens = llm.tokenize(formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True)
    stops = [s for s in (formatted.stop if isinstance(formatted.stop, list) else [formatted.stop]) if s]
    scorer = _TokenLogprobs(usage.logprobs)
    for piece in llm.create_completion(tokens, max_tokens=max_tokens, temperature=0.0, stream=True,
                                       stop=stops or None, grammar=generator._grammar(grammar),
                                       logits_processor=llama_cpp.LogitsProcessorList([scorer])):
        usage.completion_tokens += 1
        if piece["choices"][0]["text"]:
            yield piece["choices"][0]["text"]
    scorer.finish()


def run(generator: LlamaCppGenerator, messages: list[dict], grammar: str, draft: int, max_tokens: int,
        guess: QuoteDrafter | None = None) -> Run:
    cut_to_prefix(generator, messages)
    generator.draft_tokens = max(draft, 0)
    generator.draft_stats = DraftStats()
    usage = Usage()
    pieces, first, first_cpu = [], None, 0.0
    started = time.perf_counter()
    stream = (library_stream(generator, messages, max_tokens, usage, grammar) if draft == LIBRARY
              else generator.stream(messages, max_tokens, 0.0, usage, grammar=grammar, guess=guess))
    for piece in stream:
        if first is None:
            first, first_cpu = time.perf_counter(), time.process_time()
        pieces.append(piece)
    ended, ended_cpu = time.perf_counter(), time.process_time()
    first = first or ended
    return Run(pieces, usage.completion_tokens, list(usage.logprobs), first - started, ended - first,
               ended_cpu - (first_cpu or ended_cpu), generator.draft_stats)


BATCH_SIZES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)


def batch_costs(generator: LlamaCppGenerator, messages: list[dict], repeat: int = 5) -> list[tuple[int, float]]:
    """(n, median seconds) of one decode of n tokens with logits for every one, as a drafted batch is checked,
    after a real prompt: what a draft of n tokens costs on this CPU, against a step (n = 1)."""
    llm = generator._llm
    cut_to_prefix(generator, messages)
    formatted = generator._format(messages=messages)
    tokens = llm.tokenize(formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True)
    llm.eval(tokens[llm.n_tokens:])
    base, text = llm.n_tokens, tokens[-max(BATCH_SIZES):]  # the prompt's own last tokens: real text, as drafts are
    costs = []
    for n in BATCH_SIZES:
        times = []
        for _ in range(repeat):
            llm._ctx.kv_cache_seq_rm(-1, base, -1)
            llm._batch.set_batch(batch=text[:n], n_past=base, logits_all=True)
            started = time.perf_counter()
            llm._ctx.decode(llm._batch)
            times.append(time.perf_counter() - started)
        costs.append((n, statistics.median(times)))
    llm._ctx.kv_cache_seq_rm(-1, base, -1)
    llm._requires_eval = True
    return costs


def same_text(a: Run, b: Run) -> bool:
    """The same pieces and completion token count."""
    return a.pieces == b.pieces and a.completion_tokens == b.completion_tokens


def logprob_gap(a: Run, b: Run) -> float:
    """The largest logprob difference of two runs of the same text (inf when their lengths differ)."""
    if len(a.logprobs) != len(b.logprobs):
        return float("inf")
    return max((abs(x - y) for x, y in zip(a.logprobs, b.logprobs)), default=0.0)


def identical(a: Run, b: Run) -> bool:
    return same_text(a, b) and logprob_gap(a, b) <= 1e-3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=Config().model)
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each kind per question")
    parser.add_argument("--draft", type=int, default=10, help="draft_tokens of the drafted runs")
    parser.add_argument("--quotes", action="store_true",
                        help="the drafted runs also guess the rest of each quote (draft_quotes = true)")
    parser.add_argument("--reply", action="store_true",
                        help="the drafted runs guess the whole reply (rag.answer.reply_guesses: the quotes' rest, "
                             "the lines' openings, the answer's words); with --quotes the plain runs guess the "
                             "quotes' rest")
    parser.add_argument("--reply-both", action="store_true",
                        help="both runs guess the whole reply (draft_quotes = true as shipped); the drafted runs add "
                             "n-gram drafts of --draft tokens where no guess is made")
    parser.add_argument("--library", action="store_true",
                        help="baseline: llama-cpp-python's create_completion instead of rag's greedy loop")
    parser.add_argument("--max-tokens", type=int, default=Config().max_answer_tokens)
    parser.add_argument("--min-ngram", type=int, default=None, help="shortest n-gram that proposes a draft")
    parser.add_argument("--threads", type=int, default=Config().threads, help="llama.cpp threads (0: one per core)")
    parser.add_argument("--show", action="store_true", help="print each question's answer and figures")
    parser.add_argument("--batch-costs", action="store_true",
                        help="only time one decode of 1-32 tokens (logits for each) after the first question's prompt")
    args = parser.parse_args(argv)
    if args.reply_both:
        args.quotes = args.reply = True

    import rag.models.decoding
    from rag.models.factories import checked_layout
    from rag.models.registry import llm_path

    if args.min_ngram:
        rag.models.decoding.DEFAULT_MIN_NGRAM = args.min_ngram

    print(f"CPU: {cpu_model()} ({os.cpu_count()} cores); load average before: "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(index_dir=str(Path(tmp) / "index"), model=args.model)
        path = llm_path(args.model, config.cache_dir)
        # The weights laid out as rag loads them on this CPU (llama_repack, rag.models.llama_layout).
        generator = LlamaCppGenerator(args.model, path, config.n_ctx, args.threads, cache_dir=None,
                                      repack=checked_layout(config, path))
        if args.threads:
            generator._llm.context_params.n_threads_batch = args.threads
            import llama_cpp

            llama_cpp.llama_set_n_threads(generator._llm.ctx, args.threads, args.threads)
        cases = prompts(config, args.questions, generator)
        if args.batch_costs:
            costs = batch_costs(generator, cases[0][1], args.repeat)
            step = costs[0][1]
            for n, seconds in costs:
                print(f"a batch of {n:2d} tokens: {seconds * 1000:6.1f} ms ({seconds * 1000 / n:5.1f} ms a token, "
                      f"{seconds / step:4.1f} steps' time)")
            return 0
        print(f"model: {args.model} ({path.name}); {len(cases)} questions x {args.repeat} runs each way; "
              f"draft_tokens {args.draft}{' + quote guesses' if args.quotes else ''} vs "
              f"{'llama-cpp-python' if args.library else 0} "
              f"(n-grams {rag.models.decoding.DEFAULT_MIN_NGRAM}-{rag.models.decoding.DEFAULT_NGRAM}); "
              f"max_tokens {args.max_tokens}; threads "
              f"{generator._llm.n_threads}/{generator._llm.context_params.n_threads_batch} (one token/batch)")
        watch = CpuWatch()
        plain: list[list[Run]] = [[] for _ in cases]
        drafted: list[list[Run]] = [[] for _ in cases]
        run(generator, *cases[0][1:3], 0, 4)  # warm the weights and the fixed prefix once
        base = LIBRARY if args.library else 0
        for r in range(args.repeat):
            for i, (question, messages, grammar, drafter) in enumerate(cases):
                reply = ReplyDrafter(drafter, question)
                plain_guess = reply if args.reply_both else drafter if args.quotes and args.reply else None
                drafted_guess = reply if args.reply else drafter if args.quotes else None
                kinds = ((base, plain, plain_guess), (args.draft, drafted, drafted_guess))
                for draft, runs, guess in kinds if (i + r) % 2 == 0 else kinds[::-1]:
                    runs[i].append(run(generator, messages, grammar, draft, args.max_tokens, guess))
                if args.show:
                    p, d = plain[i][-1], drafted[i][-1]
                    print(f"  [{r + 1}.{i + 1}] completion {p.completion_s:.2f} s plain, {d.completion_s:.2f} s drafted "
                          f"({p.completion_tokens - 1} tokens); same text {same_text(p, d)}, logprob gap "
                          f"{logprob_gap(p, d):.1e}; accepted {d.stats.accepted}/{d.stats.drafted}", flush=True)
        others = watch.others_share()

    same = sum(all(identical(p, d) for p in ps for d in ds) for ps, ds in zip(plain, drafted))
    same_texts = sum(all(same_text(p, d) for p in ps for d in ds) for ps, ds in zip(plain, drafted))
    gaps = [logprob_gap(p, d) for ps, ds in zip(plain, drafted) for p in ps for d in ds if same_text(p, d)]
    median = statistics.median
    ratio = [median(d.completion_s for d in ds) / median(p.completion_s for p in ps)
             for ps, ds in zip(plain, drafted)]
    stats = DraftStats()
    for ds in drafted:
        stats.add(ds[0].stats)
    written = sum(ds[0].completion_tokens - 1 for ds in drafted)
    if args.show:
        for (question, *_), ps, ds, q_ratio in zip(cases, plain, drafted, ratio):
            p, d = ps[0], ds[0]
            print(f"- {question}\n  {''.join(d.pieces)!r}\n  identical {all(identical(x, y) for x in ps for y in ds)}"
                  f"; {d.completion_tokens - 1} tokens; completion {median(x.completion_s for x in ps):.2f} s plain, "
                  f"{median(x.completion_s for x in ds):.2f} s drafted ({q_ratio:.2f}x); accepted "
                  f"{d.stats.accepted}/{d.stats.drafted}")
    print(f"identical answers (text, token count, logprobs within 1e-3): {same}/{len(cases)}; same text and token "
          f"count: {same_texts}/{len(cases)}; largest logprob gap where the text is the same: "
          f"{max(gaps, default=0.0):.2e}")
    print(f"completion tokens/s, median of runs: plain {median(r.tokens_per_s for rs in plain for r in rs):.1f}, "
          f"drafted {median(r.tokens_per_s for rs in drafted for r in rs):.1f}")
    print(f"completion phase, median per question: plain {median(median(r.completion_s for r in rs) for rs in plain):.2f} s, "
          f"drafted {median(median(r.completion_s for r in rs) for rs in drafted):.2f} s; drafted/plain time per "
          f"question: median {median(ratio):.2f}, range {min(ratio):.2f}-{max(ratio):.2f}; all questions: "
          f"{sum(median(r.completion_s for r in rs) for rs in drafted) / sum(median(r.completion_s for r in rs) for rs in plain):.2f}")
    cpu_ratio = [median(d.completion_cpu for d in ds) / median(p.completion_cpu for p in ps)
                 for ps, ds in zip(plain, drafted)]
    print(f"completion phase CPU time (all threads) drafted/plain per question: median {median(cpu_ratio):.2f}; "
          f"all questions: {sum(median(r.completion_cpu for r in rs) for rs in drafted) / sum(median(r.completion_cpu for r in rs) for rs in plain):.2f}")
    print(f"prompt phase (to the first piece), median: plain {median(r.prompt_s for rs in plain for r in rs):.2f} s, "
          f"drafted {median(r.prompt_s for rs in drafted for r in rs):.2f} s")
    whole = [median(d.prompt_s + d.completion_s for d in ds) / median(p.prompt_s + p.completion_s for p in ps)
             for ps, ds in zip(plain, drafted)]
    print(f"whole answer (prompt + completion) drafted/plain per question: median {median(whole):.2f}")
    print(f"drafts: acceptance {stats.accepted}/{stats.drafted} = {stats.acceptance:.2f} ({stats.proposed} drafted "
          f"tokens were quote guesses); written tokens from "
          f"accepted drafts {stats.accepted}/{written} = {stats.accepted / max(written, 1):.2f}; "
          f"decode calls per written token {stats.batches / max(written, 1):.2f}")
    print(f"machine: other processes used {others:.0%} of the CPU during the runs; load average after: "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}" + (" (busy)" if others > 0.1 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
