"""The embedded store (writer): stages the next generation beside the live one; commit() makes it live at once."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Callable

import numpy as np

from rag.errors import ConfigError
from rag.store import generations as gens
from rag.store.base import Manifest, check_chunking, check_embedder
from rag.store.faiss_vectors import FaissStore
from rag.store.folder import CHUNK_DTYPE, CHUNK_FIELDS, CHUNKS_FILE, DOC_FIELDS, day_number
from rag.store.keyword import build_bm25
from rag.types import Chunk, Document

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, source TEXT NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL,
    outlet TEXT, date TEXT, author TEXT, url TEXT, content_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    row INTEGER PRIMARY KEY AUTOINCREMENT, chunk_id TEXT UNIQUE NOT NULL,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id), position INTEGER NOT NULL, text TEXT NOT NULL,
    start INTEGER NOT NULL, end INTEGER NOT NULL, n_tokens INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
"""


def _doc_values(doc: Document) -> tuple:
    return (doc.doc_id, doc.source, doc.title, doc.text, doc.outlet, doc.date, doc.author, doc.url, doc.content_hash)


class FolderWriter:
    """Copies the live generation into a staging folder, changes it there, and commits it as the next one."""

    def __init__(self, location: str, embedder: str, dim: int, chunk_tokens: int, overlap: int,
                 on_wait: Callable[[], None] | None = None, cache_dir: str | None = None):
        self.root, self.cache_dir = Path(location), cache_dir
        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(f"--index {self.root} is a file; give an index folder or a postgresql:// URL.")
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = gens.lock(self.root, on_wait)
        try:
            self._start(embedder, dim, chunk_tokens, overlap)
        except BaseException:
            self._lock.close()
            raise

    def _start(self, embedder: str, dim: int, chunk_tokens: int, overlap: int) -> None:
        live = gens.read_current(self.root)
        gens.prune_generations(self.root, keep={live.name} if live else set(), cache_dir=self.cache_dir)
        self.manifest = Manifest(gens.FORMAT_VERSION, embedder, dim, chunk_tokens, overlap,
                                 time.strftime("%Y-%m-%dT%H:%M:%S"))
        if live is not None:
            old, files = gens.read_manifest(self.root, live)
            check_embedder(old, str(self.root), embedder)
            check_chunking(old, str(self.root), chunk_tokens, overlap)
            # Never build on a damaged generation.
            gens.verify_files(self.root, live, files, full=False, cache_dir=self.cache_dir)
        self._staging = self.root / f".staging-{os.getpid()}-{time.time_ns()}"
        self._staging.mkdir()
        if live is not None:
            shutil.copy2(live / "meta.sqlite", self._staging / "meta.sqlite")
            self.vectors = FaissStore.load(live / "vectors.faiss")
        else:
            self.vectors = FaissStore(dim)
        self._db = sqlite3.connect(self._staging / "meta.sqlite")
        self._db.executescript(_SCHEMA)
        self._changed = False

    def content_hashes(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT doc_id, content_hash FROM documents"))

    def sources(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT doc_id, source FROM documents"))

    def delete(self, doc_id: str) -> None:
        rows = [r[0] for r in self._db.execute("SELECT row FROM chunks WHERE doc_id = ?", (doc_id,))]
        self.vectors.remove(np.array(rows, dtype=np.int64))
        self._db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        self._db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
        self._changed = True

    def upsert(self, doc: Document, chunks: list[Chunk], vectors: np.ndarray) -> None:
        self.delete(doc.doc_id)
        self._db.execute(f"INSERT INTO documents ({DOC_FIELDS}) VALUES (?,?,?,?,?,?,?,?,?)", _doc_values(doc))
        rows = []
        for c in chunks:
            cursor = self._db.execute(f"INSERT INTO chunks ({CHUNK_FIELDS}) VALUES (?,?,?,?,?,?,?)",
                                      (c.chunk_id, c.doc_id, c.position, c.text, c.start, c.end, c.n_tokens))
            rows.append(cursor.lastrowid)
        self.vectors.add(np.array(rows, dtype=np.int64), vectors)
        self._changed = True

    @property
    def changed(self) -> bool:
        return self._changed

    def _write_chunks_and_bm25(self) -> None:
        """The per-chunk filter array and the BM25 index, both in row order (BM25 position i = array entry i)."""
        query = ("SELECT c.row, d.rowid, d.date, d.title, c.text FROM chunks c JOIN documents d "
                 "ON c.doc_id = d.doc_id ORDER BY c.row")
        entries, texts = [], []
        for row, doc, day, title, text in self._db.execute(query):
            entries.append((row, doc, day_number(day)))
            texts.append(f"{title}\n{text}")
        np.save(self._staging / CHUNKS_FILE, np.array(entries, dtype=CHUNK_DTYPE))
        build_bm25(texts, self._staging / "bm25")

    def commit(self) -> Path:
        """Write everything, fsync, rename the staging folder to a generation, then repoint CURRENT."""
        try:
            return self._commit()
        finally:
            self._lock.close()

    def _commit(self) -> Path:
        self._db.commit()
        self._write_chunks_and_bm25()
        self._db.close()
        self.vectors.fit_to_size()
        self.vectors.save(self._staging / "vectors.faiss")
        gens.write_manifest(self._staging, self.manifest)
        gens.fsync_tree(self._staging)
        gen = self.root / gens.new_generation_name()
        os.replace(self._staging, gen)
        gens.write_current(self.root, gen)
        gens.prune_generations(self.root, keep={gen.name}, cache_dir=self.cache_dir)
        return gen

    def abort(self) -> None:
        try:
            self._db.close()
        finally:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._lock.close()
