"""The embedded store (reader): the live generation of an index folder, FAISS + SQLite + bm25s, checked at open."""

from __future__ import annotations

import sqlite3
from datetime import date
from functools import cached_property
from pathlib import Path

import numpy as np

from rag.errors import ConfigError, IndexDamagedError, IndexMissingError
from rag.store import generations as gens
from rag.store.base import Filters, Hybrid, HybridQuery, Manifest, Scored, StoreStats, fuse, translating
from rag.store.faiss_vectors import FaissStore
from rag.store.keyword import SavedBM25, bm25_search
from rag.types import Chunk, Document

DOC_FIELDS = "doc_id, source, title, text, outlet, date, author, url, content_hash"
CHUNK_FIELDS = "chunk_id, doc_id, position, text, start, end, n_tokens"
CHUNKS_FILE = "chunks.npy"  # per chunk, in row order: row, the document's rowid, its date as a day number
CHUNK_DTYPE = np.dtype([("row", np.int64), ("doc", np.int64), ("day", np.int32)])
UNDATED = np.iinfo(np.int32).min  # sorts before every date: `since` drops undated chunks, `asked_on` keeps them
# What the libraries raise on a file that is not what was written (caught at this boundary, never shown raw).
LIBRARY_ERRORS = (sqlite3.DatabaseError, RuntimeError, ValueError, OSError, EOFError, KeyError, IndexError,
                  MemoryError)


def day_number(iso: str | None) -> int:
    return date.fromisoformat(iso).toordinal() if iso else UNDATED


def index_exists(location: str) -> bool:
    return (Path(location) / gens.CURRENT).is_file()


def _unreadable(store: FolderStore, exc: BaseException) -> IndexDamagedError:
    return IndexDamagedError(
        f"The index at {store.root} could not be read ({type(exc).__name__}: {exc}; generation {store.gen.name}). "
        f"Run `rag info --check --index {store.root}`. " + gens.fallback_advice(store.root, exclude=store.gen.name))


_translated = translating(lambda: LIBRARY_ERRORS, _unreadable)  # library errors become one IndexDamagedError


