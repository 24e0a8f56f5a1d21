"""The PostgreSQL store (reader): pgvector HNSW + full-text BM25 fused in one SQL query, filters in its WHERE."""

from __future__ import annotations

from datetime import date

import numpy as np

from rag.errors import StoreError
from rag.store.base import Filters, Hybrid, HybridQuery, Manifest, Ranked, Scored, StoreStats, translating
from rag.store.keyword import bm25_tokens
from rag.store.locations import display_location
from rag.store.postgres_schema import SCHEMA_VERSION, check_version, schema_exists
from rag.types import Chunk, Document

# HNSW candidates per query; with iterative scans a filtered query goes on until its top k is full. Measured at 1M
# synthetic clustered chunks (eval/BENCH_STORE.md): dense recall@10 0.77 at 100, 0.89 at 200, 0.92 at 400, 0.94 at
# 800, while a hybrid search's CPU time stayed ~60-70 ms (its keyword half dominates).
EF_SEARCH = 400
K1, B = 1.5, 0.75  # BM25 as the embedded store's bm25s (Lucene variant)

# BM25 over the full-text vectors, whose words the embedded store's tokenizer split (and the question's). A word
# found n >= 2 times in a chunk also carries n - 1 in binary as lexemes word~0 .. word~3 (bit set: lexeme present),
# so its term frequency (up to 16) is four probes of the tsvector instead of unpacking it (~30x slower).
# Candidates are the chunks holding a query word that is in at most CANDIDATE_SHARE of the chunks (or the rarest
# word): a word in more of them adds little (idf < ~4) and would make every query scan a large part of the
# collection.
CANDIDATE_SHARE, CANDIDATE_FLOOR = 0.02, 2000  # below 100k chunks every query word makes candidates
TF_BITS = 4
_TERMS = """
terms AS (
    SELECT t.lexeme AS term, quote_literal(t.lexeme)::tsquery AS query, coalesce(s.df, 0) AS df,
           quote_literal(t.lexeme || '~0')::tsquery AS b0, quote_literal(t.lexeme || '~1')::tsquery AS b1,
           quote_literal(t.lexeme || '~2')::tsquery AS b2, quote_literal(t.lexeme || '~3')::tsquery AS b3,
           ln(1 + (tot.chunks - coalesce(s.df, 0) + 0.5)::float8 / (coalesce(s.df, 0) + 0.5)) AS idf
    FROM unnest(%(words)s::text[]) AS t(lexeme) CROSS JOIN rag.totals AS tot
         LEFT JOIN rag.terms AS s ON s.term = t.lexeme),
q AS (SELECT string_agg(quote_literal(term), ' | ')::tsquery AS query,
             (SELECT terms::float8 / greatest(chunks, 1) FROM rag.totals) AS avgdl
      FROM terms
      WHERE df > 0 AND df <= greatest((SELECT min(df) FROM terms WHERE df > 0),
                                      (SELECT chunks FROM rag.totals) * {share}, {floor}))"""

_KEYWORD = """
keyword AS (
    SELECT c.id, sum(terms.idf * tf.n / (tf.n + {k1} * (1 - {b} + {b} * c.n_terms / q.avgdl))) AS score
    FROM q, rag.chunks c JOIN terms ON c.tsv @@ terms.query
         CROSS JOIN LATERAL (SELECT 1 + (c.tsv @@ terms.b0)::int + 2 * (c.tsv @@ terms.b1)::int
                                    + 4 * (c.tsv @@ terms.b2)::int + 8 * (c.tsv @@ terms.b3)::int AS n) AS tf
    WHERE c.tsv @@ q.query AND {where}
    GROUP BY c.id ORDER BY score DESC, c.id LIMIT %(fetch_k)s),
keyword_ranked AS (SELECT id, score, row_number() OVER (ORDER BY score DESC, id) AS rank FROM keyword)"""

# MATERIALIZED: the index scan runs once, with its LIMIT; the ranks are numbered afterwards.
_DENSE = """
dense AS MATERIALIZED (
    SELECT c.id, c.embedding <#> %(vector)s AS distance FROM rag.chunks c
    WHERE {where} ORDER BY distance LIMIT %(fetch_k)s),
dense_ranked AS (SELECT id, -distance AS score, row_number() OVER (ORDER BY distance, id) AS rank FROM dense)"""

