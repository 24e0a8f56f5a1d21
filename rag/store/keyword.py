"""The embedded store's keyword search: a bm25s index over title + text of every chunk, saved per generation."""

from __future__ import annotations

from pathlib import Path

import numpy as np


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


def load_bm25(folder: Path):
    import bm25s

    return bm25s.BM25.load(str(folder))


def bm25_search(bm25, size: int, text: str, k: int, mask: np.ndarray | None) -> list[tuple[int, float]]:
    """(position, score) of the k best chunks with a positive score; `mask` (bool per position) filters first."""
    tokens = bm25_tokens([text])
    if not size or not tokens[0]:
        return []
    allowed = size if mask is None else int(mask.sum())
    k = min(k, allowed)
    if k <= 0:
        return []
    weights = None if mask is None else mask.astype(np.float32)
    positions, scores = bm25.retrieve(tokens, k=k, show_progress=False, weight_mask=weights)
    return [(int(p), float(s)) for p, s in zip(positions[0], scores[0]) if s > 0]  # zero: no query word matched
