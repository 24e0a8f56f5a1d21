"""The Ray ingest (`rag ingest --ray`) against the single-process one: the same index, on a local Ray and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from rag.answer.retrieve import Retriever
from rag.config import Config
from rag.errors import IngestError
from rag.ingest.pipeline import ingest
from rag.models.factories import make_embedder
from rag.store import open_store
from tests.fakes import FailingEmbedder, FakeEmbedder
from tests.postgres_server import pg_databases, pg_server  # noqa: F401 - fixtures
from tests.shared import assert_index_whole, copy_seeds, wait_for_marker

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = ["Who denied the intelligence sharing?", "Which militia was hit by the US strikes in Syria?",
             "What did the Iraqi prime minister demand?", "harbour cranes in Rotterdam"]


@pytest.fixture(scope="module")
def local_ray():
    """A real local Ray on two CPUs for the module; its workers import the tests' fakes from this checkout."""
    ray = pytest.importorskip("ray", reason="the Ray tests need the ray extra (pip install -e '.[ray]')")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
        ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
        yield
        ray.shutdown()


def _article(n: int) -> str:
    topics = ["port strike", "harbour cranes", "grain shipments", "rail freight", "customs delays"]
    sentences = [f"Dock workers in Rotterdam began a {topics[n % 5]} on day {n} of the dispute over pay and hours.",
                 f"Union leaders said {n * 7} vessels were waiting outside the harbour by Tuesday evening.",
                 "The port authority called the action unlawful and asked a court to order a return to work.",
                 f"Shipping lines warned of delays of up to {n + 2} days for containers bound for Germany."]
    return f"Title: Rotterdam dispute, part {n}\nOutlet: Harbour Times\nDate: 2024-03-{n + 1:02d}\n\n" + \
        " ".join(sentences * (n + 1))


