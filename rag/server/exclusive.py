"""One answer at a time on the one model, whether the API or the chat page asks: llama.cpp is not thread-safe.

The API's own line (rag.server.model_queue) orders API requests; the chat page has Gradio's queue. Both end in
`ChatService.ask`, so that is where they take turns with each other.
"""

from __future__ import annotations

import threading
from typing import Iterator, Sequence

from rag.answer.retrieve import Filters
from rag.chat import ChatService
from rag.server.stopping import Stopped, should_stop
from rag.types import Event

_POLL_S = 0.1  # how often a waiting answer checks whether its request still wants it


class ExclusiveChatService(ChatService):
    """A ChatService whose answers hold the model from their first event to their last (or to being closed)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.model_lock = threading.Lock()  # a Lock (not RLock): Gradio may close a stream from another thread

    def ask(self, question: str, history: Sequence[tuple[str, str]] = (), model: str | None = None,
            k: int | None = None, filters: Filters | None = None) -> Iterator[Event]:
        while not self.model_lock.acquire(timeout=_POLL_S):
            if should_stop():  # an API request that left or ran out of time while the chat page had the model
                raise Stopped("The request was withdrawn while the model answered someone else.")
        try:
            yield from super().ask(question, history, model, k, filters)
        finally:
            self.model_lock.release()
