"""Greedy decoding under a grammar, one token a step or with prompt-lookup drafts checked in one batch.

`max_draft=0` is plain greedy decoding: the same one-token decodes as `Llama.create_completion(temperature=0)`,
so the same text and log-probabilities, bit for bit (tests/test_drafting.py), but faster: the grammar judges
the model's top pick alone, and the whole vocabulary only when it refuses that pick.

With `max_draft > 0`, an answer's copied words are drafted. After each token the longest recent n-gram of the
text (the last 3 or 2 tokens) is looked up in everything the model has read or written so far; the tokens that
followed its latest earlier occurrence are the draft. The model reads the last token and the draft in ONE batch
with logits for every position, and the draft is accepted for as long as each drafted token equals the
model's own greedy pick under the grammar at that position. The first pick that differs is the model's own
next token; the rejected tail leaves the KV cache. The text is the one plain greedy decoding writes whenever
the batched logits pick as the one-token steps do: always when llama.cpp computes a batch token by token
(n_ubatch=1, the identity test), or with kernels that do not depend on the batch size; see `stream_completion`
for this build's batch kernels. (On 2 CPU cores a batch of a few tokens costs about as much as its steps, so
n-gram drafting is off; a batch of ~20 costs about half. The caller's own guesses, `propose`, are drafted
whatever `max_draft` is: rag guesses the rest of a quote, the lines' openings and the answer's copied words,
rag.answer.quote_drafts and rag.answer.reply_guesses.)

The module has three parts, each testable on its own:
- `NgramIndex`: the lookup (pure Python);
- `speculative_greedy`: drafting, verification and the bookkeeping of accepted tokens, against the small
  `DraftModel` protocol (tests drive it with a scripted fake);
- `LlamaDraftModel` and `stream_completion`: the llama-cpp-python side (batches with per-token logits
  flags, greedy picks under a llama.cpp grammar sampler, KV-cache truncation) and the streamed text, chunked
  exactly as `Llama.create_completion(stream=True)` chunks it.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Callable, Iterator, Protocol, Sequence

from rag.models.completion_text import CompletionText

Guess = Callable[[str], str]  # the reply so far -> the text likely to come next ("" for no guess)

DEFAULT_NGRAM = 3  # the longest n-gram of recent text looked up
DEFAULT_MIN_NGRAM = 2  # the shortest one that may still propose a draft (single tokens recur everywhere)


@dataclass
class DraftStats:
    """What drafting did in one generation: the benchmark's acceptance figures."""

    picks: int = 0  # tokens the model picked (written tokens, and the end token if it was picked)
    drafted: int = 0  # drafted tokens the model read in a batch
    accepted: int = 0  # drafted tokens that were the model's own picks (written without a step of their own)
    batches: int = 0  # decode calls after the prompt (batches and single steps)
    proposed: int = 0  # drafted tokens that came from the caller's `propose` (the rest of a quote)

    def add(self, other: DraftStats) -> None:
        self.picks += other.picks
        self.drafted += other.drafted
        self.accepted += other.accepted
        self.batches += other.batches
        self.proposed += other.proposed

    @property
    def acceptance(self) -> float:
        """Accepted drafted tokens per drafted token."""
        return self.accepted / self.drafted if self.drafted else 0.0

    @property
    def drafted_share(self) -> float:
        """The share of picked tokens that came from accepted drafts."""
        return self.accepted / self.picks if self.picks else 0.0


class NgramIndex:
    """Where each n-gram (n <= max_ngram) of a growing token sequence last occurred with a token after it.

    `draft(k)` proposes the up to k tokens that followed the latest earlier occurrence of the longest suffix
    n-gram (longest first, down to min_ngram); `append` keeps the index current in O(max_ngram).
    """

    def __init__(self, tokens: Sequence[int] = (), max_ngram: int = DEFAULT_NGRAM, min_ngram: int = DEFAULT_MIN_NGRAM):
        if not 1 <= min_ngram <= max_ngram:
            raise ValueError(f"need 1 <= min_ngram <= max_ngram, got {min_ngram} and {max_ngram}")
        self.max_ngram, self.min_ngram = max_ngram, min_ngram
        self.tokens: list[int] = []
        self._next: dict[tuple[int, ...], int] = {}  # n-gram -> index of the token that followed it, latest
        for token in tokens:
            self.append(int(token))

    def append(self, token: int) -> None:
        # The n-grams ending at the current end get a follower now; before, they were only the suffix.
        end = len(self.tokens)
        for n in range(1, min(self.max_ngram, end) + 1):
            self._next[tuple(self.tokens[end - n:])] = end
        self.tokens.append(token)

    def draft(self, limit: int) -> list[int]:
        if limit <= 0:
            return []
        end = len(self.tokens)
        for n in range(min(self.max_ngram, end), self.min_ngram - 1, -1):
            start = self._next.get(tuple(self.tokens[end - n:]))
            if start is not None:
                return self.tokens[start:start + limit]
        return []


