"""The store interface: what the retriever, ingest, `rag info`, the chat and the evaluation may ask of an index."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from typing import Callable, Protocol, runtime_checkable

import numpy as np

from rag.errors import ConfigError, IndexMismatchError, RagError
from rag.types import Chunk, Document

Scored = list[tuple[int, float]]  # (chunk row, score), best first


@dataclass(frozen=True)
class Manifest:
    """What an index was built with; a reader refuses an index whose embedder or format it doesn't match."""

    format_version: int
    embedder: str
    dim: int
    chunk_tokens: int
    overlap: int
    created: str


@dataclass(frozen=True)
class Filters:
    """Keep only passages from this outlet and/or published within [since, until] (ISO dates, inclusive).

    `asked_on` is the day the question is asked as of: documents dated after it are left out, undated ones are
    kept (unlike `until`, which drops undated documents because they can't be shown to fall in the range).
    """

    outlet: str | None = None
    since: str | None = None
    until: str | None = None
    asked_on: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.outlet or self.since or self.until or self.asked_on)

    def day(self, name: str) -> date | None:
        """The named date as a `date`, or None when not set; a malformed one is a usage error, not a crash."""
        value = getattr(self, name)
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise ConfigError(f"The {name} filter {value!r} is not a date; use YYYY-MM-DD.") from exc


@dataclass(frozen=True)
class HybridQuery:
    """One hybrid search: the question's text and vector, how many to keep, how to fuse, what to filter."""

    text: str
    vector: np.ndarray
    k: int
    filters: Filters = Filters()
    fetch_k: int = 30  # candidates from each ranking before fusion
    rrf_k: int = 60
    dense_weight: float = 1.0
    keyword_weight: float = 1.0


@dataclass(frozen=True)
class Ranked:
    """A fused result: the chunk row, its fused score, and its rank in each list (None: not in that list)."""

    row: int
    score: float
    dense_rank: int | None = None
    keyword_rank: int | None = None


@dataclass(frozen=True)
class Hybrid:
    """A hybrid search's answer: the fused rows, best first, and the two best raw scores of each ranking (how well
    anything matches at all, which the confidence model reads) from the same searches."""

    ranked: list[Ranked]
    dense_top: tuple[float, ...] = ()
    keyword_top: tuple[float, ...] = ()


@dataclass(frozen=True)
class StoreStats:
    """What `rag info` shows of an index."""

    index: str
    backend: str
    generation: str
    documents: int
    chunks: int
    outlets: dict[str, int]  # outlet (or "(unknown)") -> documents
    date_range: tuple[str | None, str | None]
    undated_documents: int
    embedder: str
    dim: int
    chunk_tokens: int
    overlap: int
    built: str
    size_bytes: int


@runtime_checkable
class Store(Protocol):
    """A read-only view of an index: searches, lookups, statistics. Backends: rag.store.factory."""

    location: str
    manifest: Manifest

    def dense_search(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> Scored: ...
    def keyword_search(self, text: str, k: int, filters: Filters | None = None) -> Scored: ...
    def hybrid_search(self, query: HybridQuery) -> Hybrid: ...
    def chunks_by_row(self, rows: list[int]) -> dict[int, tuple[Chunk, Document]]: ...
    def documents(self) -> list[Document]: ...
    def stats(self) -> StoreStats: ...
    def check(self, full: bool = True) -> list[str]: ...
    def warm_up(self) -> None: ...
    def close(self) -> None: ...


@runtime_checkable
class StoreWriter(Protocol):
    """Changes to an index, made visible by commit() and dropped by abort(); one writer at a time."""

    manifest: Manifest

    def content_hashes(self) -> dict[str, str]: ...
    def sources(self) -> dict[str, str]: ...
    def upsert(self, doc: Document, chunks: list[Chunk], vectors: np.ndarray) -> None: ...
    def delete(self, doc_id: str) -> None: ...
    @property
    def changed(self) -> bool: ...
    def commit(self) -> object: ...
    def abort(self) -> None: ...


def rrf(rankings: list[tuple[list[int], float]], rrf_k: int) -> dict[int, float]:
    """Reciprocal-rank fusion: sum of weight / (rrf_k + rank) over the rankings an item appears in."""
    scores: dict[int, float] = {}
    for ranking, weight in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (rrf_k + rank)
    return scores


def fuse(dense: Scored, keyword: Scored, query: HybridQuery) -> Hybrid:
    """The k best rows of two scored rankings by reciprocal rank, for stores that search each list separately."""
    dense_rows, keyword_rows = [row for row, _ in dense], [row for row, _ in keyword]
    fused = rrf([(dense_rows, query.dense_weight), (keyword_rows, query.keyword_weight)], query.rrf_k)
    best = sorted(fused, key=fused.get, reverse=True)[: query.k]
    dense_rank = {row: i for i, row in enumerate(dense_rows, start=1)}
    keyword_rank = {row: i for i, row in enumerate(keyword_rows, start=1)}
    return Hybrid([Ranked(row, fused[row], dense_rank.get(row), keyword_rank.get(row)) for row in best],
                  tuple(float(score) for _, score in dense[:2]), tuple(float(score) for _, score in keyword[:2]))


def check_embedder(manifest: Manifest, location: str, embedder: str) -> None:
    if manifest.embedder != embedder:
        raise IndexMismatchError(
            f"The index at {location} was built with embedder {manifest.embedder!r} but {embedder!r} was asked for. "
            f"Use --embedder {manifest.embedder} (or RAG_EMBEDDER), or build a new index with `rag ingest --index "
            f"NEW_DIR ...`.")


def check_chunking(manifest: Manifest, location: str, chunk_tokens: int, overlap: int) -> None:
    if (manifest.chunk_tokens, manifest.overlap) != (chunk_tokens, overlap):
        raise IndexMismatchError(
            f"The index at {location} was chunked with --chunk-tokens {manifest.chunk_tokens} --overlap "
            f"{manifest.overlap}. Use those, or build a new index with `rag ingest --index NEW_DIR ...`.")


def translating(errors: Callable[[], tuple[type[BaseException], ...]],
                make: Callable[[object, BaseException], RagError]):
    """A decorator for store methods: the libraries' `errors()` become make(store, error), raised from it; a
    RagError passes through. `errors` is a function so that a backend's library is imported only when used."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except RagError:
                raise
            except errors() as exc:
                raise make(self, exc) from exc

        return wrapper

    return decorate
