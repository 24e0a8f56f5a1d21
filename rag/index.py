"""The on-disk index: generations of (manifest, SQLite metadata, FAISS vectors, BM25), switched atomically."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from rag.errors import IndexMismatchError, IndexMissingError, IngestError
from rag.types import Chunk, Document
from rag.vectorstore import FaissStore

FORMAT_VERSION = 1
CURRENT = "CURRENT"  # a one-line file naming the live generation; replaced atomically on commit

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
_DOC_FIELDS = "doc_id, source, title, text, outlet, date, author, url, content_hash"
_CHUNK_FIELDS = "chunk_id, doc_id, position, text, start, end, n_tokens"


@dataclass(frozen=True)
class Manifest:
    """What an index was built with; a reader refuses an index whose embedder or format it doesn't match."""

    format_version: int
    embedder: str
    dim: int
    chunk_tokens: int
    overlap: int
    created: str


def _read_current(root: Path) -> Path | None:
    pointer = root / CURRENT
    if not pointer.is_file():
        return None
    gen = root / pointer.read_text(encoding="utf-8").strip()
    return gen if gen.is_dir() else None


def _read_manifest(gen: Path) -> Manifest:
    data = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    if data.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"The index at {gen.parent} has format version {data.get('format_version')}, this rag reads version "
            f"{FORMAT_VERSION}. Rebuild it: delete {gen.parent} and run `rag ingest` again.")
    return Manifest(**{k: data[k] for k in Manifest.__dataclass_fields__})


def check_embedder(manifest: Manifest, root: Path, embedder: str) -> None:
    if manifest.embedder != embedder:
        raise IndexMismatchError(
            f"The index at {root} was built with embedder {manifest.embedder!r} but {embedder!r} was asked for. "
            f"Use --embedder {manifest.embedder} (or RAG_EMBEDDER), or build a new index with `rag ingest --index "
            f"NEW_DIR ...`.")


def _document(row: tuple) -> Document:
    return Document(*row)


def _chunk(row: tuple) -> Chunk:
    return Chunk(*row)


def bm25_tokens(texts: list[str]) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", return_ids=False, show_progress=False)


class Index:
    """A read-only view of the live generation of an index folder."""

    def __init__(self, root: Path, gen: Path, manifest: Manifest):
        self.root, self.gen, self.manifest = root, gen, manifest
        # check_same_thread off: the UI answers from worker threads; the connection is only read.
        self._db = sqlite3.connect(f"file:{gen / 'meta.sqlite'}?mode=ro", uri=True, check_same_thread=False)

    @classmethod
    def open(cls, root: str | Path, embedder: str | None = None) -> Index:
        root = Path(root)
        gen = _read_current(root)
        if gen is None:
            raise IndexMissingError(f"No index at {root}. Build one first: rag ingest PATH... --index {root}")
        manifest = _read_manifest(gen)
        if embedder is not None:
            check_embedder(manifest, root, embedder)
        return cls(root, gen, manifest)

    @cached_property
    def vectors(self) -> FaissStore:
        return FaissStore.load(self.gen / "vectors.faiss")

    @cached_property
    def bm25(self):
        import bm25s

        return bm25s.BM25.load(str(self.gen / "bm25"))

    @cached_property
    def bm25_rows(self) -> np.ndarray:
        """BM25 result positions map to chunk rows through this array, saved beside the BM25 index."""
        return np.load(self.gen / "bm25_rows.npy")

    def documents(self) -> list[Document]:
        rows = self._db.execute(f"SELECT {_DOC_FIELDS} FROM documents ORDER BY date, title").fetchall()
        return [_document(r) for r in rows]

    def chunks_by_row(self, rows: list[int]) -> dict[int, tuple[Chunk, Document]]:
        if not rows:
            return {}
        marks = ",".join("?" * len(rows))
        query = (f"SELECT c.row, {', '.join('c.' + f.strip() for f in _CHUNK_FIELDS.split(','))}, "
                 f"{', '.join('d.' + f.strip() for f in _DOC_FIELDS.split(','))} "
                 f"FROM chunks c JOIN documents d ON c.doc_id = d.doc_id WHERE c.row IN ({marks})")
        found = {}
        for r in self._db.execute(query, rows):
            found[r[0]] = (_chunk(r[1:8]), _document(r[8:]))
        return found

    def rows_matching(self, outlet: str | None, since: str | None, until: str | None,
                      asked_on: str | None = None) -> set[int] | None:
        """Chunk rows whose document passes the filters; None when there is no filter."""
        if asked_on and not self._db.execute("SELECT 1 FROM documents WHERE date > ? LIMIT 1", (asked_on,)).fetchone():
            asked_on = None  # nothing is dated after the question: no need to filter
        if not (outlet or since or until or asked_on):
            return None
        clauses, args = [], []
        if outlet:
            clauses.append("lower(d.outlet) = lower(?)")
            args.append(outlet)
        if since:
            clauses.append("d.date >= ?")
            args.append(since)
        if until:
            clauses.append("d.date <= ?")
            args.append(until)
        if asked_on:
            clauses.append("(d.date IS NULL OR d.date <= ?)")
            args.append(asked_on)
        query = f"SELECT c.row FROM chunks c JOIN documents d ON c.doc_id = d.doc_id WHERE {' AND '.join(clauses)}"
        return {r[0] for r in self._db.execute(query, args)}

    def stats(self) -> dict:
        db = self._db
        dates = db.execute("SELECT min(date), max(date) FROM documents WHERE date IS NOT NULL").fetchone()
        outlets = db.execute("SELECT coalesce(outlet, '(unknown)'), count(*) FROM documents GROUP BY 1 ORDER BY 2 DESC")
        size = sum(f.stat().st_size for f in self.gen.rglob("*") if f.is_file())
        return {
            "index": str(self.root), "generation": self.gen.name,
            "documents": db.execute("SELECT count(*) FROM documents").fetchone()[0],
            "chunks": db.execute("SELECT count(*) FROM chunks").fetchone()[0],
            "outlets": dict(outlets.fetchall()), "date_range": list(dates),
            "undated_documents": db.execute("SELECT count(*) FROM documents WHERE date IS NULL").fetchone()[0],
            "embedder": self.manifest.embedder, "dim": self.manifest.dim,
            "chunk_tokens": self.manifest.chunk_tokens, "overlap": self.manifest.overlap,
            "built": self.manifest.created, "size_bytes": size,
        }

    def close(self) -> None:
        self._db.close()


