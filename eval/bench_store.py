"""Store benchmark: load N synthetic chunks into a backend, time hybrid search, measure recall, memory and disk.

    nice -n 19 .venv/bin/python eval/bench_store.py --backend folder --size 100000
    nice -n 19 .venv/bin/python eval/bench_store.py --backend postgres --size 1000000 --url postgresql://...

Each run adds its row to eval/bench_store.json and rewrites the table in eval/BENCH_STORE.md.

The data (deterministic, seed 0): documents of 8 chunks; each document belongs to one of 2,000 topics. A chunk's
vector is its topic's random unit vector plus Gaussian noise of the same norm, normalised (cosine ~0.5 to its
topic, ~0 to others: real embeddings cluster by subject too; uniformly random vectors would have no neighbours
worth finding). Its text is 60 words: 24 drawn from its topic's 30 words, 36 from a Zipf-distributed vocabulary
of 50,000 made-up words. Dates are uniform over 2015-2024 (5% undated), outlets one of 50. A query is a chunk's
vector plus noise of half its norm, and 6 of that chunk's words (chunks of dated documents only); the date
filter is the calendar year of that chunk's document (a question about a time that has its answer).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag.store import HybridQuery, open_store, open_writer  # noqa: E402
from rag.store.base import Filters  # noqa: E402
from rag.types import Chunk, Document  # noqa: E402

DIM, PER_DOC, TOPICS, VOCAB = 384, 8, 2000, 50_000
RESULTS = REPO / "eval" / "bench_store.json"
TABLE = REPO / "eval" / "BENCH_STORE.md"


def _words(rng: np.random.Generator, n: int) -> np.ndarray:
    syllables = np.array(["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "pe", "su", "da", "fo", "gi", "ha", "ju"])
    parts = rng.integers(0, len(syllables), size=(n, 3))
    return np.array(["".join(syllables[p]) + str(i % 97) for i, p in enumerate(parts)])


class Corpus:
    """The synthetic collection, generated document by document from a seed."""

    def __init__(self, size: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.size, self.docs = size, size // PER_DOC
        self.vocab = _words(rng, VOCAB)
        zipf = np.cumsum(1.0 / np.arange(1, VOCAB + 1))
        self.zipf_cdf = zipf / zipf[-1]
        self.topic_words = rng.integers(0, VOCAB, size=(TOPICS, 30))
        centres = rng.standard_normal((TOPICS, DIM)).astype(np.float32)
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)
        self.doc_topic = rng.integers(0, TOPICS, size=self.docs)
        start = date(2015, 1, 1).toordinal()
        days = rng.integers(0, 3652, size=self.docs)
        self.doc_date = [None if rng.random() < 0.05 else date.fromordinal(start + int(d)).isoformat() for d in days]
        self.doc_outlet = rng.integers(0, 50, size=self.docs)
        noise = rng.standard_normal((self.docs * PER_DOC, DIM)).astype(np.float32) / np.sqrt(DIM)
        vectors = self.centres[np.repeat(self.doc_topic, PER_DOC)] + noise
        self.vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        self.rng = rng

    def word_ids(self, d: int) -> np.ndarray:
        """(chunks, 60) word ids of document d: 24 of its topic's words, then 36 Zipf-distributed ones."""
        rng = np.random.default_rng(d)
        topic = self.topic_words[self.doc_topic[d]][rng.integers(0, 30, size=(PER_DOC, 24))]
        common = np.searchsorted(self.zipf_cdf, rng.random((PER_DOC, 36)))
        return np.concatenate([topic, np.minimum(common, VOCAB - 1)], axis=1)

    def chunk_words(self, i: int) -> list[str]:
        return list(self.vocab[self.word_ids(i // PER_DOC)[i % PER_DOC]])

    def document(self, d: int) -> tuple[Document, list[Chunk]]:
        texts = [" ".join(words) + "." for words in self.vocab[self.word_ids(d)]]
        body = "\n".join(texts)
        doc = Document(f"doc{d}", f"/synthetic/{d}.txt", f"Story {d}", body, f"Outlet {self.doc_outlet[d]}",
                       self.doc_date[d], None, None, f"hash{d}")
        chunks, offset = [], 0
        for j, text in enumerate(texts):
            chunks.append(Chunk(f"doc{d}:{j}", doc.doc_id, j, text, offset, offset + len(text), 80))
            offset += len(text) + 1
        return doc, chunks

    def queries(self, n: int) -> list[tuple[int, np.ndarray, str]]:
        """Chunks of dated documents, so that the date filter (their year) leaves their topic something to find."""
        rng = np.random.default_rng(1)
        dated = np.array([d is not None for d in self.doc_date]).repeat(PER_DOC)
        out = []
        for i in rng.choice(np.flatnonzero(dated), n, replace=False):
            v = self.vectors[i] + rng.standard_normal(DIM).astype(np.float32) / np.sqrt(DIM) * 0.5
            words = self.chunk_words(int(i))
            out.append((int(i), v / np.linalg.norm(v), " ".join(rng.choice(words, 6, replace=False))))
        return out


def load(corpus: Corpus, location: str) -> dict:
    """Ingest every document through the store's writer: seconds writing rows, seconds committing (the folder's
    BM25 and IVF; PostgreSQL's HNSW graph of a first load) and chunks written. Documents an earlier, killed run
    wrote (PostgreSQL keeps each whole) are skipped, so a load too long for one sitting finishes across runs."""
    started = time.perf_counter()
    writer = open_writer(location, "synthetic", DIM, 128, 24)
    present = set(writer.content_hashes())
    written = 0
    for d in range(corpus.docs):
        if f"doc{d}" in present:
            continue
        doc, chunks = corpus.document(d)
        writer.upsert(doc, chunks, corpus.vectors[d * PER_DOC:(d + 1) * PER_DOC])
        written += PER_DOC
        if d and d % 20000 == 0:
            print(f"  {d * PER_DOC} chunks in {time.perf_counter() - started:.0f} s", flush=True)
    rows_done = time.perf_counter()
    print(f"  rows written in {rows_done - started:.0f} s ({len(present) * PER_DOC} already there); committing…",
          flush=True)
    writer.commit()
    return {"rows_s": rows_done - started, "commit_s": time.perf_counter() - rows_done, "written": written,
            "resumed_from": len(present) * PER_DOC}


def _year_filter(year: int) -> Filters:
    return Filters(since=f"{year}-01-01", until=f"{year}-12-31")


def _exact(corpus: Corpus, q: np.ndarray, allowed: np.ndarray | None, k: int = 10) -> set[str]:
    scores = corpus.vectors @ q
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)
    best = np.argpartition(-scores, k)[:k]
    return {f"doc{i // PER_DOC}:{i % PER_DOC}" for i in best}


def _cpu_clock(store):
    """Seconds of CPU spent by this process and, for PostgreSQL, by the server process serving the connection:
    what a search costs on an idle machine, whatever else the cores are busy with (wall time is shown too)."""
    pid = store._conn.execute("SELECT pg_backend_pid()").fetchone()[0] if hasattr(store, "_conn") else None

    def clock() -> float:
        server = int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9 if pid else 0.0
        return time.process_time() + server

    return clock


def measure(corpus: Corpus, location: str, n_queries: int) -> dict:
    store = open_store(location, "synthetic")
    store.warm_up()
    cpu_clock = _cpu_clock(store)
    queries = corpus.queries(n_queries)
    years = np.array([int(d[:4]) if d else 0 for d in corpus.doc_date]).repeat(PER_DOC)
    figures = {}
    for label, with_filter in (("", False), ("_date", True)):
        latencies, cpu, recalls = [], [], []
        for n, (chunk, vector, text) in enumerate(queries):
            year = int(corpus.doc_date[chunk // PER_DOC][:4])  # a question about the time of its answer
            filters = _year_filter(year) if with_filter else Filters()
            started, cpu_started = time.perf_counter(), cpu_clock()
            store.hybrid_search(HybridQuery(text, vector, k=10, filters=filters))
            latencies.append((time.perf_counter() - started) * 1000)
            cpu.append((cpu_clock() - cpu_started) * 1000)
            if n < 100:
                rows = [row for row, _ in store.dense_search(vector, 10, filters)]
                found = {c.chunk_id for c, _ in store.chunks_by_row(rows).values()}
                exact = _exact(corpus, vector, years == year if with_filter else None)
                recalls.append(len(found & exact) / 10)
        figures[f"p50{label}_ms"] = float(np.percentile(latencies, 50))
        figures[f"p95{label}_ms"] = float(np.percentile(latencies, 95))
        figures[f"cpu_p50{label}_ms"] = float(np.percentile(cpu, 50))
        figures[f"cpu_p95{label}_ms"] = float(np.percentile(cpu, 95))
        figures[f"recall10{label}"] = float(np.mean(recalls))
    store.close()
    return figures


def footprint(location: str, backend: str) -> dict:
    """Disk, and resident memory of a fresh process (or the server) that opened the store and searched."""
    import psutil

    if backend == "folder":
        disk = sum(p.stat().st_size for p in Path(location).rglob("*") if p.is_file())
        # VmHWM, not ru_maxrss: the latter keeps the high-water mark of the forked parent across exec.
        probe = ("import sys, re; sys.path.insert(0, %r); from rag.store import open_store; "
                 "s = open_store(%r); s.warm_up(); "
                 "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1])" % (str(REPO), location))
        rss = int(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout) * 1024
        return {"disk_mb": disk / 1e6, "rss_mb": rss / 1e6}
    import psycopg

    with psycopg.connect(location) as conn:
        disk = conn.execute("SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
                            "ON n.oid = c.relnamespace WHERE n.nspname = 'rag' AND c.relkind = 'r'").fetchone()[0]
    pss = sum(p.memory_full_info().pss for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres")
    return {"disk_mb": int(disk) / 1e6, "rss_mb": pss / 1e6}


def _pair(row: dict, p50: str, p95: str) -> str:
    return f"{row[p50]:.1f} / {row[p95]:.1f}" if p50 in row else "–"


def _pg_million_parts(rows: list[dict]) -> dict:
    row = next((r for r in rows if (r["backend"], r["size"]) == ("postgres", 1_000_000) and "rows_s" in r), {})
    return {"rows": f"{row['rows_s'] / 60:.1f} min" if row else "–",
            "graph": f"{row['commit_s'] / 60:.1f} min" if row else "–"}


def write_table() -> None:
    rows = json.loads(RESULTS.read_text()) if RESULTS.is_file() else []
    head = ("| backend | chunks | ingest (chunks/s) | hybrid search, CPU p50 / p95 (ms) | wall p50 / p95 (ms) | "
            "with a date filter, CPU p50 / p95 | wall p50 / p95 | recall@10 | recall@10, date filter | memory (MB) | "
            "disk (MB) |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
    notes = [f"- {r['backend']}, {r['size']:,} chunks: {r['note']}" for r in rows if "note" in r]
    rows = [r for r in rows if "note" not in r]
    lines = [f"| {r['backend']} | {r['size']:,} | {r['ingest_rate']:,.0f} | {_pair(r, 'cpu_p50_ms', 'cpu_p95_ms')} | "
             f"{_pair(r, 'p50_ms', 'p95_ms')} | {_pair(r, 'cpu_p50_date_ms', 'cpu_p95_date_ms')} | "
             f"{_pair(r, 'p50_date_ms', 'p95_date_ms')} | {r['recall10']:.3f} | {r['recall10_date']:.3f} | "
             f"{r['rss_mb']:,.0f} | {r['disk_mb']:,.0f} |"
             for r in sorted(rows, key=lambda r: (r["size"], r["backend"]))]
    doc = (__doc__.split("\n\n", 2)[2] if __doc__ else "")
    TABLE.write_text("# Store benchmark\n\nMade by `eval/bench_store.py` on this machine (2 cores, no GPU). The "
                     "100k rows and the folder's 1M row ran under `nice -n 19` with other jobs on the cores "
                     "(2026-11-21/23); PostgreSQL's 1M row on idle cores (2026-11-26, AMD EPYC), the server tuned "
                     "as README says (rows written in {rows}, the HNSW graph built in {graph}).\n\n"
                     .format(**_pg_million_parts(rows))
                     + head + "\n".join(lines) + "\n\n"
                     + ("Not completed:\n\n" + "\n".join(notes) + "\n\n" if notes else "") + "## How\n\n" + doc
                     + "\nCPU: the time a search spent on a core (this process, plus the PostgreSQL server process "
                     "serving it), which is its latency on an idle machine; wall: measured while other jobs at normal "
                     "priority kept both cores busy (load average ~6.8), so it includes waiting for a core."
                     + "\n\nMemory: the embedded store's peak resident size (VmHWM) in a fresh process that opened the "
                     "index and loaded everything; PostgreSQL's: the proportional set size of all server processes "
                     "after the searches. Disk: the index folder; the tables and indexes of schema `rag`.\n",
                     encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["folder", "postgres"], required=True)
    parser.add_argument("--size", type=int, required=True, help="chunks to load")
    parser.add_argument("--url", help="postgresql:// URL of an empty database (postgres backend)")
    parser.add_argument("--dir", default="/tmp/bench-store", help="where the folder index goes")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--no-load", action="store_true", help="search an index loaded by an earlier run again")
    args = parser.parse_args()
    location = args.url if args.backend == "postgres" else str(Path(args.dir) / f"index-{args.size}")
    print(f"Generating {args.size:,} chunks…", flush=True)
    corpus = Corpus(args.size)
    earlier = json.loads(RESULTS.read_text()) if RESULTS.is_file() else []
    key = (args.backend, corpus.docs * PER_DOC)
    if args.no_load:
        loaded = next(r for r in earlier if (r["backend"], r["size"]) == key and "note" not in r)
        rate, parts = loaded["ingest_rate"], {k: loaded[k] for k in ("rows_s", "commit_s", "written", "resumed_from")
                                              if k in loaded}
    else:
        print(f"Loading into {args.backend}…", flush=True)
        parts = load(corpus, location)
        seconds = parts["rows_s"] + parts["commit_s"]
        print(f"Loaded in {seconds:.0f} s ({parts}); searching…", flush=True)
        rate = parts["written"] / seconds if parts["written"] else None
    row = {"backend": args.backend, "size": key[1], "ingest_rate": rate, **parts,
           **measure(corpus, location, args.queries), **footprint(location, args.backend)}
    print(json.dumps(row, indent=2))
    rows = [r for r in (json.loads(RESULTS.read_text()) if RESULTS.is_file() else [])  # other runs may have
            if (r["backend"], r["size"]) != key]                                          # added rows meanwhile
    RESULTS.write_text(json.dumps(rows + [row], indent=2) + "\n")
    write_table()


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
