"""The query side of the embedded store's keyword search gives what bm25s itself gives, without importing it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from rag.store.keyword import SavedBM25, bm25_search, build_bm25

TEXTS = [
    "US strikes hit Iran-backed militias on the Syria border, the Pentagon said on Friday.",
    "The Syrian Observatory said 22 militiamen were killed in the strikes near Albu Kamal.",
    "Iraq's Ministry of Defense denied sharing intelligence with the United States before the strikes.",
    "A rocket attack on Erbil airport wounded a US contractor and killed a civilian.",
    "The festival moved to the harbour district this year; tickets sold out in a day.",
    "Strikes, strikes and more strikes: the militias vowed revenge for the border raid.",
    "Officials in Baghdad said the strikes violated Iraqi sovereignty, officials said.",
    "Weather: rain on Thursday, sun on the weekend across the region.",
]
QUERIES = ["Who denied the intelligence sharing?", "How many militiamen were killed in the strikes?",
           "strikes strikes border", "the of and", "Erbil rocket contractor", "zzz unknown words only",
           "SYRIA Pentagon", "Iraqi sovereignty strikes officials"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bm25")
    build_bm25(TEXTS, folder)
    return folder


def _bm25s_results(folder, query, k, mask):
    import bm25s

    retriever = bm25s.BM25.load(str(folder))
    tokens = bm25s.tokenize([query], stopwords="en", return_ids=False, show_progress=False)
    if not tokens[0]:
        return []
    weights = None if mask is None else mask.astype(np.float32)
    positions, scores = retriever.retrieve(tokens, k=k, show_progress=False, weight_mask=weights)
    return [(int(p), float(s)) for p, s in zip(positions[0], scores[0]) if s > 0]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("masked", [False, True])
def test_same_ranking_and_scores_as_bm25s(saved, query, masked):
    mask = np.array([i % 2 == 0 for i in range(len(TEXTS))]) if masked else None
    ours = bm25_search(SavedBM25.load(saved), len(TEXTS), query, 5, mask)
    theirs = _bm25s_results(saved, query, min(5, len(TEXTS) if mask is None else int(mask.sum())), mask)
    assert [p for p, _ in ours] == [p for p, _ in theirs]
    assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-6)


def test_a_repeated_word_counts_twice_and_stopwords_count_nothing(saved):
    bm25 = SavedBM25.load(saved)
    once, twice = bm25.term_ids("strikes"), bm25.term_ids("the strikes of strikes")
    assert twice == once * 2
    assert np.allclose(bm25.scores(twice), 2 * bm25.scores(once))


def test_k_larger_than_the_matches_returns_only_matches(saved):
    found = bm25_search(SavedBM25.load(saved), len(TEXTS), "festival harbour", 8, None)
    assert [p for p, _ in found] == [4]


def test_another_bm25_method_is_refused(saved, tmp_path):
    import shutil

    copy = tmp_path / "bm25"
    shutil.copytree(saved, copy)
    params = (copy / "params.index.json")
    params.write_text(params.read_text().replace('"lucene"', '"bm25+"'))
    with pytest.raises(ValueError, match="bm25\\+"):
        SavedBM25.load(copy)


def test_searching_imports_neither_bm25s_nor_scipy(saved):
    code = ("import sys; from pathlib import Path; from rag.store.keyword import SavedBM25, bm25_search; "
            f"print(bm25_search(SavedBM25.load(Path({str(saved)!r})), {len(TEXTS)}, 'Erbil rocket', 3, None)); "
            "print(sorted(m for m in ('bm25s', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "[]"
    assert out.splitlines()[0].startswith("[(3, ")
