"""A BERT encoder forward pass in NumPy, so a question is embedded without importing torch (seconds saved per ask)."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import numpy as np


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to within 1.5e-7 (Abramowitz & Stegun 7.1.26), below float32's own rounding of BERT's activations.
    NumPy has no erf; math.erf element by element took ~40 ms of a question's ~50 ms here."""
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
    return np.sign(x) * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT's exact GELU (the erf form, not the tanh approximation).
    return 0.5 * x * (1.0 + _erf(x / np.float32(np.sqrt(2.0))))


_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def mapped_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a .safetensors file as read-only views of the mapped file, nothing copied.

    safetensors.numpy.load_file reads all 90 MB (~65 ms a cold ask here); a question touches only its own rows
    of the word embeddings, so most of the file is never read. The format: an 8-byte little-endian header size,
    a JSON header of dtype, shape and [begin, end) offsets, then the data.
    """
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    size = int.from_bytes(raw[:8].tobytes(), "little")
    header = json.loads(raw[8:8 + size].tobytes())
    start = 8 + size
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']}, which this reader does not know")
        begin, end = info["data_offsets"]
        tensors[name] = raw[start + begin:start + end].view(_DTYPES[info["dtype"]]).reshape(info["shape"])
    return tensors


class NumpyBert:
    """Mean-pooled, L2-normalised sentence embeddings from a sentence-transformers BERT folder (e.g. MiniLM)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.config = json.loads((self.folder / "config.json").read_text())
        settings = self.folder / "sentence_bert_config.json"
        self.max_length = json.loads(settings.read_text()).get("max_seq_length", 256) if settings.is_file() else 256
        if self.config.get("model_type") != "bert" or not (self.folder / "model.safetensors").is_file():
            raise ValueError(f"{folder} is not a BERT model with model.safetensors")

    @cached_property
    def _tokenizer(self):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        tokenizer.enable_truncation(self.max_length)
        tokenizer.no_padding()
        return tokenizer

    @cached_property
    def _weights(self) -> dict[str, np.ndarray]:
        return {k.removeprefix("bert."): v.astype(np.float32, copy=False)
                for k, v in mapped_safetensors(self.folder / "model.safetensors").items()}

    def _encode_one(self, ids: list[int]) -> np.ndarray:
        w, c = self._weights, self.config
        eps, heads = c["layer_norm_eps"], c["num_attention_heads"]
        n = len(ids)
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        size = x.shape[-1] // heads
        for i in range(c["num_hidden_layers"]):
            p = f"encoder.layer.{i}."

            def linear(name: str, h: np.ndarray) -> np.ndarray:
                return h @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            q, k, v = (linear(f"attention.self.{m}", x).reshape(n, heads, size).transpose(1, 0, 2)
                       for m in ("query", "key", "value"))
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(size)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            context = (scores / scores.sum(-1, keepdims=True)) @ v
            attended = linear("attention.output.dense", context.transpose(1, 0, 2).reshape(n, -1))
            x = _layer_norm(attended + x, w[p + "attention.output.LayerNorm.weight"],
                            w[p + "attention.output.LayerNorm.bias"], eps)
            hidden = linear("output.dense", _gelu(linear("intermediate.dense", x)))
            x = _layer_norm(hidden + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
        pooled = x.mean(0)
        return pooled / max(np.linalg.norm(pooled), 1e-12)

    def embed(self, texts: list[str]) -> np.ndarray:
        rows = [self._encode_one(self._tokenizer.encode(t).ids) for t in texts]
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)
