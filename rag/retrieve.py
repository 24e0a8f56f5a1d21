"""Hybrid retrieval: dense (FAISS) and BM25 rankings fused by reciprocal rank, with outlet and date filters."""

from __future__ import annotations

from dataclasses import dataclass

from rag.embedder import Embedder
from rag.index import Index, bm25_tokens
from rag.types import Hit


@dataclass(frozen=True)
class Filters:
    """Keep only passages from this outlet and/or published within [since, until] (ISO dates, inclusive).

    `asked_on` is the day the question is asked: articles dated after it are never used, undated ones are kept.
    """

    outlet: str | None = None
    since: str | None = None
    until: str | None = None
    asked_on: str | None = None


def rrf(rankings: list[tuple[list[int], float]], rrf_k: int) -> dict[int, float]:
    """Reciprocal-rank fusion: sum of weight / (rrf_k + rank) over the rankings an item appears in."""
    scores: dict[int, float] = {}
    for ranking, weight in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (rrf_k + rank)
    return scores


class Retriever:
    """Finds the chunks of an index that best match a question."""

    def __init__(self, index: Index, embedder: Embedder, fetch_k: int = 30, rrf_k: int = 60,
                 dense_weight: float = 1.0, bm25_weight: float = 1.0):
        self.index, self.embedder = index, embedder
        self.fetch_k, self.rrf_k = fetch_k, rrf_k
        self.dense_weight, self.bm25_weight = dense_weight, bm25_weight

    def dense(self, question: str, allowed: set[int] | None) -> list[int]:
        store = self.index.vectors
        # With a filter, rank everything: exact search over a laptop-sized index costs milliseconds.
        depth = len(store) if allowed is not None else self.fetch_k
        found = store.search(self.embedder.embed([question])[0], depth)
        return [row for row, _ in found if allowed is None or row in allowed][: self.fetch_k]

    def bm25(self, question: str, allowed: set[int] | None) -> list[int]:
        rows = self.index.bm25_rows
        tokens = bm25_tokens([question])
        if not len(rows) or not tokens[0]:
            return []
        depth = len(rows) if allowed is not None else min(self.fetch_k, len(rows))
        positions, scores = self.index.bm25.retrieve(tokens, k=depth, show_progress=False)
        ranked = [int(rows[p]) for p, s in zip(positions[0], scores[0]) if s > 0]  # zero: no query word matched
        return [row for row in ranked if allowed is None or row in allowed][: self.fetch_k]

    def search(self, question: str, k: int, filters: Filters | None = None) -> list[Hit]:
        filters = filters or Filters()
        allowed = self.index.rows_matching(filters.outlet, filters.since, filters.until, filters.asked_on)
        if allowed is not None and not allowed:
            return []
        dense, sparse = self.dense(question, allowed), self.bm25(question, allowed)
        fused = rrf([(dense, self.dense_weight), (sparse, self.bm25_weight)], self.rrf_k)
        best = sorted(fused, key=fused.get, reverse=True)[:k]
        found = self.index.chunks_by_row(best)
        dense_rank = {row: i for i, row in enumerate(dense, start=1)}
        bm25_rank = {row: i for i, row in enumerate(sparse, start=1)}
        return [Hit(chunk=found[row][0], doc=found[row][1], score=fused[row], dense_rank=dense_rank.get(row),
                    bm25_rank=bm25_rank.get(row)) for row in best if row in found]
