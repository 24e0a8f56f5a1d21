"""An in-memory store registered through the store factory as `fake://NAME`, for tests that need no files."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from rag.errors import IndexMissingError, IngestError
from rag.store.base import (
    Filters,
    Hybrid,
    HybridQuery,
    Manifest,
    Scored,
    StoreStats,
    check_chunking,
    check_embedder,
    fuse,
)
from rag.store.factory import Backend
from rag.types import Chunk, Document


@dataclass
class _Data:
    manifest: Manifest | None = None
    documents: dict[str, Document] = field(default_factory=dict)
    chunks: dict[int, Chunk] = field(default_factory=dict)
    vectors: dict[int, np.ndarray] = field(default_factory=dict)
    next_row: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)


INDEXES: dict[str, _Data] = {}  # fake://NAME -> its data; tests clear it


def _data(location: str) -> _Data:
    return INDEXES.setdefault(location, _Data())


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def _passes(doc: Document, filters: Filters | None) -> bool:
    if filters is None:
        return True
    if filters.outlet and (doc.outlet or "").lower() != filters.outlet.lower():
        return False
    if filters.since and not (doc.date and doc.date >= filters.since):
        return False
    if filters.until and not (doc.date and doc.date <= filters.until):
        return False
    return not (filters.asked_on and doc.date and doc.date > filters.asked_on)


class FakeStore:
    """Exact dense search and word-overlap keyword search over a snapshot of the data."""

    def __init__(self, location: str, data: _Data):
        self.location, self.manifest = location, data.manifest
        self._docs, self._chunks, self._vectors = dict(data.documents), dict(data.chunks), dict(data.vectors)

    @classmethod
    def open(cls, location: str, verify: str = "open", cache_dir: str | None = None) -> FakeStore:
        data = INDEXES.get(location)
        if data is None or data.manifest is None:
            raise IndexMissingError(f"No index at {location}. Build one first: rag ingest PATH... --index {location}")
        return cls(location, data)

    def _allowed(self, filters: Filters | None) -> list[int]:
        return [row for row, c in self._chunks.items() if _passes(self._docs[c.doc_id], filters)]

    def dense_search(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> Scored:
        scored = [(row, float(self._vectors[row] @ vector)) for row in self._allowed(filters)]
        return sorted(scored, key=lambda s: -s[1])[:k]

    def keyword_search(self, text: str, k: int, filters: Filters | None = None) -> Scored:
        words = _words(text)
        scored = [(row, float(len(words & _words(self._docs[self._chunks[row].doc_id].title + " "
                                                 + self._chunks[row].text)))) for row in self._allowed(filters)]
        return sorted([s for s in scored if s[1] > 0], key=lambda s: -s[1])[:k]

    def hybrid_search(self, query: HybridQuery) -> Hybrid:
        return fuse(self.dense_search(query.vector, query.fetch_k, query.filters),
                    self.keyword_search(query.text, query.fetch_k, query.filters), query)

    def chunks_by_row(self, rows: list[int]) -> dict[int, tuple[Chunk, Document]]:
        return {r: (self._chunks[r], self._docs[self._chunks[r].doc_id]) for r in rows if r in self._chunks}

    def documents(self) -> list[Document]:
        return sorted(self._docs.values(), key=lambda d: (d.date is not None, d.date or "", d.title))

    def stats(self) -> StoreStats:
        dates = sorted(d.date for d in self._docs.values() if d.date)
        outlets: dict[str, int] = {}
        for doc in self._docs.values():
            outlets[doc.outlet or "(unknown)"] = outlets.get(doc.outlet or "(unknown)", 0) + 1
        m = self.manifest
        return StoreStats(index=self.location, backend="fake", generation="-", documents=len(self._docs),
                          chunks=len(self._chunks), outlets=outlets,
                          date_range=(dates[0], dates[-1]) if dates else (None, None),
                          undated_documents=sum(d.date is None for d in self._docs.values()), embedder=m.embedder,
                          dim=m.dim, chunk_tokens=m.chunk_tokens, overlap=m.overlap, built=m.created, size_bytes=0)

    def check(self, full: bool = True) -> list[str]:
        return [f"{len(self._chunks)} chunks in memory"]

    def warm_up(self) -> None:
        pass

    def close(self) -> None:
        pass


class FakeWriter:
    """Collects changes and applies them on commit, holding the index's lock like the embedded writer."""

    def __init__(self, location: str, embedder: str, dim: int, chunk_tokens: int, overlap: int, on_wait=None,
                 cache_dir=None):
        self.location, self._data = location, _data(location)
        if not self._data.lock.acquire(blocking=False):
            if on_wait is None:
                raise IngestError(f"Another ingest is writing to {location}; wait for it to finish.")
            on_wait()
            self._data.lock.acquire()
        if self._data.manifest is not None:
            try:
                check_embedder(self._data.manifest, location, embedder)
                check_chunking(self._data.manifest, location, chunk_tokens, overlap)
            except BaseException:
                self._data.lock.release()
                raise
        self.manifest = self._data.manifest or Manifest(1, embedder, dim, chunk_tokens, overlap,
                                                        time.strftime("%Y-%m-%dT%H:%M:%S"))
        self._docs, self._chunks = dict(self._data.documents), dict(self._data.chunks)
        self._vectors, self._next = dict(self._data.vectors), self._data.next_row
        self.changed = False

    def content_hashes(self) -> dict[str, str]:
        return {d.doc_id: d.content_hash for d in self._docs.values()}

    def sources(self) -> dict[str, str]:
        return {d.doc_id: d.source for d in self._docs.values()}

    def delete(self, doc_id: str) -> None:
        for row in [r for r, c in self._chunks.items() if c.doc_id == doc_id]:
            del self._chunks[row], self._vectors[row]
        self._docs.pop(doc_id, None)
        self.changed = True

    def upsert(self, doc: Document, chunks: list[Chunk], vectors: np.ndarray) -> None:
        self.delete(doc.doc_id)
        self._docs[doc.doc_id] = doc
        for chunk, vector in zip(chunks, vectors):
            self._chunks[self._next], self._vectors[self._next] = chunk, np.asarray(vector, dtype=np.float32)
            self._next += 1
        self.changed = True

    def commit(self) -> str:
        data = self._data
        data.manifest, data.documents, data.chunks = self.manifest, self._docs, self._chunks
        data.vectors, data.next_row = self._vectors, self._next
        data.lock.release()
        return self.location

    def abort(self) -> None:
        self._data.lock.release()


def fake_backend() -> Backend:
    return Backend(FakeStore.open, FakeWriter, lambda location: location in INDEXES)