@pytest.fixture
def corpus(seeds, tmp_path) -> Path:
    """The sample corpus plus generated articles, a JSONL file, a copy of a seed and a file that cannot be read."""
    folder = copy_seeds(seeds, tmp_path / "corpus")
    for n in range(6):
        (folder / f"generated_{n}.txt").write_text(_article(n), encoding="utf-8")
    records = [{"title": f"Wire report {n}", "text": _article(n + 10), "date": "2024-04-01"} for n in range(2)]
    (folder / "wire.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    (folder / "copies").mkdir()
    first = sorted(seeds.glob("*.txt"))[0]
    (folder / "copies" / first.name).write_bytes(first.read_bytes())
    (folder / "broken.pdf").write_bytes(b"not a pdf at all")
    return folder


def _snapshot(url: str) -> dict:
    """Everything the index holds, in a stable order; vectors apart (compared with a tolerance)."""
    import psycopg
    from pgvector.psycopg import register_vector

    with psycopg.connect(url) as conn:
        register_vector(conn)
        rows = conn.execute("SELECT chunk_id, doc_id, position, text, start_char, end_char, n_tokens, outlet, date, "
                            "tsv::text, n_terms, embedding FROM rag.chunks ORDER BY chunk_id").fetchall()
        return {"documents": conn.execute("SELECT * FROM rag.documents ORDER BY doc_id").fetchall(),
                "chunks": [row[:-1] for row in rows], "vectors": np.array([row[-1].to_numpy() for row in rows]),
                "terms": conn.execute("SELECT term, df FROM rag.terms WHERE df > 0 ORDER BY term").fetchall(),
                "totals": conn.execute("SELECT chunks, terms FROM rag.totals").fetchall()}


def _assert_same_index(ray_url: str, plain_url: str, atol: float) -> None:
    ray_index, plain_index = _snapshot(ray_url), _snapshot(plain_url)
    assert ray_index["chunks"] and ray_index["chunks"] == plain_index["chunks"]
    for key in ("documents", "terms", "totals"):
        assert ray_index[key] == plain_index[key], key
    np.testing.assert_allclose(ray_index["vectors"], plain_index["vectors"], atol=atol)


def _assert_same_passages(urls: list[str], embedder) -> None:
    stores = [open_store(url, embedder.name) for url in urls]
    try:
        for question in QUESTIONS:
            hits = [[h.chunk.chunk_id for h in Retriever(s, embedder).search(question, 5)] for s in stores]
            assert hits[0] and hits[0] == hits[1], question
    finally:
        for store in stores:
            store.close()


@pytest.mark.integration
@pytest.mark.ray
@pytest.mark.postgres
@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.usefixtures("local_ray")
def test_ray_ingest_gives_the_same_index_as_the_plain_one(corpus, pg_databases, workers):  # noqa: F811
    from rag.ingest.ray_pipeline import ray_ingest

    ray_url, plain_url = pg_databases(), pg_databases()
    done = ray_ingest([corpus], Config(index_dir=ray_url, ray_workers=workers, ray_batch_size=3), FakeEmbedder)
    plain = ingest([corpus], Config(index_dir=plain_url), FakeEmbedder())
    assert done.summary().split(";")[0] == plain.summary().split(";")[0]
    assert (done.added, done.chunks, len(done.duplicates), len(done.failed)) == (13, plain.chunks, 1, 1)
    assert sorted(done.failed) == sorted(plain.failed) and done.duplicates == plain.duplicates
    assert done.sources == plain.sources
    _assert_same_index(ray_url, plain_url, atol=1e-6)
    _assert_same_passages([ray_url, plain_url], FakeEmbedder())



@pytest.mark.integration
@pytest.mark.ray
@pytest.mark.postgres
@pytest.mark.usefixtures("local_ray")
def test_ray_ingest_with_the_real_embedder_matches_and_answers_alike(seeds, tmp_path, pg_databases):  # noqa: F811
    """MiniLM in two workers gives the vectors of the single-process ingest (to float noise: batches differ)."""
    from rag.ingest.ray_pipeline import ray_ingest

    folder = copy_seeds(seeds, tmp_path / "corpus")
    (folder / "generated_0.txt").write_text(_article(0), encoding="utf-8")
    ray_url, plain_url = pg_databases(), pg_databases()
    config = Config(index_dir=ray_url, ray_workers=2, ray_batch_size=2)
    done = ray_ingest([folder], config, partial(make_embedder, config))
    embedder = make_embedder(Config())
    plain = ingest([folder], Config(index_dir=plain_url), embedder)
    assert done.added == plain.added == 6 and done.chunks == plain.chunks
    _assert_same_index(ray_url, plain_url, atol=1e-5)
    _assert_same_passages([ray_url, plain_url], embedder)


def test_the_folder_store_is_refused_before_any_ray_starts(seeds, tmp_path):
    from click.testing import CliRunner

    from rag.cli import main

    result = CliRunner().invoke(main, ["ingest", str(seeds), "--index", str(tmp_path / "index"), "--ray"])
    assert result.exit_code == 1
    assert "writes to PostgreSQL" in result.output and "rag db start" in result.output
    assert not (tmp_path / "index").exists()


def test_workers_without_ray_is_a_usage_error(seeds, tmp_path):
    from click.testing import CliRunner

    from rag.cli import main

    result = CliRunner().invoke(main, ["ingest", str(seeds), "--index", str(tmp_path / "index"), "--workers", "2"])
    assert result.exit_code == 2 and "with --ray" in result.output


def test_feed_urls_are_refused_by_the_ray_ingest():
    from rag.ingest.ray_pipeline import check_ray_target

    with pytest.raises(IngestError, match="without --ray"):
        check_ray_target(["https://example.org/rss"], Config(index_dir="postgresql://127.0.0.1/rag"))


@pytest.mark.integration
@pytest.mark.ray
@pytest.mark.postgres
@pytest.mark.parametrize("kill", [False, True], ids=["worker-raises", "worker-killed"])
@pytest.mark.usefixtures("local_ray")
def test_an_interrupted_ray_ingest_leaves_the_index_whole_and_a_rerun_completes_it(
        corpus, tmp_path, pg_databases, kill):  # noqa: F811
    from rag.ingest.ray_pipeline import ray_ingest

    ray_url, plain_url = pg_databases(), pg_databases()
    config = Config(index_dir=ray_url, ray_workers=1, ray_batch_size=2)
    ray_ingest(sorted(corpus.glob("0*.txt")), config, FakeEmbedder)  # the sample articles: the previous index
    before = _snapshot(ray_url)
    failing = partial(FailingEmbedder, fail_on=2, kill=kill, once_marker=str(tmp_path / "failed-once"))
    if kill:  # Ray restarts a killed worker and retries its batch: the ingest finishes by itself
        ray_ingest([corpus], config, failing)
    else:
        with pytest.raises(IngestError, match="failed on purpose. Every article written so far is whole"):
            ray_ingest([corpus], config, failing)
    assert assert_index_whole(ray_url, config) >= len(before["documents"])
    _assert_same_passages([ray_url, ray_url], FakeEmbedder())  # the index answers as before
    again = ray_ingest([corpus], config, FakeEmbedder)
    assert len(again.failed) == 1 and again.added + again.unchanged == 13
    ingest([corpus], Config(index_dir=plain_url), FakeEmbedder())
    _assert_same_index(ray_url, plain_url, atol=1e-6)


# -- the stages as plain functions (no Ray) ----------------------------------------------------------------


def test_read_rows_number_documents_in_file_order_and_report_what_cannot_be_read(corpus):
    from rag.ingest.ray_stages import file_rows, listed, read_rows

    files = {str(corpus): sorted([corpus / "wire.jsonl", corpus / "broken.pdf"])}
    rows = [r for row in file_rows(files) for r in read_rows(row, Config())]
    assert [r["key"] for r in rows] == ["000000000:000000", "000000001:000000", "000000001:000001"]
    assert rows[0]["failed"].startswith("not a PDF") and rows[0]["document"] == b""
    assert [r["source"] for r in rows[1:]] == [f"{corpus / 'wire.jsonl'}#1", f"{corpus / 'wire.jsonl'}#2"]
    doc = listed(rows[1])
    assert (doc.key, doc.given, doc.text) == (rows[1]["key"], str(corpus), "") and doc.content_hash


def test_chunk_rows_take_only_the_chosen_documents_and_refuse_the_too_long(corpus):
    from rag.ingest.ray_stages import chunk_rows, file_rows, read_rows

    row = read_rows(file_rows({str(corpus): [corpus / "generated_5.txt"]})[0], Config())[0]
    assert chunk_rows(row, Config(), frozenset()) == []
    [chunked] = chunk_rows(row, Config(), frozenset([row["key"]]))
    assert chunked["refused"] == "" and chunked["key"] == row["key"]
    [refused] = chunk_rows(row, Config(max_chunks=1), frozenset([row["key"]]))
    assert "over the limit of 1" in refused["refused"]


def test_an_embedding_worker_gives_the_single_process_vectors(corpus):
    import pickle

    from rag.ingest.pipeline import chunks_or_refusal, embed_chunks, read_documents
    from rag.ingest.ray_stages import EmbeddingWorker, embedded

    docs = [d for n in (1, 2) for d in read_documents(corpus / f"generated_{n}.txt", Config(), [])]
    pending = [(d, chunks_or_refusal(d, Config())) for d in docs] + [(docs[0], [])]
    batch = {"item": np.array([pickle.dumps(p) for p in pending], dtype=object)}
    out = EmbeddingWorker(FakeEmbedder)(batch)
    expected = embed_chunks(FakeEmbedder(), pending)
    for (doc, chunks), item, vectors, wanted in zip(pending, out["item"], out["vectors"], expected):
        got_doc, got_chunks, got = embedded(item, vectors) if chunks else (doc, chunks, wanted)
        assert (got_doc, got_chunks) == (doc, chunks) and np.array_equal(got, wanted)


# `rag ingest --ray` whose embedding workers mark when they start embedding and then stall.
STALLING_RAY_INGEST = """
import sys
import rag.models.factories
from tests.fakes import StallingEmbedder

marker = sys.argv[1]
rag.models.factories.make_embedder = lambda config: StallingEmbedder(marker)
from rag.cli import main
main(sys.argv[2:])
"""


@pytest.mark.integration
@pytest.mark.ray
@pytest.mark.postgres
@pytest.mark.parametrize("signum, exit_code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_a_ray_ingest_stops_it_cleanly_and_keeps_the_index(
        corpus, tmp_path, pg_databases, signum, exit_code):  # noqa: F811
    url = pg_databases()
    ingest(sorted(corpus.glob("0*.txt")), Config(index_dir=url), FakeEmbedder())
    marker = tmp_path / "embedding"
    process = subprocess.Popen(
        [sys.executable, "-c", STALLING_RAY_INGEST, str(marker), "ingest", str(corpus), "--index", url, "--ray",
         "--workers", "1"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "RAY_ADDRESS": ""})
    try:
        wait_for_marker(process, marker, seconds=300, poll=0.1)
        os.kill(process.pid, signum)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == exit_code, err
    assert f"Interrupted by {signal.Signals(signum).name}" in err and "Traceback" not in err
    assert assert_index_whole(url, Config()) == 5  # the index as it was before


@pytest.mark.integration
@pytest.mark.ray
@pytest.mark.postgres
def test_rag_ingest_ray_starts_a_local_ray_and_reports_like_the_plain_ingest(seeds, pg_databases):  # noqa: F811
    url = pg_databases()
    command = [sys.executable, "-m", "rag.cli", "ingest", str(seeds), "--index", url, "--ray", "--workers", "1"]
    env = {**os.environ, "RAY_ADDRESS": ""}  # a local Ray of its own, whatever the machine's environment says
    first = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("5 added, 0 updated, 0 unchanged")
    again = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert again.returncode == 0 and again.stdout.startswith("0 added, 0 updated, 5 unchanged"), again.stderr


@pytest.mark.integration
@pytest.mark.ray
@pytest.mark.postgres
@pytest.mark.usefixtures("local_ray")
def test_an_empty_folder_through_ray_ingests_nothing_and_fails_nothing(tmp_path, pg_databases):  # noqa: F811
    from rag.ingest.ray_pipeline import ray_ingest

    (tmp_path / "empty").mkdir()
    report = ray_ingest([tmp_path / "empty"], Config(index_dir=pg_databases()), FakeEmbedder)
    assert report.tally() == report.tally().__class__() and not report.nothing_ingested


def test_a_stage_error_is_told_in_one_line():
    from rag.ingest.ray_pipeline import _root_cause

    wrapped = RuntimeError("\x1b[36mray::MapWorker()\x1b[39m (pid=1)\n  File \"x.py\", line 3, in embed\n"
                           "    raise RuntimeError('boom')\nRuntimeError: boom on purpose\n\nThe above exception was "
                           "the direct cause of the following exception:\n\nray.exceptions.UserCodeException: UDF "
                           "failed to process a data block.\nTo change retry attempts, configure it.")
    assert _root_cause(wrapped) == "RuntimeError: boom on purpose"
    assert _root_cause(RuntimeError("")) == "RuntimeError"


def test_ray_settings_come_from_the_environment_and_are_checked():
    from rag.config import load_config
    from rag.errors import ConfigError

    config = load_config(environ={"RAY_ADDRESS": "ray://head:10001", "RAG_RAY_WORKERS": "3"})
    assert (config.ray_address, config.ray_workers, config.ray_batch_size) == ("ray://head:10001", 3, 16)
    with pytest.raises(ConfigError, match="ray_batch_size"):
        load_config({"ray_batch_size": 0}, environ={})
    assert load_config(environ={"RAG_RAY_GPUS_PER_WORKER": "0.5"}).ray_gpus_per_worker == 0.5


def test_gpu_workers_embed_on_cuda_and_need_ray(monkeypatch, tmp_path):
    """`--gpus-per-worker` reaches the Ray ingest, whose workers' embedder is then made for "cuda"."""
    from click.testing import CliRunner

    import rag.ingest.ray_pipeline as ray_pipeline
    from rag.cli import main
    from rag.ingest.pipeline import IngestReport

    seen = {}

    def fake_ray_ingest(paths, config, make_embedder, **kwargs):
        seen["config"], seen["embedder_config"] = config, make_embedder.args[0]
        return IngestReport()

    monkeypatch.setattr(ray_pipeline, "ray_ingest", fake_ray_ingest)
    args = ["ingest", str(tmp_path), "--index", "postgresql://nowhere/db", "--ray", "--gpus-per-worker", "0.5"]
    CliRunner().invoke(main, args)
    assert seen["config"].ray_gpus_per_worker == 0.5 and seen["embedder_config"].embedder_device == "cuda"
    refused = CliRunner().invoke(main, ["ingest", str(tmp_path), "--gpus-per-worker", "1"])
    assert refused.exit_code == 2 and "--ray" in refused.output


@pytest.mark.integration
@pytest.mark.ray
@pytest.mark.postgres
@pytest.mark.usefixtures("local_ray")
def test_a_second_ray_ingest_updates_skips_and_prunes_like_the_plain_one(corpus, pg_databases):  # noqa: F811
    from rag.ingest.ray_pipeline import ray_ingest

    ray_url, plain_url = pg_databases(), pg_databases()
    config = Config(index_dir=ray_url, ray_workers=2, ray_batch_size=4)
    ray_ingest([corpus], config, FakeEmbedder)
    ingest([corpus], Config(index_dir=plain_url), FakeEmbedder())
    (corpus / "generated_1.txt").write_text(_article(1).replace("Rotterdam", "Antwerp"), encoding="utf-8")
    (corpus / "generated_2.txt").unlink()
    again = ray_ingest([corpus], config, FakeEmbedder, prune=True)
    plain = ingest([corpus], Config(index_dir=plain_url), FakeEmbedder(), prune=True)
    assert (again.added, again.updated, again.unchanged, again.removed) == (0, 1, 11, 1)
    assert again.summary().split(";")[0] == plain.summary().split(";")[0] and again.chunks == plain.chunks
    _assert_same_index(ray_url, plain_url, atol=1e-6)


def test_the_worker_pool_fits_the_cluster():
    from rag.ingest.ray_pipeline import pool_size

    assert (pool_size(0, 2.0), pool_size(1, 2.0), pool_size(2, 2.0), pool_size(0, 0.5)) == (2, 1, 2, 1)
    with pytest.raises(IngestError, match="give --workers 2 or fewer"):
        pool_size(3, 2.0)
    # GPU workers: as many as the GPUs hold (and never more than the CPUs, one each).
    assert (pool_size(0, 8.0, 2.0, 1.0), pool_size(0, 8.0, 2.0, 0.5), pool_size(0, 2.0, 4.0, 0.5)) == (2, 4, 2)
    with pytest.raises(IngestError, match="has no GPUs"):
        pool_size(0, 8.0, 0.0, 1.0)
    with pytest.raises(IngestError, match="give --workers 2 or fewer"):
        pool_size(3, 8.0, 2.0, 1.0)
