"""What every request of a server shares: the chat service (index, embedder, one model), the model's line, the key."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from rag.answer.assistant import Assistant
from rag.chat import ChatService
from rag.config import Config
from rag.models.factories import make_embedder
from rag.server.errors import unavailable
from rag.server.exclusive import ExclusiveChatService
from rag.server.model_queue import ModelQueue
from rag.server.stopping import StoppableGenerator
from rag.store.factory import display_location, is_url


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


class IndexWatch:
    """Notices that an ingest committed a new generation of a folder index, so that the next request reads it.

    (A database index needs nothing: its readers see each article as soon as it is written.)
    """

    def __init__(self, service: ChatService):
        self.service = service
        self._seen = self._pointer()

    def _pointer(self) -> str | None:
        location = self.service.config.index_dir
        if is_url(location):
            return None
        from rag.store.generations import CURRENT

        try:
            return (Path(location) / CURRENT).read_text(encoding="utf-8")
        except OSError:
            return None

    def check(self) -> None:
        pointer = self._pointer()
        if pointer != self._seen:
            self._seen = pointer
            self.service.assistant.reload_index()


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
        self.watch = IndexWatch(self.service)

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
