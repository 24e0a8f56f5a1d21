"""The embedded store's keyword search: a bm25s index over title + text of every chunk, saved per generation.

bm25s builds and saves the index. Questions are scored by `SavedBM25`, which reads the saved arrays and
sums them the way bm25s does (Lucene BM25, precomputed per term): importing bm25s pulls in scipy, ~0.16 s of a
cold `rag ask` (AMD EPYC) that a query does not need. tests/test_keyword.py holds the two to the same results.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# bm25s.tokenize's defaults (lower-cased, words of two or more word characters). English stopwords need no
# list here: the index was built without them, so they are not in its vocabulary and drop out like any
# unknown word.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_QUERY_METHODS = {"lucene"}  # methods with no non-occurrence scores: a query's score is the sum of its terms'


def bm25_tokens(texts: list[str]) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", return_ids=False, show_progress=False)


def build_bm25(texts: list[str], folder: Path) -> None:
    """Index `texts` (position i = the i-th chunk of the generation's chunk array) and save to `folder`."""
    import bm25s

    retriever = bm25s.BM25()
    if texts:
        retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    retriever.save(str(folder))


@dataclass(frozen=True)
class SavedBM25:
    """A saved bm25s index, read for queries: its term-by-document scores (CSC arrays) and its vocabulary."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    vocab: dict[str, int]
    num_docs: int

    @classmethod
    def load(cls, folder: Path) -> SavedBM25:
        params = json.loads((folder / "params.index.json").read_text(encoding="utf-8"))
        if params.get("method") not in _QUERY_METHODS:
            raise ValueError(f"BM25 method {params.get('method')!r} is not one this reader scores")
        arrays = [np.load(folder / f"{name}.csc.index.npy", allow_pickle=False)
                  for name in ("data", "indices", "indptr")]
        vocab = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
        return cls(*arrays, vocab=vocab, num_docs=int(params["num_docs"]))

    def term_ids(self, text: str) -> list[int]:
        """The query's known terms, repeats kept (bm25s counts a repeated word twice)."""
        return [self.vocab[t] for t in _TOKEN.findall(text.lower()) if t in self.vocab]

    def scores(self, term_ids: list[int]) -> np.ndarray:
        """Every document's score: the sum of the query terms' precomputed scores, in bm25s's order."""
        scores = np.zeros(self.num_docs, dtype=self.data.dtype)
        for term in term_ids:
            start, end = self.indptr[term], self.indptr[term + 1]
            np.add.at(scores, self.indices[start:end], self.data[start:end])
        return scores


def bm25_search(bm25: SavedBM25, size: int, text: str, k: int, mask: np.ndarray | None) -> list[tuple[int, float]]:
    """(position, score) of the k best chunks with a positive score; `mask` (bool per position) filters first."""
    terms = bm25.term_ids(text)
    if not size or not terms:
        return []
    allowed = size if mask is None else int(mask.sum())
    k = min(k, allowed)
    if k <= 0:
        return []
    scores = bm25.scores(terms)
    if mask is not None:
        scores *= mask.astype(np.float32)
    # As bm25s's numpy top-k: partition, then sort the k best by score, highest first.
    best = np.argpartition(scores, -k)[-k:]
    best = best[np.flip(np.argsort(scores[best]))]
    return [(int(p), float(scores[p])) for p in best if scores[p] > 0]  # zero: no query word matched
