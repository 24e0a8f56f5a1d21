"""Stopping a generation between two tokens, from the request that owns it (it left, or its time ran out).

The pipeline writes its quotes before the answer and yields nothing while it does, so a stop checked only
between the pipeline's events would come late. The model is wrapped instead: the thread that drives an API
answer marks itself with that answer's stop condition, and the wrapper checks it at every token.
"""

from __future__ import annotations

import threading
from typing import Callable, Iterator

from rag.errors import RagError
from rag.models.generator import Generator, Guess, Usage

_current = threading.local()


class Stopped(RagError):
    """The request this generation was for no longer wants it."""


def stop_when(condition: Callable[[], bool] | None) -> None:
    """From now on, generations in this thread stop as soon as `condition()` is true (None: never)."""
    _current.condition = condition


def should_stop() -> bool:
    condition = getattr(_current, "condition", None)
    return bool(condition and condition())


class StoppableGenerator:
    """A Generator that ends its stream (closing the model's, which frees llama.cpp) when its thread's
    request is over; threads that set no condition (the chat page's) are not affected."""

    def __init__(self, inner: Generator):
        self.inner = inner

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def identity(self):
        from rag.models.identity import identity_of

        return identity_of(self.inner)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def stream(self, messages: list[dict], max_tokens: int, temperature: float, usage: Usage,
               grammar: str | None = None, prefill: str = "", guess: Guess | None = None) -> Iterator[str]:
        if should_stop():
            raise Stopped("The request was withdrawn before its answer began.")
        pieces = self.inner.stream(messages, max_tokens, temperature, usage, grammar=grammar, prefill=prefill,
                                   guess=guess)
        try:
            for piece in pieces:
                yield piece
                if should_stop():
                    raise Stopped("The request was withdrawn; its answer was stopped.")
        finally:
            close = getattr(pieces, "close", None)
            if close:
                close()
