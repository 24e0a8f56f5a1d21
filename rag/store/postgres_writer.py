"""The PostgreSQL store (writer): one transaction per document, one writer at a time by an advisory lock."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Callable

import numpy as np

from rag.errors import IngestError, StoreError
from rag.store.base import Manifest, check_chunking, check_embedder
from rag.store.keyword import bm25_tokens
from rag.store.locations import display_location
from rag.store.postgres import DOC_COLUMNS, TF_BITS, connect, read_manifest, translated
from rag.store.postgres_schema import SCHEMA_VERSION, VECTOR_INDEX, check_version, create_statements, schema_exists
from rag.types import Chunk, Document

# Session-level advisory lock key ("rag-news" in ASCII): held by the one writer of this database; the server
# releases it when the writer's connection ends, however the process ends.
WRITER_LOCK = 0x7261672D6E657773

_UPSERT_DOCUMENT = f"""
INSERT INTO rag.documents ({DOC_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (doc_id) DO UPDATE SET source = EXCLUDED.source, title = EXCLUDED.title, text = EXCLUDED.text,
    outlet = EXCLUDED.outlet, date = EXCLUDED.date, author = EXCLUDED.author, url = EXCLUDED.url,
    content_hash = EXCLUDED.content_hash"""

# The chunks of one document, with their full-text vector and its length, and the totals BM25 needs. The words
# are split by the embedded store's BM25 tokenizer (bm25s: lower case, English stopwords out, no stemming), so
# that both stores rank the same words.
_INSERT_CHUNKS = """
WITH added AS (
    INSERT INTO rag.chunks (chunk_id, doc_id, position, text, start_char, end_char, n_tokens, outlet, date,
                            embedding, tsv, n_terms)
    SELECT c.chunk_id, %(doc_id)s, c.position, c.text, c.start_char, c.end_char, c.n_tokens, %(outlet)s,
           %(date)s::date, c.embedding, array_to_tsvector(string_to_array(c.words, ' ')), c.n_terms
    FROM unnest(%(chunk_ids)s::text[], %(positions)s::integer[], %(texts)s::text[], %(starts)s::integer[],
                %(ends)s::integer[], %(n_tokens)s::integer[], %(embeddings)s::vector[], %(words)s::text[],
                %(n_terms)s::integer[])
         AS c(chunk_id, position, text, start_char, end_char, n_tokens, embedding, words, n_terms)
    RETURNING n_terms)
UPDATE rag.totals SET chunks = chunks + (SELECT count(*) FROM added),
                      terms = terms + (SELECT coalesce(sum(n_terms), 0) FROM added)"""

_TERMS_ADD = """
INSERT INTO rag.terms (term, df)
SELECT lexeme, count(*) FROM rag.chunks c CROSS JOIN LATERAL unnest(tsvector_to_array(c.tsv)) AS lexeme
WHERE c.doc_id = %s AND strpos(lexeme, '~') = 0 GROUP BY lexeme
ON CONFLICT (term) DO UPDATE SET df = rag.terms.df + EXCLUDED.df"""

_TERMS_REMOVE = """
UPDATE rag.terms s SET df = s.df - x.n
FROM (SELECT lexeme, count(*) AS n FROM rag.chunks c CROSS JOIN LATERAL unnest(tsvector_to_array(c.tsv)) AS lexeme
      WHERE c.doc_id = %s AND strpos(lexeme, '~') = 0 GROUP BY lexeme) AS x
WHERE s.term = x.lexeme"""

_DELETE_CHUNKS = """
WITH gone AS (DELETE FROM rag.chunks WHERE doc_id = %s RETURNING n_terms)
UPDATE rag.totals SET chunks = chunks - (SELECT count(*) FROM gone),
                      terms = terms - (SELECT coalesce(sum(n_terms), 0) FROM gone)"""


def _tf_coded(words: list[str]) -> str:
    """The chunk's distinct words, plus the bits of (count - 1) of each repeated word as word~BIT: see postgres.py."""
    counts = Counter(words)
    bits = [f"{w}~{b}" for w, c in counts.items() for b in range(TF_BITS) if (min(c, 2**TF_BITS) - 1) >> b & 1]
    return " ".join([*counts, *bits])


class PostgresWriter:
    """Writes documents into the database as they come; each is visible, whole, once its transaction commits."""

    def __init__(self, location: str, embedder: str, dim: int, chunk_tokens: int, overlap: int,
                 on_wait: Callable[[], None] | None = None, cache_dir: str | None = None):
        self.location = display_location(location)
        self._conn = connect(location)
        try:
            self._lock(on_wait)
            # Losing the last commits in a crash is fine (they are re-ingested); waiting for a disk flush after
            # every document is not. Consistency is unaffected: each transaction still applies whole or not at all.
            self._conn.execute("SET synchronous_commit = off")
            self.manifest = self._prepare(embedder, dim, chunk_tokens, overlap)
            self._deferred_index = self._defer_vector_index()
            from pgvector.psycopg import register_vector

            register_vector(self._conn)
        except BaseException:
            self._conn.close()
            raise
        self._changed = False

    def _lock(self, on_wait: Callable[[], None] | None) -> None:
        if self._conn.execute("SELECT pg_try_advisory_lock(%s)", (WRITER_LOCK,)).fetchone()[0]:
            return
        if on_wait is None:
            raise IngestError(f"Another ingest is writing to {self.location}; wait for it to finish and run this "
                              "again (or use `rag ingest --wait`).")
        on_wait()
        self._conn.execute("SELECT pg_advisory_lock(%s)", (WRITER_LOCK,))

    @translated
    def _prepare(self, embedder: str, dim: int, chunk_tokens: int, overlap: int) -> Manifest:
        """Create the schema in an empty database, else check that this ingest matches the index."""
        if not schema_exists(self._conn):
            manifest = Manifest(SCHEMA_VERSION, embedder, dim, chunk_tokens, overlap,
                                time.strftime("%Y-%m-%dT%H:%M:%S"))
            try:
                with self._conn.transaction():
                    self._conn.execute(create_statements(dim))
                    self._conn.execute("INSERT INTO rag.meta VALUES ('schema_version', %s), ('manifest', %s)",
                                       (json.dumps(SCHEMA_VERSION), json.dumps(manifest.__dict__)))
            except Exception as exc:
                if "vector" in str(exc) and "extension" in str(exc):
                    raise StoreError(f"{self.location} has no pgvector extension and this user may not create it. "
                                     "Ask its administrator to run `CREATE EXTENSION vector;` in that database."
                                     ) from exc
                raise
            return manifest
        check_version(self._conn, self.location)
        manifest = read_manifest(self._conn)
        check_embedder(manifest, self.location, embedder)
        check_chunking(manifest, self.location, chunk_tokens, overlap)
        return manifest

    @translated
    def _defer_vector_index(self) -> bool:
        """A first load into an empty index builds the HNSW graph once, at the end: ~4x faster than growing it
        chunk by chunk (measured). A load killed before then leaves it out; the next writer goes on loading
        without it too and builds it at its end, so a big first load can be finished across runs."""
        if self._conn.execute("SELECT NOT EXISTS (SELECT 1 FROM rag.chunks)").fetchone()[0]:
            self._conn.execute("DROP INDEX IF EXISTS rag.chunks_embedding")
            return True
        return self._conn.execute("SELECT to_regclass('rag.chunks_embedding') IS NULL").fetchone()[0]

    def _build_vector_index(self) -> None:
        self._conn.execute("SET maintenance_work_mem = '2GB'")  # the graph of 1M chunks fits: built in memory
        self._conn.execute(VECTOR_INDEX)

    @translated
    def content_hashes(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT doc_id, content_hash FROM rag.documents").fetchall())

    @translated
    def sources(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT doc_id, source FROM rag.documents").fetchall())

    @translated
    def delete(self, doc_id: str) -> None:
        with self._conn.transaction():
            self._remove_chunks(doc_id)
            self._conn.execute("DELETE FROM rag.documents WHERE doc_id = %s", (doc_id,))
        self._changed = True

    def _remove_chunks(self, doc_id: str) -> None:
        self._conn.execute(_TERMS_REMOVE, (doc_id,))
        self._conn.execute(_DELETE_CHUNKS, (doc_id,))

    @translated
    def upsert(self, doc: Document, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Replace the document and its chunks in one transaction; an unchanged document is left alone."""
        with self._conn.transaction():
            self._replace(doc, chunks, vectors)
        self._changed = True

    @translated
    def upsert_many(self, items: list[tuple[Document, list[Chunk], np.ndarray]]) -> None:
        """Replace several documents in one transaction (fewer round trips and commits): all of them or none."""
        with self._conn.transaction():
            for doc, chunks, vectors in items:
                self._replace(doc, chunks, vectors)
        self._changed = self._changed or bool(items)

    def _replace(self, doc: Document, chunks: list[Chunk], vectors: np.ndarray) -> None:
        known = self._conn.execute("SELECT content_hash FROM rag.documents WHERE doc_id = %s FOR UPDATE",
                                   (doc.doc_id,)).fetchone()
        if known is not None and known[0] == doc.content_hash:
            return
        words = bm25_tokens([f"{doc.title}\n{c.text}" for c in chunks])
        self._remove_chunks(doc.doc_id)
        self._conn.execute(_UPSERT_DOCUMENT, (doc.doc_id, doc.source, doc.title, doc.text, doc.outlet, doc.date,
                                              doc.author, doc.url, doc.content_hash))
        self._conn.execute(_INSERT_CHUNKS, {
            "doc_id": doc.doc_id, "outlet": doc.outlet, "date": doc.date,
            "chunk_ids": [c.chunk_id for c in chunks], "positions": [c.position for c in chunks],
            "texts": [c.text for c in chunks], "starts": [c.start for c in chunks],
            "ends": [c.end for c in chunks], "n_tokens": [c.n_tokens for c in chunks],
            "embeddings": [np.asarray(v, dtype=np.float32) for v in vectors],
            "words": [_tf_coded(w) for w in words], "n_terms": [len(w) for w in words]})
        self._conn.execute(_TERMS_ADD, (doc.doc_id,))

    @property
    def changed(self) -> bool:
        return self._changed

    def commit(self) -> str:
        """Every document is already committed: build the vector index if it was deferred, release the lock."""
        self._finish()
        return self.location

    def abort(self) -> None:
        """Documents written so far stay (each is whole); the one in progress was rolled back."""
        self._finish()

    @translated
    def _finish(self) -> None:
        try:
            if self._deferred_index and not self._conn.closed:
                self._build_vector_index()
        finally:
            self._conn.close()