class DraftModel(Protocol):
    """The model as drafting needs it; `LlamaDraftModel` is the real one."""

    def pick(self, row: int) -> int:
        """The greedy pick under the grammar from the logits of `row` of the last decode (-1: its last row); the
        grammar state advances by the pick."""
        ...

    def decode(self, tokens: list[int]) -> None:
        """Append `tokens` to the context, with logits for each of them."""
        ...

    def keep(self, n: int) -> None:
        """Keep only the first `n` tokens of the last decode in the context."""
        ...

    def room(self) -> int:
        """How many more tokens the context can hold."""
        ...


def speculative_greedy(model: DraftModel, history: Sequence[int], max_draft: int, max_tokens: int | None = None,
                       max_ngram: int = DEFAULT_NGRAM, min_ngram: int = DEFAULT_MIN_NGRAM,
                       stats: DraftStats | None = None,
                       propose: Callable[[], list[int]] | None = None) -> Iterator[int]:
    """The model's greedy picks, one by one, the prompt (`history`) already decoded with logits for its last token.

    The consumer stops when it has enough (end token, stop string, max_tokens); nothing is decoded beyond the
    token it stops at except drafted tokens in flight. Drafts are at most `max_draft` tokens, and never longer
    than what `max_tokens` (counting picks) can still use.

    `propose`, asked after each pick has been consumed, may return the caller's own draft (the rest of a sentence
    being quoted, rag.answer.quote_drafts); it is checked like any draft, and the n-gram lookup drafts only when
    it proposes nothing. Its drafts may run to the end of the room: the caller knows when a long one is likely.
    """
    stats = stats if stats is not None else DraftStats()
    index = NgramIndex(history, max_ngram, min_ngram)
    # A drafted token costs nearly a step when it is wrong: drafts start short and double while they are taken
    # whole, and halve when their first token is already wrong (a phrase that recurs, not a quote being copied).
    cap = min(max_draft, 4)
    token = model.pick(-1)
    picked = 1
    while True:
        stats.picks += 1
        yield token
        index.append(token)
        # Drafted tokens and the pick after them must fit in max_tokens and the context.
        room = model.room() - 1 if max_tokens is None else min(model.room() - 1, max_tokens - picked - 1)
        limit = min(cap, room)
        guessed = propose()[:max(room, 0)] if propose is not None else []
        draft = guessed or index.draft(limit)
        stats.proposed += len(guessed)
        model.decode([token, *draft])
        stats.batches += 1
        stats.drafted += len(draft)
        for row, proposed in enumerate(draft):
            token = model.pick(row)
            picked += 1
            if token != proposed:
                model.keep(row + 1)  # the last token and the accepted drafts; the rejected tail goes
                if row == 0 and not guessed:
                    cap = max(1, cap // 2)
                break
            stats.accepted += 1
            stats.picks += 1
            yield token
            index.append(token)
        else:
            if draft and len(draft) == limit and not guessed:
                cap = min(max_draft, cap * 2)
            token = model.pick(len(draft))
            picked += 1


class LlamaDraftModel:
    """A `llama_cpp.Llama` context as a DraftModel: greedy picks under a GBNF grammar, batches with logits for
    every drafted position only (the prompt keeps logits for its last token only, as plain decoding does).

    `observe(input_ids, logits)` sees every picked position's raw logits (before the grammar) with the tokens
    read so far, as a llama-cpp-python logits processor would: the log-probability recorder.
    """

    def __init__(self, llm, grammar=None, observe: Callable | None = None):
        import llama_cpp
        import numpy as np

        self._llm, self._llama_cpp, self._np = llm, llama_cpp, np
        self._observe = observe
        self._n_vocab = llm.n_vocab()
        self._base = llm.n_tokens  # where the last decode started
        self._grammar = None
        if grammar is not None:
            self._grammar = llama_cpp.llama_sampler_init_grammar(
                llm._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8"))
            if not self._grammar:
                raise ValueError("llama.cpp could not build the grammar sampler")
        self._one_data = (llama_cpp.llama_token_data * 1)()  # kept: the array below points into it
        self._one = llama_cpp.llama_token_data_array(data=self._one_data, size=1, selected=-1, sorted=False)
        self._all = None

    def close(self) -> None:
        if self._grammar is not None:
            self._llama_cpp.llama_sampler_free(self._grammar)
            self._grammar = None

    def prompt(self, tokens: Sequence[int]) -> None:
        """Bring the context to `tokens` as `Llama.generate` does: reuse the longest cached prefix, evaluate the
        rest (at least one token, so the last logits come from a live decode), logits for the last only."""
        llm = self._llm
        tokens = list(tokens)
        common = 0
        for held, wanted in zip(llm.input_ids[:llm.n_tokens].tolist(), tokens):
            if held != wanted:
                break
            common += 1
        if common == len(tokens) and llm.n_tokens == len(tokens) and not llm._requires_eval:
            self._base = llm.n_tokens - 1
            return  # the logits of the last prompt token are live; Llama.generate samples from them too
        reuse = common - 1 if common == len(tokens) else common
        if reuse > 0 and llm._ctx.kv_cache_seq_rm(-1, reuse, -1):
            llm.n_tokens = reuse
        else:
            llm.reset()
            reuse = 0
        llm.eval(tokens[reuse:])
        self._base = llm.n_tokens - 1

    def pick(self, row: int) -> int:
        np, llama_cpp, llm = self._np, self._llama_cpp, self._llm
        index = row if row >= 0 else llm.n_tokens - 1 - self._base
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, row), shape=(self._n_vocab,))
        if self._observe is not None:
            self._observe(llm.input_ids[: self._base + index + 1], logits)
        token = int(np.argmax(logits))
        if self._grammar is not None:
            if not self._allowed(token, float(logits[token])):
                token = self._grammar_argmax(logits)
            llama_cpp.llama_sampler_accept(self._grammar, token)
        return token

    def _allowed(self, token: int, logit: float) -> bool:
        """Whether the grammar lets `token` come next (it judges every candidate on its own, so one suffices)."""
        entry = self._one_data[0]
        entry.id, entry.logit, entry.p = token, logit, 0.0
        self._one.size, self._one.selected, self._one.sorted = 1, -1, False
        self._llama_cpp.llama_sampler_apply(self._grammar, ctypes.byref(self._one))
        return self._one_data[0].logit != float("-inf")

    def _grammar_argmax(self, logits) -> int:
        """The greedy pick among the tokens the grammar allows: what llama.cpp's grammar + greedy chain picks
        (first of equal maxima)."""
        np, llama_cpp = self._np, self._llama_cpp
        if self._all is None:
            from llama_cpp._internals import LlamaTokenDataArray

            self._all = LlamaTokenDataArray(n_vocab=self._n_vocab)
        self._all.copy_logits(logits)
        llama_cpp.llama_sampler_apply(self._grammar, ctypes.byref(self._all.candidates))
        data = self._all.candidates_data[: self._all.candidates.size]
        return int(data.id[int(np.argmax(data.logit))])

    def decode(self, tokens: list[int]) -> None:
        llm = self._llm
        base = llm.n_tokens
        llm._ctx.kv_cache_seq_rm(-1, base, -1)
        llm._batch.set_batch(batch=tokens, n_past=base, logits_all=True)
        llm._ctx.decode(llm._batch)
        llm.input_ids[base: base + len(tokens)] = tokens
        llm.n_tokens = base + len(tokens)
        llm._requires_eval = False
        self._base = base

    def keep(self, n: int) -> None:
        llm = self._llm
        llm.n_tokens = self._base + n
        llm._ctx.kv_cache_seq_rm(-1, llm.n_tokens, -1)
        llm._requires_eval = True  # the last logits may belong to a dropped token

    def room(self) -> int:
        return self._llm.n_ctx() - self._llm.n_tokens


