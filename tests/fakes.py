"""Stand-ins for the embedder and the LLM, so unit tests run in milliseconds without model files."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from rag.models.generator import Usage

# What the real model writes for the demo question under the answer grammar: quotes, then the answer.
DENIAL = ('QUOTE [1]: "The ministry denied its involvement in the airstrikes"\n'
          "ANSWER: Iraq's Ministry of Defense denied it [1].\n")


def quoted(answer: str, *quotes: tuple[int, str]) -> str:
    """A reply in the grammar's shape: QUOTE lines, then ANSWER."""
    return "".join(f'QUOTE [{n}]: "{q}"\n' for n, q in quotes) + f"ANSWER: {answer}\n"


class FakeEmbedder:
    """Bag of hashed words: texts sharing words get similar vectors, which is all retrieval tests need."""

    def __init__(self, name: str = "fake-embedder", dim: int = 64):
        self.name, self.dim = name, dim
        self.calls = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


class FakeGenerator:
    """Replies with a fixed text (or a function of the messages) and records what it was shown."""

    def __init__(self, reply=DENIAL, name: str = "fake-llm"):
        self.name = name
        self.reply = reply
        self.messages: list[dict] | None = None
        self.grammar: str | None = None
        self.calls = 0

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, messages, max_tokens, temperature, usage: Usage, grammar=None, prefill="", guess=None):
        self.messages, self.grammar = messages, grammar
        self.calls += 1
        reply = self.reply(messages) if callable(self.reply) else self.reply
        usage.prompt_tokens = sum(self.count_tokens(m["content"]) for m in messages)
        for piece in re.findall(r"\S+\s*|\s+", reply):
            usage.completion_tokens += 1
            usage.logprobs.append(-0.1)
            yield piece


class ConstantEmbedder:
    """Every text gets the same vector: for the chat's tests, where what is retrieved does not matter."""

    name, dim = "fake-embedder", 4

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.ones((len(texts), self.dim), dtype=np.float32) / 2


class SilentGenerator:
    """A model named like the one asked for that always says "Nothing." (the chat's page tests)."""

    def __init__(self, name: str):
        self.name = name

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, messages, max_tokens, temperature, usage, grammar=None, prefill="", guess=None):
        yield "Nothing."


def fake_embedder(config) -> FakeEmbedder:
    """A FakeEmbedder from a config, by a module-level function: a spawned child process can import it."""
    return FakeEmbedder()


class FailingEmbedder(FakeEmbedder):
    """The fake embedder until its `fail_on`-th call, which raises (or, with `kill`, ends the process, as an
    embedding worker killed mid-way would). With `once_marker`, only the first process to get there fails."""

    def __init__(self, fail_on: int = 2, kill: bool = False, once_marker: str = ""):
        super().__init__()
        self.fail_on, self.kill, self.once_marker = fail_on, kill, once_marker

    def embed(self, texts: list[str]) -> np.ndarray:
        if self.calls + 1 == self.fail_on and self._first_failure():
            if self.kill:
                import os

                os._exit(1)
            raise RuntimeError("embedding worker failed on purpose")
        return super().embed(texts)

    def _first_failure(self) -> bool:
        if not self.once_marker:
            return True
        from pathlib import Path

        marker = Path(self.once_marker)
        if marker.exists():
            return False
        marker.write_text("failed once")
        return True


class StallingEmbedder(FakeEmbedder):
    """Touches `marker` when first asked to embed, then stalls: an ingest to interrupt while it embeds."""

    def __init__(self, marker: str):
        super().__init__()
        self.marker = marker

    def embed(self, texts: list[str]) -> np.ndarray:
        import time
        from pathlib import Path

        Path(self.marker).touch()
        time.sleep(120)
        return super().embed(texts)
