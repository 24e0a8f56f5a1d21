"""The Generator protocol and its llama.cpp implementation (a GGUF model run on the CPU)."""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Protocol

from rag.errors import ModelError
from rag.models.decoding import DraftStats, Guess, stream_completion
from rag.models.llama_layout import weights_layout
from rag.models.llama_state import LlamaState


@dataclass
class Usage:
    """Token counts of one generation, filled in while it streams."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    logprobs: list[float] = field(default_factory=list)  # of each generated token, where the backend gives them
    # False when the backend gave no log-probabilities at all (a model server without them): the confidence
    # then leaves those signals out rather than reading an empty list as improbable.
    logprobs_available: bool = True


class Generator(Protocol):
    """Streams a chat answer and counts tokens the way the model itself does."""

    name: str

    def count_tokens(self, text: str) -> int: ...

    def stream(self, messages: list[dict], max_tokens: int, temperature: float, usage: Usage,
               grammar: str | None = None, prefill: str = "", guess: Guess | None = None) -> Iterator[str]:
        """Stream the reply to `messages`; `grammar` (GBNF) constrains it, `prefill` is reply text it continues.
        `guess(reply so far)` may name the text likely to come next (the rest of a sentence being quoted): a
        backend that can check a draft in one batch uses it, others ignore it; the reply is the model's either way."""
        ...


