"""Hybrid retrieval: the store's dense and keyword rankings fused by reciprocal rank, with outlet and date filters."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from datetime import timedelta

from rag.dates import wants_recent
from rag.models.embedder import Embedder
from rag.store.base import Filters, Hybrid, HybridQuery, Store, rrf
from rag.types import Hit

__all__ = ["Filters", "RetrievalScores", "Retriever", "rrf"]


@dataclass(frozen=True)
class RetrievalScores:
    """How well the best chunks match at all: the top dense and keyword scores and the gap to the second.

    Questions whose answer is not in the index tend to find nothing that matches well; the confidence model
    (rag.answer.confidence) weighs these with the other signals.
    """

    dense_top: float = 0.0
    dense_gap: float = 0.0
    keyword_top: float = 0.0
    keyword_gap: float = 0.0

    @classmethod
    def of(cls, found: Hybrid) -> RetrievalScores:
        dense = [*found.dense_top[:2], 0.0, 0.0]
        keyword = [math.log1p(max(score, 0.0)) for score in [*found.keyword_top[:2], 0.0, 0.0]]
        return cls(float(dense[0]), float(dense[0] - dense[1]), float(keyword[0]), float(keyword[0] - keyword[1]))

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


class Retriever:
    """Finds the chunks of an index that best match a question; the store does the searching."""

    def __init__(self, index: Store, embedder: Embedder, fetch_k: int = 30, rrf_k: int = 60,
                 dense_weight: float = 1.0, bm25_weight: float = 1.0, recent_days: int = 0):
        self.index, self.embedder = index, embedder
        self.fetch_k, self.rrf_k = fetch_k, rrf_k
        self.dense_weight, self.bm25_weight = dense_weight, bm25_weight
        self.recent_days = recent_days

    def search_scored(self, question: str, k: int, filters: Filters | None = None
                      ) -> tuple[list[Hit], RetrievalScores]:
        """The k best chunks, best first, and how well anything matched (from the same searches).

        A question about the present ("this week", "latest") is searched over the `recent_days` before the day it
        is asked on first; the whole index's best fill what those days leave of the k (all of it when the days
        hold no match, as for an archive). Searched once, years of older stories that share its words push this
        week's out of the k (RealTimeQA dev: the asked-about article among the passages 77 → 86 of 110). The
        scores the confidence reads stay the whole index's.
        """
        query = HybridQuery(text=question, vector=self.embedder.embed([question])[0], k=k,
                            filters=filters or Filters(), fetch_k=self.fetch_k, rrf_k=self.rrf_k,
                            dense_weight=self.dense_weight, keyword_weight=self.bm25_weight)
        found = self.index.hybrid_search(query)
        ranked = found.ranked
        if window := self._recent_window(question, query.filters):
            recent = self.index.hybrid_search(replace(query, filters=window)).ranked
            recent_rows = {r.row for r in recent}
            ranked = [*recent, *(r for r in ranked if r.row not in recent_rows)][:k]
        rows = self.index.chunks_by_row([r.row for r in ranked])
        hits = [Hit(chunk=rows[r.row][0], doc=rows[r.row][1], score=r.score, dense_rank=r.dense_rank,
                    bm25_rank=r.keyword_rank) for r in ranked if r.row in rows]
        return hits, RetrievalScores.of(found)

    def _recent_window(self, question: str, filters: Filters) -> Filters | None:
        """The filters of the recent search (the last `recent_days` up to the asked-on day), or None."""
        today = filters.day("asked_on")
        if not self.recent_days or today is None or not wants_recent(question):
            return None
        since = (today - timedelta(days=self.recent_days)).isoformat()
        return replace(filters, since=max(since, filters.since or since))

    def search(self, question: str, k: int, filters: Filters | None = None) -> list[Hit]:
        """The k best chunks, best first."""
        return self.search_scored(question, k, filters)[0]