# Ties fall as in rag.store.base.fuse: rows the dense list has first, in its order, then the keyword-only ones.
_HYBRID = "WITH " + _TERMS + "," + _KEYWORD + "," + _DENSE + """
SELECT coalesce(d.id, k.id),
       coalesce(%(dense_weight)s / (%(rrf_k)s + d.rank), 0.0) + coalesce(%(keyword_weight)s / (%(rrf_k)s + k.rank), 0.0)
           AS fused, d.rank, k.rank,
       (SELECT array_agg(score ORDER BY rank) FROM dense_ranked WHERE rank <= 2),
       (SELECT array_agg(score ORDER BY rank) FROM keyword_ranked WHERE rank <= 2)
FROM dense_ranked d FULL OUTER JOIN keyword_ranked k ON d.id = k.id
ORDER BY fused DESC, d.rank NULLS LAST, k.rank LIMIT %(k)s"""

_CHUNK_COLUMNS = "c.id, c.chunk_id, c.doc_id, c.position, c.text, c.start_char, c.end_char, c.n_tokens"
DOC_COLUMNS = "doc_id, source, title, text, outlet, date, author, url, content_hash"


def where_clause(filters: Filters | None) -> tuple[str, dict]:
    """The filters as SQL over chunk columns (alias c) and their parameters."""
    clauses, params = ["TRUE"], {}
    if filters is None:
        return clauses[0], params
    if filters.outlet:
        clauses.append("lower(c.outlet) = lower(%(outlet)s)")
        params["outlet"] = filters.outlet
    for name, clause in (("since", "c.date >= %(since)s"), ("until", "c.date <= %(until)s"),
                         ("asked_on", "(c.date IS NULL OR c.date <= %(asked_on)s)")):
        if (day := filters.day(name)) is not None:
            clauses.append(clause)
            params[name] = day
    return " AND ".join(clauses), params


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _document(row: tuple) -> Document:
    return Document(*row[:5], _iso(row[5]), *row[6:])