class FolderStore:
    """A read-only view of the live generation of an index folder."""

    def __init__(self, root: Path, gen: Path, manifest: Manifest, files: dict, cache_dir: str | None = None):
        self.root, self.gen, self.manifest, self.files = root, gen, manifest, files
        self.cache_dir = cache_dir
        self.location = str(root)
        # check_same_thread off: the UI answers from worker threads; the connection is only read.
        self._db = sqlite3.connect(f"file:{gen / 'meta.sqlite'}?mode=ro", uri=True, check_same_thread=False)

    @classmethod
    def open(cls, location: str, verify: str = "open", cache_dir: str | None = None) -> FolderStore:
        root = Path(location)
        if root.exists() and not root.is_dir():
            raise ConfigError(f"--index {root} is a file; give an index folder or a postgresql:// URL.")
        gen = gens.read_current(root)
        if gen is None:
            raise IndexMissingError(f"No index at {root}. Build one first: rag ingest PATH... --index {root}")
        manifest, files = gens.read_manifest(root, gen)
        gens.verify_files(root, gen, files, full=verify == "full", cache_dir=cache_dir)
        return cls(root, gen, manifest, files, cache_dir)

    # -- the generation's files, loaded on first use -------------------------------------------------------

    @cached_property
    def vectors(self) -> FaissStore:
        return self._load(lambda: FaissStore.load(self.gen / "vectors.faiss"))

    @cached_property
    def bm25(self):
        return self._load(lambda: SavedBM25.load(self.gen / "bm25"))

    @cached_property
    def chunk_array(self) -> np.ndarray:
        array = self._load(lambda: np.load(self.gen / CHUNKS_FILE, allow_pickle=False))
        if array.dtype != CHUNK_DTYPE:
            raise IndexDamagedError(f"The index at {self.root} is damaged: {CHUNKS_FILE} has an unknown layout. "
                                    + gens.fallback_advice(self.root, exclude=self.gen.name))
        return array

    @_translated
    def _load(self, load):
        return load()

    @_translated
    def warm_up(self) -> None:
        _ = self.vectors, self.bm25, self.chunk_array

    # -- searching -----------------------------------------------------------------------------------------

    @_translated
    def _mask(self, filters: Filters | None) -> np.ndarray | None:
        """Which chunk positions pass the filters (None: no filter), computed on arrays: ~1 ms at 1M chunks."""
        if filters is None or not filters.active:
            return None
        chunks = self.chunk_array
        mask = np.ones(len(chunks), dtype=bool)
        if filters.outlet:
            docs = [r[0] for r in self._db.execute("SELECT rowid FROM documents WHERE lower(outlet) = lower(?)",
                                                   (filters.outlet,))]
            mask &= np.isin(chunks["doc"], np.array(docs, dtype=np.int64))
        days = chunks["day"]
        if since := filters.day("since"):
            mask &= days >= since.toordinal()
        if until := filters.day("until"):
            mask &= (days != UNDATED) & (days <= until.toordinal())
        if asked_on := filters.day("asked_on"):
            mask &= days <= asked_on.toordinal()  # undated chunks (UNDATED) stay
        return mask

    def _dense(self, vector: np.ndarray, k: int, mask: np.ndarray | None) -> Scored:
        if mask is None:
            return self.vectors.search(vector, k)
        share = float(mask.mean()) if len(mask) else 0.0
        return self.vectors.search(vector, k, self.chunk_array["row"][mask], share)

    def _keyword(self, text: str, k: int, mask: np.ndarray | None) -> Scored:
        rows = self.chunk_array["row"]
        return [(int(rows[p]), s) for p, s in bm25_search(self.bm25, len(rows), text, k, mask)]

    @_translated
    def dense_search(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> Scored:
        return self._dense(vector, k, self._mask(filters))

    @_translated
    def keyword_search(self, text: str, k: int, filters: Filters | None = None) -> Scored:
        return self._keyword(text, k, self._mask(filters))

    @_translated
    def hybrid_search(self, query: HybridQuery) -> Hybrid:
        mask = self._mask(query.filters)
        if mask is not None and not mask.any():
            return Hybrid([])
        return fuse(self._dense(query.vector, query.fetch_k, mask), self._keyword(query.text, query.fetch_k, mask),
                    query)

    # -- reading -------------------------------------------------------------------------------------------

    @_translated
    def documents(self) -> list[Document]:
        rows = self._db.execute(f"SELECT {DOC_FIELDS} FROM documents ORDER BY date, title").fetchall()
        return [Document(*r) for r in rows]

    @_translated
    def chunks_by_row(self, rows: list[int]) -> dict[int, tuple[Chunk, Document]]:
        if not rows:
            return {}
        marks = ",".join("?" * len(rows))
        query = (f"SELECT c.row, {', '.join('c.' + f.strip() for f in CHUNK_FIELDS.split(','))}, "
                 f"{', '.join('d.' + f.strip() for f in DOC_FIELDS.split(','))} "
                 f"FROM chunks c JOIN documents d ON c.doc_id = d.doc_id WHERE c.row IN ({marks})")
        return {r[0]: (Chunk(*r[1:8]), Document(*r[8:])) for r in self._db.execute(query, [int(r) for r in rows])}

    @_translated
    def stats(self) -> StoreStats:
        db = self._db
        dates = db.execute("SELECT min(date), max(date) FROM documents WHERE date IS NOT NULL").fetchone()
        outlets = db.execute("SELECT coalesce(outlet, '(unknown)'), count(*) FROM documents GROUP BY 1 "
                             "ORDER BY 2 DESC, 1")
        m = self.manifest
        return StoreStats(
            index=str(self.root), backend="embedded (FAISS + SQLite + bm25s)", generation=self.gen.name,
            documents=db.execute("SELECT count(*) FROM documents").fetchone()[0],
            chunks=db.execute("SELECT count(*) FROM chunks").fetchone()[0], outlets=dict(outlets.fetchall()),
            date_range=tuple(dates),
            undated_documents=db.execute("SELECT count(*) FROM documents WHERE date IS NULL").fetchone()[0],
            embedder=m.embedder, dim=m.dim, chunk_tokens=m.chunk_tokens, overlap=m.overlap, built=m.created,
            size_bytes=sum(r["size"] for r in self.files.values()) + (self.gen / gens.MANIFEST).stat().st_size)

    def check(self, full: bool = True) -> list[str]:
        """Verify every byte against the manifest, then that vectors, keyword index and metadata agree."""
        checked = gens.verify_files(self.root, self.gen, self.files, full=full, cache_dir=self.cache_dir)
        self._check_counts()
        return checked + [f"{len(self.vectors)} vectors ({self.vectors.kind}), {len(self.chunk_array)} keyword "
                          "entries and the metadata agree"]

    @_translated
    def _check_counts(self) -> None:
        chunks = self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        integrity = self._db.execute("PRAGMA quick_check").fetchone()[0]
        counts = {"vectors": len(self.vectors), "keyword entries": len(self.chunk_array),
                  "BM25 documents": self.bm25.num_docs, "metadata chunks": chunks}
        if integrity != "ok" or len(set(counts.values())) != 1:
            raise IndexDamagedError(f"The index at {self.root} is inconsistent ({counts}, SQLite: {integrity}). "
                                    + gens.fallback_advice(self.root, exclude=self.gen.name))

    def close(self) -> None:
        self._db.close()
