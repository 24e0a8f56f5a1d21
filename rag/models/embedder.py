"""The Embedder protocol and its sentence-transformers implementation (torch is imported only on use)."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from rag.models.registry import embedder_path, go_offline


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray: ...


_NUMPY_MAX_TEXTS = 4  # up to this many texts (a question), a NumPy forward pass beats importing torch


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder; loads on first use.

    Questions are embedded by a NumPy copy of the same BERT when the folder holds one: importing torch and
    sentence-transformers costs seconds, the forward pass for one question milliseconds. Ingest batches use torch.
    """

    def __init__(self, name_or_path: str, batch_size: int = 32, device: str = "cpu"):
        self.name, self.device = name_or_path, device
        self._path = embedder_path(name_or_path)
        self._batch_size = batch_size
        self._model = None
        self._dim: int | None = None
        self._numpy = None  # NumpyBert, or False when the folder is not a plain BERT

    def _numpy_bert(self):
        if self._numpy is None:
            from rag.models.bert_numpy import NumpyBert

            try:
                self._numpy = NumpyBert(self._path)
            except (ValueError, OSError, KeyError):
                self._numpy = False
        return self._numpy

    def _load(self):
        if self._model is None:
            go_offline()
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # a "Loading weights" bar on every question is noise
            hf_logging.set_verbosity_error()

            self._model = SentenceTransformer(str(self._path), device=self.device)
        return self._model

    @property
    def dim(self) -> int:
        if self._dim is None and self._numpy_bert():
            self._dim = int(self._numpy.config["hidden_size"])
        if self._dim is None:
            model = self._load()
            getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            self._dim = int(getter())
        return self._dim

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._model is None and len(texts) <= _NUMPY_MAX_TEXTS and self._numpy_bert():
            return self._numpy.embed(texts)
        vectors = self._load().encode(texts, batch_size=self._batch_size, normalize_embeddings=True,
                                      convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)
