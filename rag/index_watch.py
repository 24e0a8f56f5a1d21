"""Noticing that an ingest (a sync, an upload, `rag ingest` in another process) committed a new index generation."""

from __future__ import annotations

import threading
from pathlib import Path

from rag.store.factory import is_url


class IndexWatch:
    """Notices that an ingest committed a new generation of a folder index, so that the next request reads it.

    (A database index needs nothing: its readers see each article as soon as it is written.)
    """

    def __init__(self, service):
        self.service = service  # a ChatService: its config and assistant
        self._lock = threading.Lock()
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
        """Reload the index if its generation changed: answers in flight keep the store they started with."""
        pointer = self._pointer()
        with self._lock:
            if pointer != self._seen:
                self._seen = pointer
                self.service.assistant.reload_index()
