"""An on-disk cache of chunk vectors for evaluation builds: a corpus embedded once is never embedded again.

The RealTimeQA corpus takes about 40 minutes to embed on two cores; the negative-rejection corpus (a subset of
it), a rebuild after a format change and a re-run with another chunking of the same text reuse those vectors.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class CachedEmbedder:
    """Wraps an embedder: texts seen before come from the cache file, only new ones reach the model."""

    def __init__(self, inner: Any, path: str | Path):
        self.inner = inner
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        self.hits = self.misses = 0

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def _known(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            part = keys[start:start + 500]
            marks = ",".join("?" * len(part))
            for key, blob in self._db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", part):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def add(self, texts: list[str], vectors: np.ndarray) -> None:
        """Remember vectors computed elsewhere (e.g. read back from an existing index)."""
        rows = [(_key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in zip(texts, vectors)]
        self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
        self._db.commit()

    def embed(self, texts: list[str]) -> np.ndarray:
        keys = [_key(t) for t in texts]
        known = self._known(keys)
        missing = [i for i, k in enumerate(keys) if k not in known]
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            fresh = self.inner.embed([texts[i] for i in missing])
            self.add([texts[i] for i in missing], fresh)
            for i, vector in zip(missing, fresh):
                known[keys[i]] = np.asarray(vector, dtype=np.float32)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([known[k] for k in keys]).astype(np.float32)

    def close(self) -> None:
        self._db.close()
