"""What every request of a server shares: the chat service (index, embedder, one model), the model's line, the key."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rag.answer.assistant import Assistant
from rag.chat import ChatService
from rag.config import Config
from rag.index_watch import IndexWatch
from rag.models.factories import make_embedder
from rag.server.errors import unavailable
from rag.server.exclusive import ExclusiveChatService
from rag.server.model_queue import ModelQueue
from rag.server.stopping import StoppableGenerator
from rag.store.factory import display_location


def make_service(config: Config) -> ChatService:
    """The one index, embedder and model that the API and the chat page share.

    The assistant reads the model through StoppableGenerator, so an API answer stops at the next token when its
    client leaves; it is still the service's one SharedGenerator underneath (the rewrite step uses it directly).
    API answers and the chat page's take turns on it (ExclusiveChatService).
    """
    service = ExclusiveChatService(config, embedder=make_embedder(config))
    service.assistant = Assistant(config, embedder=service.assistant.embedder,
                                  generator=StoppableGenerator(service.generator))
    return service


@dataclass
class ServerContext:
    """The state of one `rag serve` process, built once and read by every request."""

    service: ChatService
    api_key: str | None = None
    queue: ModelQueue = field(init=False)
    watch: IndexWatch = field(init=False)
    created: int = field(default_factory=lambda: int(time.time()))

    def __post_init__(self):
        self.queue = ModelQueue(self.service.config.serve_queue_size)
        self.watch = self.service.watch

    @property
    def config(self) -> Config:
        return self.service.config

    def require_index(self) -> None:
        """503 when there is nothing to answer from; picks up a newer index generation otherwise."""
        if not self.service.has_index():
            raise unavailable(f"No articles are indexed at {display_location(self.config.index_dir)} yet: run "
                              "`rag ingest PATH --index ...` (the server picks the new index up by itself).",
                              "no_index")
        self.watch.check()

    def health(self) -> dict:
        index_ok = self.service.has_index()
        loaded = self.service.generator.loaded
        return {"status": "ok" if index_ok else "no_index", "index": index_ok, "model_loaded": loaded is not None,
                "model": self.service.generator.name, "queue": self.queue.waiting, "busy": self.queue.running}

    def warm_up(self) -> None:
        """The embedder and index now, so that concurrent first requests don't race to load them."""
        self.service.warm_up(model=False)  # without an index it only logs: requests get 503 until there is one
