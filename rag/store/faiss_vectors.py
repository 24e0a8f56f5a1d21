"""The embedded store's vectors: exact FAISS search while small, an IVF index above a measured size."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

# Above this many vectors the flat index is replaced by an IVF one. Measured on this machine (2 cores, one
# thread per query): an exact query over 384-dim vectors costs ~0.09 ms per 1k vectors, so ~18 ms at 200k and
# ~90 ms at 1M; IVF answers in ~1-5 ms at these sizes with recall@10 >= 0.95 (eval/BENCH_STORE.md).
# IVF rather than HNSW: FAISS's HNSW cannot remove vectors, and re-ingesting a changed article must.
IVF_ABOVE = 200_000
_TRAIN_PER_LIST = 64  # training vectors per IVF list: enough for k-means, far fewer than the collection
_RETRAIN_GROWTH = 4  # retrain (new lists) once the collection has grown this much since training


def lists_for(n: int) -> int:
    """IVF lists for n vectors: the power of two nearest sqrt(n) (~1000 vectors per list at 1M)."""
    return 2 ** max(4, round(math.log2(math.sqrt(max(n, 1)))))


def probes_for(nlist: int) -> int:
    """Lists visited per query: 1/16 of them kept recall@10 >= 0.95 at 100k-1M (eval/BENCH_STORE.md)."""
    return max(8, nlist // 16)


class FaissStore:
    """Vectors keyed by chunk row, searched by inner product (the vectors are normalised)."""

    def __init__(self, dim: int, index=None):
        import faiss

        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @classmethod
    def load(cls, path: Path) -> FaissStore:
        import faiss

        index = faiss.read_index(str(path))
        return cls(index.d, index)

    @property
    def kind(self) -> str:
        ivf = self._ivf()
        return f"ivf{ivf.nlist}" if ivf is not None else "flat"

    def _ivf(self):
        import faiss

        return faiss.try_extract_index_ivf(self._index)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> None:
        if len(ids):
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None,
               share: float = 1.0) -> list[tuple[int, float]]:
        """The k best rows; `allowed` (sorted row ids) restricts the search to them; `share` is their fraction of
        the collection, used to visit more IVF lists so a narrow filter still fills its top k."""
        k = min(k, len(self))
        if k <= 0 or (allowed is not None and not len(allowed)):
            return []
        import faiss

        # One thread: a single query gains nothing from OpenMP, and on a machine busy with the LLM the threads'
        # hand-over cost ~35 ms a query (measured).
        faiss.omp_set_num_threads(1)
        params = self._params(allowed, share)
        x = np.asarray(query, dtype=np.float32).reshape(1, -1)
        scores, ids = self._index.search(x, k, params=params) if params is not None else self._index.search(x, k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i != -1]

    def _params(self, allowed: np.ndarray | None, share: float):
        import faiss

        ivf = self._ivf()
        selector = None
        if allowed is not None:
            bits = np.zeros(int(allowed[-1]) + 1, dtype=bool)
            bits[allowed] = True
            self._bitmap = np.packbits(bits, bitorder="little")  # the selector points into it: keep it alive
            selector = faiss.IDSelectorBitmap(len(self._bitmap), faiss.swig_ptr(self._bitmap))  # n: bytes
        if ivf is None:
            return faiss.SearchParameters(sel=selector) if selector is not None else None
        nprobe = min(ivf.nlist, math.ceil(probes_for(ivf.nlist) / max(share, 1e-9)))
        return faiss.SearchParametersIVF(sel=selector, nprobe=nprobe) if selector else \
            faiss.SearchParametersIVF(nprobe=nprobe)

    def fit_to_size(self) -> None:
        """Switch to IVF past IVF_ABOVE vectors, and retrain it once the collection has outgrown its lists."""
        n = len(self)
        ivf = self._ivf()
        if n <= IVF_ABOVE and ivf is None:
            return
        if ivf is not None and n <= IVF_ABOVE // _RETRAIN_GROWTH:
            self._rebuild(flat=True)  # shrank a long way (pruned): exact search is cheap again
        elif ivf is None or lists_for(n) >= ivf.nlist * math.isqrt(_RETRAIN_GROWTH):
            self._rebuild(flat=False)

    def _rebuild(self, flat: bool) -> None:
        import faiss

        faiss.omp_set_num_threads(os.cpu_count() or 1)  # training and adding in bulk do use the cores
        ids, vectors = self.all_vectors()
        if flat:
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        else:
            nlist = lists_for(len(ids))
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dim), self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
            sample = np.random.default_rng(0).choice(len(ids), min(len(ids), nlist * _TRAIN_PER_LIST), replace=False)
            index.cp.max_points_per_centroid = _TRAIN_PER_LIST
            index.train(vectors[np.sort(sample)])
        index.add_with_ids(vectors, ids)
        self._index = index

    def all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything stored, for a rebuild."""
        import faiss

        ivf = self._ivf()
        if ivf is None:
            ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
            return ids, self._index.index.reconstruct_n(0, len(ids))
        lists = ivf.invlists
        id_parts, vector_parts = [], []
        for number in range(ivf.nlist):
            size = lists.list_size(number)
            if size:
                id_parts.append(faiss.rev_swig_ptr(lists.get_ids(number), size).copy())
                codes = faiss.rev_swig_ptr(lists.get_codes(number), size * ivf.code_size)
                vector_parts.append(np.frombuffer(codes.copy(), dtype=np.float32).reshape(size, self.dim))
        if not id_parts:
            return np.zeros(0, dtype=np.int64), np.zeros((0, self.dim), dtype=np.float32)
        return np.concatenate(id_parts).astype(np.int64), np.concatenate(vector_parts)

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    def __len__(self) -> int:
        return int(self._index.ntotal)