def stream_completion(llm, tokens: Sequence[int], max_tokens: int, stop: Sequence[str] = (), grammar=None,
                      observe: Callable | None = None, max_draft: int = 0, max_ngram: int | None = None,
                      min_ngram: int | None = None, stats: DraftStats | None = None,
                      guess: Guess | None = None) -> Iterator[str]:
    """Greedy `llm.create_completion(tokens, max_tokens=..., temperature=0, stream=True, stop=..., grammar=...,
    logits_processor=[observe])`: the same pieces of text, one per item (the final empty piece included). With
    `max_draft > 0`, each drafted run of accepted tokens is read in one batch. `guess(text so far)` may name the
    text likely to come next (the rest of a quote): it is drafted whether or not `max_draft` is 0.

    Caveat on numerics: the batch is exactly the tokens plain decoding reads one at a time, but llama.cpp
    computes a batch's logits with other kernels than a single token's (on x86: llamafile's sgemm for the
    attention products of 2+ tokens, the repacked Q4_K gemm for 4+, the tiled K-quant matmul for 8+). Their
    sums round differently, activations are re-quantized to 8 bits at every layer, and the logits of a batch
    end up to ~0.5 apart from a step's (log-probabilities ~0.1-0.3): a pick whose two best tokens are that
    close can differ from plain decoding's, and the recorded logprobs differ by that much.
    """
    text = CompletionText.for_llama(llm, tokens, max_tokens, stop)
    model = LlamaDraftModel(llm, grammar, observe)
    try:
        model.prompt(tokens)
        propose = None
        if guess is not None:
            def propose() -> list[int]:
                more = guess(text.so_far())
                return llm.tokenize(more.encode("utf-8"), add_bos=False, special=False) if more else []
        picks = speculative_greedy(model, tokens, max_draft, text.max_tokens, max_ngram or DEFAULT_NGRAM,
                                   min_ngram or DEFAULT_MIN_NGRAM, stats, propose)
        try:
            for token in picks:
                pieces, done = text.feed(token)
                yield from pieces
                if done:
                    break
        finally:
            picks.close()
        yield from text.finish()
    finally:
        model.close()
        llm._requires_eval = True  # the last logits may be a drafted token's: never sample from them later