class IndexWriter:
    """Stages the next generation beside the live one; only commit() makes it live, in one atomic rename."""

    def __init__(self, root: str | Path, embedder: str, dim: int, chunk_tokens: int, overlap: int):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = _lock(self.root)
        live = _read_current(self.root)
        _prune_generations(self.root, keep={live.name} if live else set())
        self.manifest = Manifest(FORMAT_VERSION, embedder, dim, chunk_tokens, overlap,
                                 time.strftime("%Y-%m-%dT%H:%M:%S"))
        if live is not None:
            old = _read_manifest(live)
            check_embedder(old, self.root, embedder)
            if (old.chunk_tokens, old.overlap) != (chunk_tokens, overlap):
                raise IndexMismatchError(
                    f"The index at {self.root} was chunked with --chunk-tokens {old.chunk_tokens} --overlap "
                    f"{old.overlap}. Use those, or build a new index with `rag ingest --index NEW_DIR ...`.")
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
        self._db.execute(f"INSERT INTO documents ({_DOC_FIELDS}) VALUES (?,?,?,?,?,?,?,?,?)", astuple_doc(doc))
        rows = []
        for c in chunks:
            cursor = self._db.execute(f"INSERT INTO chunks ({_CHUNK_FIELDS}) VALUES (?,?,?,?,?,?,?)",
                                      (c.chunk_id, c.doc_id, c.position, c.text, c.start, c.end, c.n_tokens))
            rows.append(cursor.lastrowid)
        self.vectors.add(np.array(rows, dtype=np.int64), vectors)
        self._changed = True

    @property
    def changed(self) -> bool:
        return self._changed

    def _write_bm25(self) -> None:
        import bm25s

        rows, texts = [], []
        query = "SELECT c.row, d.title, c.text FROM chunks c JOIN documents d ON c.doc_id = d.doc_id ORDER BY c.row"
        for row, title, text in self._db.execute(query):
            rows.append(row)
            texts.append(f"{title}\n{text}")
        retriever = bm25s.BM25()
        if texts:
            retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
        retriever.save(str(self._staging / "bm25"))
        np.save(self._staging / "bm25_rows.npy", np.array(rows, dtype=np.int64))

    def commit(self) -> Path:
        """Write everything, fsync, rename the staging folder to a generation, then repoint CURRENT."""
        try:
            return self._commit()
        finally:
            self._lock.close()

    def _commit(self) -> Path:
        self._db.commit()
        self._write_bm25()
        self._db.close()
        self.vectors.save(self._staging / "vectors.faiss")
        (self._staging / "manifest.json").write_text(json.dumps(asdict(self.manifest), indent=2), encoding="utf-8")
        _fsync_tree(self._staging)
        gen = self.root / f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**9:09d}"
        os.replace(self._staging, gen)
        pointer = self.root / f".{CURRENT}.tmp-{os.getpid()}"
        pointer.write_text(gen.name + "\n", encoding="utf-8")
        _fsync_file(pointer)
        os.replace(pointer, self.root / CURRENT)
        _fsync_dir(self.root)
        _prune_generations(self.root, keep={gen.name})
        return gen

    def abort(self) -> None:
        try:
            self._db.close()
        finally:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._lock.close()


def _lock(root: Path):
    """One writer at a time: two ingests committing at once would each drop the other's documents."""
    import fcntl

    handle = (root / ".lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise IngestError(f"Another ingest is writing to {root}; wait for it to finish and run this again.") from exc
    return handle


def astuple_doc(doc: Document) -> tuple:
    return (doc.doc_id, doc.source, doc.title, doc.text, doc.outlet, doc.date, doc.author, doc.url, doc.content_hash)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    _fsync_file(path)


def _fsync_tree(path: Path) -> None:
    for item in path.rglob("*"):
        if item.is_file():
            _fsync_file(item)
    _fsync_dir(path)


def _prune_generations(root: Path, keep: set[str]) -> None:
    """Drop old generations and leftovers of killed ingests; the one before the live one stays for open readers.

    Only a writer holding the lock calls this, so no other ingest can own a staging folder.
    """
    gens = sorted(p for p in root.glob("gen-*") if p.is_dir())
    keep = keep | {p.name for p in gens[-2:]}
    for path in gens:
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
    for leftover in root.glob(".staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in root.glob(f".{CURRENT}.tmp-*"):
        leftover.unlink(missing_ok=True)
