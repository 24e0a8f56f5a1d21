"""Hybrid retrieval: the store's dense and keyword rankings fused by reciprocal rank, with outlet and date filters."""

from __future__ import annotations

import math

from rag.models.embedder import Embedder
from rag.store.base import Filters, HybridQuery, Store, rrf
from rag.types import Hit

__all__ = ["Filters", "Retriever", "rrf"]


class Retriever:
    """Finds the chunks of an index that best match a question; the store does the searching."""

    def __init__(self, index: Store, embedder: Embedder, fetch_k: int = 30, rrf_k: int = 60,
                 dense_weight: float = 1.0, bm25_weight: float = 1.0):
        self.index, self.embedder = index, embedder
        self.fetch_k, self.rrf_k = fetch_k, rrf_k
        self.dense_weight, self.bm25_weight = dense_weight, bm25_weight
        self._last: tuple[str, object] | None = None

    def _vector(self, question: str):
        """The question's vector, embedded once for both searches and the scores."""
        if self._last is None or self._last[0] != question:
            self._last = (question, self.embedder.embed([question])[0])
        return self._last[1]

    def scores(self, question: str, filters: Filters | None = None) -> dict[str, float]:
        """How well the best chunks match at all: the top dense and keyword scores and the gap to the second.

        Questions whose answer is not in the index tend to find nothing that matches well; the confidence
        model (rag.answer.confidence) weighs these with the other signals.
        """
        dense = [score for _, score in self.index.dense_search(self._vector(question), 2, filters)] + [0.0, 0.0]
        keyword = [score for _, score in self.index.keyword_search(question, 2, filters)] + [0.0, 0.0]
        return {"dense_top": float(dense[0]), "dense_gap": float(dense[0] - dense[1]),
                "keyword_top": float(math.log1p(max(keyword[0], 0.0))),
                "keyword_gap": float(math.log1p(max(keyword[0], 0.0)) - math.log1p(max(keyword[1], 0.0)))}

    def search(self, question: str, k: int, filters: Filters | None = None) -> list[Hit]:
        query = HybridQuery(text=question, vector=self._vector(question), k=k,
                            filters=filters or Filters(), fetch_k=self.fetch_k, rrf_k=self.rrf_k,
                            dense_weight=self.dense_weight, keyword_weight=self.bm25_weight)
        ranked = self.index.hybrid_search(query)
        found = self.index.chunks_by_row([r.row for r in ranked])
        return [Hit(chunk=found[r.row][0], doc=found[r.row][1], score=r.score, dense_rank=r.dense_rank,
                    bm25_rank=r.keyword_rank) for r in ranked if r.row in found]