def connect(location: str):
    """An autocommit connection, or a StoreError saying how to get a server."""
    import psycopg

    try:
        return psycopg.connect(location, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(f"Cannot connect to the index database {display_location(location)}: {reason}. Start a "
                         "local one with `rag db start`, or check the URL (user, password, host, database).") from exc


def _psycopg_errors() -> tuple[type[BaseException], ...]:
    import psycopg

    return (psycopg.Error,)


def _failed(store, exc: BaseException) -> StoreError:
    return StoreError(f"The index database {store.location} failed: {str(exc).strip() or type(exc).__name__}")


translated = translating(_psycopg_errors, _failed)  # database errors become one StoreError naming the database


def index_exists(location: str) -> bool:
    """False only when the database answers that it holds no index; an unreachable one is left to open_store."""
    try:
        conn = connect(location)
    except StoreError:
        return True
    try:
        return schema_exists(conn)
    finally:
        conn.close()


def read_manifest(conn) -> Manifest:
    value = conn.execute("SELECT value FROM rag.meta WHERE key = 'manifest'").fetchone()[0]
    return Manifest(**{k: value[k] for k in Manifest.__dataclass_fields__})


class PostgresStore:
    """A reader of the index in a PostgreSQL database (schema `rag`)."""

    def __init__(self, url: str, conn, manifest: Manifest):
        self.url, self._conn, self.manifest = url, conn, manifest
        self.location = display_location(url)

    @classmethod
    def open(cls, location: str, verify: str = "open", cache_dir: str | None = None) -> PostgresStore:
        # cache_dir: nothing of a database index is kept beside it (the server checks its own pages).
        from pgvector.psycopg import register_vector

        conn = connect(location)
        try:
            check_version(conn, display_location(location))
            manifest = read_manifest(conn)
            register_vector(conn)
            conn.execute(f"SET hnsw.ef_search = {EF_SEARCH}")
            # strict: a filtered top k in true distance order. Measured at 100k chunks with a one-year filter:
            # recall@10 1.0 (relaxed_order: 0.72 at the same ef_search, 0.97 at 400), no slower.
            conn.execute("SET hnsw.iterative_scan = strict_order")
        except BaseException:
            conn.close()
            raise
        return cls(location, conn, manifest)

    def _run(self, sql: str, params: dict) -> list[tuple]:
        return self._conn.execute(sql, params).fetchall()

    def _one(self, sql: str) -> tuple:
        return self._conn.execute(sql).fetchone()

    @translated
    def hybrid_search(self, query: HybridQuery) -> list[Ranked]:
        where, params = where_clause(query.filters)
        sql = _HYBRID.format(where=where, k1=K1, b=B, share=CANDIDATE_SHARE, floor=CANDIDATE_FLOOR)
        params |= {"words": bm25_tokens([query.text])[0], "vector": np.asarray(query.vector, dtype=np.float32),
                   "k": query.k, "fetch_k": query.fetch_k, "rrf_k": query.rrf_k,
                   "dense_weight": float(query.dense_weight),
                   "keyword_weight": float(query.keyword_weight)}
        rows = self._run(sql, params)
        if not rows:
            return Hybrid([])
        return Hybrid([Ranked(int(row), float(score), dense, keyword) for row, score, dense, keyword, _, _ in rows],
                      tuple(float(s) for s in rows[0][4] or ()), tuple(float(s) for s in rows[0][5] or ()))

    @translated
    def dense_search(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> Scored:
        where, params = where_clause(filters)
        sql = "WITH " + _DENSE.format(where=where) + " SELECT id, score FROM dense_ranked ORDER BY rank"
        rows = self._run(sql, params | {"vector": np.asarray(vector, dtype=np.float32), "fetch_k": k})
        return [(int(row), float(score)) for row, score in rows]

    @translated
    def keyword_search(self, text: str, k: int, filters: Filters | None = None) -> Scored:
        where, params = where_clause(filters)
        sql = "WITH " + (_TERMS + "," + _KEYWORD).format(where=where, k1=K1, b=B, share=CANDIDATE_SHARE,
                                                         floor=CANDIDATE_FLOOR) + \
            " SELECT id, score FROM keyword_ranked ORDER BY rank"
        rows = self._run(sql, params | {"words": bm25_tokens([text])[0], "fetch_k": k})
        return [(int(row), float(score)) for row, score in rows]

    @translated
    def chunks_by_row(self, rows: list[int]) -> dict[int, tuple[Chunk, Document]]:
        if not rows:
            return {}
        sql = (f"SELECT {_CHUNK_COLUMNS}, {', '.join('d.' + f.strip() for f in DOC_COLUMNS.split(','))} "
               "FROM rag.chunks c JOIN rag.documents d ON c.doc_id = d.doc_id WHERE c.id = ANY(%(rows)s)")
        found = self._run(sql, {"rows": [int(r) for r in rows]})
        return {r[0]: (Chunk(*r[1:8]), _document(r[8:])) for r in found}

    @translated
    def documents(self) -> list[Document]:
        rows = self._run(f'SELECT {DOC_COLUMNS} FROM rag.documents ORDER BY date NULLS FIRST, title COLLATE "C"', {})
        return [_document(r) for r in rows]

    @translated
    def stats(self) -> StoreStats:
        one = self._one
        dates = one("SELECT min(date), max(date) FROM rag.documents")
        outlets = self._run("SELECT coalesce(outlet, '(unknown)'), count(*) FROM rag.documents GROUP BY 1 "
                            "ORDER BY 2 DESC, coalesce(outlet, '(unknown)') COLLATE \"C\"", {})
        size = one("SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
                   "ON n.oid = c.relnamespace WHERE n.nspname = 'rag' AND c.relkind = 'r'")[0]
        m = self.manifest
        return StoreStats(
            index=self.location, backend="PostgreSQL + pgvector", generation=f"schema v{SCHEMA_VERSION}",
            documents=one("SELECT count(*) FROM rag.documents")[0], chunks=one("SELECT count(*) FROM rag.chunks")[0],
            outlets=dict(outlets), date_range=(_iso(dates[0]), _iso(dates[1])),
            undated_documents=one("SELECT count(*) FROM rag.documents WHERE date IS NULL")[0], embedder=m.embedder,
            dim=m.dim, chunk_tokens=m.chunk_tokens, overlap=m.overlap, built=m.created, size_bytes=int(size or 0))

    @translated
    def check(self, full: bool = True) -> list[str]:
        """Schema version, and that the BM25 totals and the chunks agree (they are written in one transaction)."""
        check_version(self._conn, self.location)
        chunks, terms = self._run("SELECT count(*), coalesce(sum(n_terms), 0) FROM rag.chunks", {})[0]
        totals = self._run("SELECT chunks, terms FROM rag.totals", {})[0]
        orphans = self._run("SELECT count(*) FROM rag.documents d WHERE NOT EXISTS "
                            "(SELECT 1 FROM rag.chunks c WHERE c.doc_id = d.doc_id)", {})[0][0]
        if chunks and self._one("SELECT to_regclass('rag.chunks_embedding')")[0] is None:
            raise StoreError(f"The index database {self.location} lacks its vector index (a first ingest was "
                             "interrupted); searches are exact but slow. Run `rag ingest` again to build it.")
        if (chunks, terms) != tuple(totals):
            raise StoreError(f"The index database {self.location} is inconsistent: {chunks} chunks with {terms} "
                             f"terms, but the totals say {totals[0]} and {totals[1]}. Re-run `rag ingest`.")
        return [f"schema version {SCHEMA_VERSION} ok", f"{chunks} chunks, {terms} terms: totals agree",
                f"{orphans} documents without chunks"]

    def warm_up(self) -> None:
        """Nothing to load: the server keeps its indexes in memory."""

    def close(self) -> None:
        self._conn.close()
