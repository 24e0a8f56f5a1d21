"""One loaded model for many callers (the chat's sessions, the server's requests), switched under a lock."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Callable, Iterator

from rag.config import Config
from rag.models.factories import make_generator
from rag.models.generator import Generator, Guess, Usage


class SharedGenerator:
    """The Generator every request uses: one loaded model, replaced under a lock when another is chosen."""

    def __init__(self, config: Config, loader: Callable[[Config], Generator] = make_generator):
        self._config, self._loader = config, loader
        self._wanted = config.model
        self._current: Generator | None = None
        self._lock = threading.Lock()
        self.loads = 0  # how many models were loaded: tests check that a second request loads nothing

    @property
    def name(self) -> str:
        """The model's registry name (or path): what the model menu shows."""
        return self._wanted

    @property
    def identity(self):
        """The loaded model's identity (rag.models.identity), which its calibration is matched on."""
        from rag.models.identity import identity_of

        return identity_of(self.use())

    @property
    def loaded(self) -> str | None:
        return self._wanted if self._current is not None else None

    def use(self, model: str | None = None) -> Generator:
        """The loaded model, first loading `model` (default: the one in use) if it is another one."""
        with self._lock:
            model = model or self._wanted
            if self._current is None or model != self._wanted:
                # The old model stays in service until the new one loads: a failed switch changes nothing.
                self._current = self._loader(replace(self._config, model=model))
                self._wanted = model
                self.loads += 1
            return self._current

    def count_tokens(self, text: str) -> int:
        return self.use().count_tokens(text)

    def stream(self, messages: list[dict], max_tokens: int, temperature: float, usage: Usage,
               grammar: str | None = None, prefill: str = "", guess: Guess | None = None) -> Iterator[str]:
        return self.use().stream(messages, max_tokens, temperature, usage, grammar=grammar, prefill=prefill,
                                 guess=guess)
