"""The PostgreSQL store's schema, versioned: the tables and indexes in schema `rag`, and the check made at open."""

from __future__ import annotations

from rag.errors import IndexMismatchError, IndexMissingError

SCHEMA_VERSION = 1  # bump with every change below, and teach `check_version` what to say about the old one
SCHEMA = "rag"  # every table lives in its own namespace, so the database can hold other things

# {dim} is the embedder's dimension (384 for all-MiniLM-L6-v2). Outlet and date are copied onto the chunks so
# that filters sit in the same WHERE clause as the vector and full-text searches, with no join.
_TABLES = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE SCHEMA IF NOT EXISTS rag;
CREATE TABLE rag.meta (key text PRIMARY KEY, value jsonb NOT NULL);
CREATE TABLE rag.documents (
    doc_id text PRIMARY KEY, source text NOT NULL, title text NOT NULL, text text NOT NULL,
    outlet text, date date, author text, url text, content_hash text NOT NULL);
CREATE TABLE rag.chunks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chunk_id text NOT NULL UNIQUE,
    doc_id text NOT NULL REFERENCES rag.documents (doc_id) ON DELETE CASCADE,
    position integer NOT NULL, text text NOT NULL,
    start_char integer NOT NULL, end_char integer NOT NULL, n_tokens integer NOT NULL,
    outlet text, date date,
    embedding vector({dim}) NOT NULL,
    tsv tsvector NOT NULL,          -- the words of title + text as the embedded store's BM25 splits them
    n_terms integer NOT NULL);      -- how many words that is: the document length of BM25
-- Totals for BM25's average length and idf, kept by the writers in the same transaction as the chunks.
CREATE TABLE rag.totals (one boolean PRIMARY KEY DEFAULT true CHECK (one), chunks bigint NOT NULL,
                         terms bigint NOT NULL);
INSERT INTO rag.totals VALUES (true, 0, 0);
-- Chunks containing each lexeme (BM25's document frequency), kept by the writers with the chunks.
CREATE TABLE rag.terms (term text PRIMARY KEY, df integer NOT NULL);
CREATE INDEX chunks_doc ON rag.chunks (doc_id);
CREATE INDEX chunks_tsv ON rag.chunks USING gin (tsv);
CREATE INDEX chunks_date ON rag.chunks (date);
CREATE INDEX chunks_outlet ON rag.chunks (lower(outlet));
CREATE INDEX documents_date ON rag.documents (date);
"""


# Inner product on normalised vectors; m and ef_construction are pgvector's defaults (16, 64).
VECTOR_INDEX = "CREATE INDEX IF NOT EXISTS chunks_embedding ON rag.chunks USING hnsw (embedding vector_ip_ops)"


def create_statements(dim: int) -> str:
    return _TABLES.replace("{dim}", str(int(dim))) + VECTOR_INDEX + ";"


def schema_exists(conn) -> bool:
    return conn.execute("SELECT to_regclass('rag.meta') IS NOT NULL").fetchone()[0]


def check_version(conn, where: str) -> None:
    """Refuse a database whose rag schema was written by another version of this program."""
    if not schema_exists(conn):
        raise IndexMissingError(f"No index in {where}. Build one first: rag ingest PATH... --index {where}")
    row = conn.execute("SELECT value FROM rag.meta WHERE key = 'schema_version'").fetchone()
    version = row[0] if row else None
    if version != SCHEMA_VERSION:
        raise IndexMismatchError(
            f"The index in {where} has schema version {version}, this rag reads version {SCHEMA_VERSION}. "
            f"Rebuild it: run `DROP SCHEMA rag CASCADE` in that database, then `rag ingest` again.")
