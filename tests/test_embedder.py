"""The NumPy BERT used for questions gives the same vectors as sentence-transformers (integration: real MiniLM)."""

from __future__ import annotations

import numpy as np
import pytest

from rag.models.registry import embedder_path

pytestmark = pytest.mark.integration

TEXTS = ["Who denied the intelligence sharing?",
         "Twenty-two militiamen were killed in the strikes, the Syrian Observatory for Human Rights reported. " * 4]


def test_numpy_bert_matches_sentence_transformers():
    from sentence_transformers import SentenceTransformer

    from rag.models.bert_numpy import NumpyBert

    path = embedder_path("all-minilm-l6-v2")
    ours = NumpyBert(path).embed(TEXTS)
    theirs = SentenceTransformer(str(path), device="cpu").encode(TEXTS, normalize_embeddings=True)
    assert ours.shape == (2, 384)
    assert np.abs(ours - theirs).max() < 1e-4


def test_embedder_uses_numpy_for_questions_and_torch_for_batches():
    from rag.models.embedder import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder("all-minilm-l6-v2")
    question = embedder.embed(TEXTS[:1])
    assert embedder._model is None and embedder.dim == 384  # no torch model was loaded for one question
    batch = embedder.embed(TEXTS * 3)
    assert embedder._model is not None
    assert np.abs(batch[0] - question[0]).max() < 1e-4


def test_numpy_erf_is_math_erf_to_float32_rounding():
    import math

    from rag.models.bert_numpy import _erf

    xs = np.linspace(-8, 8, 20001, dtype=np.float32)
    exact = np.array([math.erf(float(x)) for x in xs])
    assert np.abs(_erf(xs) - exact).max() < 1e-6


def test_mapped_safetensors_reads_what_safetensors_reads(tmp_path):
    from safetensors.numpy import load_file, save_file

    from rag.models.bert_numpy import mapped_safetensors

    path = embedder_path("all-minilm-l6-v2") / "model.safetensors"
    theirs, ours = load_file(path), mapped_safetensors(path)
    assert ours.keys() == theirs.keys()
    assert all(ours[k].dtype == theirs[k].dtype and np.array_equal(ours[k], theirs[k]) for k in theirs)
    odd = tmp_path / "odd.safetensors"
    save_file({"x": np.zeros(3, dtype=np.uint8)}, str(odd))
    with pytest.raises(ValueError, match="dtype U8"):
        mapped_safetensors(odd)