class LlamaCppGenerator:
    """A GGUF chat model through llama-cpp-python, formatted with the chat template stored in the file."""

    def __init__(self, name: str, path: Path, n_ctx: int = 4096, threads: int = 0, cache_dir: Path | None = None,
                 draft_tokens: int = 0, repack: bool = True):
        self.name = name
        # Greedy answers draft up to this many tokens from the prompt per batch (rag.models.decoding); 0: off.
        self.draft_tokens = draft_tokens
        self.draft_stats = DraftStats()  # of the last stream
        self._path = Path(path)
        self._cache_dir = Path(cache_dir) / "prefix-states" if cache_dir else None
        self.restored_tokens = 0  # prompt tokens read from a saved state instead of evaluated
        try:
            import llama_cpp
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as exc:
            raise ModelError("llama-cpp-python is not installed: pip install llama-cpp-python") from exc
        try:
            # Both cores for writing too: llama-cpp-python's default uses half of them for generation. The weights
            # repacked for llama.cpp's AVX2 kernels, or not (rag.models.llama_layout).
            with weights_layout(repack):
                self._llm = llama_cpp.Llama(str(path), n_ctx=n_ctx, n_threads=threads or os.cpu_count() or None,
                                            verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"Could not load {path} as a GGUF model ({exc}).") from exc
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelError(f"{path} carries no chat template; use an instruct/chat GGUF.")
        eos = self._llm.detokenize([self._llm.token_eos()], special=True).decode("utf-8", "ignore")
        bos_id = self._llm.token_bos()
        bos = self._llm.detokenize([bos_id], special=True).decode("utf-8", "ignore") if bos_id >= 0 else ""
        self._format = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        self._n_ctx = n_ctx
        # One llama.cpp context serves one request at a time; the UI's worker threads queue here.
        self._lock = threading.Lock()
        self._grammars: dict[str, object] = {}
        self._state = LlamaState(self._llm)

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, messages: list[dict], max_tokens: int, temperature: float, usage: Usage,
               grammar: str | None = None, prefill: str = "", guess: Guess | None = None) -> Iterator[str]:
        formatted, tokens = self.prompt_tokens(messages, prefill)
        if len(tokens) + max_tokens > self._n_ctx:
            raise ModelError(f"The prompt ({len(tokens)} tokens) and answer ({max_tokens}) exceed the model's "
                             f"context of {self._n_ctx}; lower evidence_tokens or raise n_ctx.")
        stops = [s for s in (formatted.stop if isinstance(formatted.stop, list) else [formatted.stop]) if s]
        usage.prompt_tokens = len(tokens)
        with self._lock:
            prefix = self._fixed_prefix(messages, tokens)
            self._restore(prefix)
            scorer = _TokenLogprobs(usage.logprobs)
            self.draft_stats = DraftStats()
            for text in self._pieces(tokens, max_tokens, temperature, stops, grammar, scorer, guess):
                usage.completion_tokens += 1
                if text:
                    yield text
            scorer.finish()
            self._save(prefix)

    def prompt_tokens(self, messages: list[dict], prefill: str = "") -> tuple:
        """The chat template's rendering of `messages` (its stop strings too) and the tokens the model reads for
        it, `prefill` (reply text to continue) included."""
        formatted = self._format(messages=messages)
        return formatted, self._llm.tokenize((formatted.prompt + prefill).encode("utf-8"),
                                             add_bos=not formatted.added_special, special=True)

    def _pieces(self, tokens: list[int], max_tokens: int, temperature: float, stops: list[str],
                grammar: str | None, scorer: _TokenLogprobs, guess: Guess | None = None) -> Iterator[str]:
        """The completion's text pieces as create_completion streams them.

        Greedy answers go through rag's own loop (rag.models.decoding): the same one-token decodes and so the same
        text and log-probabilities as create_completion, but the grammar judges the model's top pick alone and
        the whole vocabulary only when it refuses it. llama-cpp-python's sampler runs the grammar over all ~152k
        tokens of Qwen's vocabulary at every step: 17 written tokens/s instead of 26 (AMD EPYC, 2 cores). Only this
        loop drafts `guess`'s text; sampled answers (temperature > 0) write every token one step at a time."""
        if temperature == 0:
            yield from stream_completion(self._llm, tokens, max_tokens, stops, self._grammar(grammar), scorer,
                                         max_draft=self.draft_tokens, stats=self.draft_stats, guess=guess)
            return
        import llama_cpp

        for piece in self._llm.create_completion(
                tokens, max_tokens=max_tokens, temperature=temperature, stream=True, stop=stops or None,
                grammar=self._grammar(grammar), logits_processor=llama_cpp.LogitsProcessorList([scorer])):
            yield piece["choices"][0]["text"]

    def _grammar(self, grammar: str | None):
        if grammar is None:
            return None
        compiled = self._grammars.get(grammar)
        if compiled is None:
            from llama_cpp import LlamaGrammar

            try:
                compiled = self._grammars[grammar] = LlamaGrammar.from_string(grammar, verbose=False)
            except ValueError as exc:
                raise ModelError(f"The answer grammar does not parse ({exc}).") from exc
        return compiled

    # The rules and worked examples open every prompt. Their llama.cpp state is saved once to the cache, so a
    # fresh `rag ask` process reads only the passages and the question (~250 prompt tokens, ~3 s, saved).

    def _fixed_prefix(self, messages: list[dict], tokens: list[int]) -> list[int]:
        """The tokens every prompt shares: all but the last message, found by varying only the last message."""
        probe = [*messages[:-1], {"role": messages[-1]["role"], "content": "\u2063"}]
        other = self._llm.tokenize(self._format(messages=probe).prompt.encode("utf-8"), add_bos=False, special=True)
        n = 0
        for a, b in zip(tokens, other):
            if a != b:
                break
            n += 1
        return list(tokens[:n])

    def _state_file(self, prefix: list[int]) -> Path | None:
        if self._cache_dir is None or len(prefix) < 32:
            return None
        key = hashlib.sha1(f"{self._path.name}:{self._path.stat().st_size}:{self._n_ctx}:{prefix}".encode())
        return self._cache_dir / f"{self.name.replace('/', '_')}-{key.hexdigest()[:16]}.state"

    def _restore(self, prefix: list[int]) -> None:
        path = self._state_file(prefix)
        if path is None or self._state.tokens_held or not path.is_file():
            return  # nothing saved, or this process already holds a prefix in memory
        if self._state.load(path.read_bytes(), prefix):
            self.restored_tokens = len(prefix)
        else:
            path.unlink(missing_ok=True)  # from another llama.cpp build: drop it, it will be saved again

    def _save(self, prefix: list[int]) -> None:
        path = self._state_file(prefix)
        if path is None or path.is_file():
            return
        data = self._state.dump(prefix)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".partial-{os.getpid()}")
        partial.write_bytes(data)
        os.replace(partial, path)


class _TokenLogprobs:
    """A llama.cpp logits processor that records the log-probability of each token the model goes on to pick.

    It sees the model's own distribution before any grammar masks it, so a token the grammar forced on an
    unwilling model shows up as improbable: a signal for the confidence score.
    """

    def __init__(self, out: list[float]):
        self.out = out
        self._log_normalisers: list[float] = []
        self._picked_logits: list[float] = []
        self._previous = None

    def __call__(self, input_ids, logits):
        import numpy as np

        if self._previous is not None:
            self._picked_logits.append(float(self._previous[int(input_ids[-1])]))
        values = np.asarray(logits, dtype=np.float32)
        top = float(values.max())
        self._log_normalisers.append(top + float(np.log(np.exp(values - top).sum())))
        self._previous = values.copy()
        return logits

    def finish(self) -> None:
        """Write out the log-probabilities of the picks seen so far (the very last pick, an end token, is never
        fed back to the model, so it has none)."""
        self.out.extend(logit - norm for logit, norm in zip(self._picked_logits, self._log_normalisers))
