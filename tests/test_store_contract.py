"""The store contract, run against every backend: the embedded folder, PostgreSQL, and the tests' fake."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rag.answer.retrieve import Filters, Retriever
from rag.config import Config
from rag.errors import IndexMismatchError, IngestError
from rag.ingest.pipeline import ingest
from rag.store import HybridQuery, open_store, open_writer
from rag.store.factory import register_backend, unregister_backend
from rag.types import Chunk, Document
from tests import fake_store
from tests.fakes import FakeEmbedder
from tests.postgres_server import pg_database, pg_databases, pg_server  # noqa: F401 - fixtures
from tests.shared import assert_index_whole, copy_seeds

REPO = Path(__file__).resolve().parents[1]
BACKENDS = ["folder", pytest.param("postgres", marks=pytest.mark.postgres), "fake"]


@pytest.fixture(params=BACKENDS)
def location(request, tmp_path):
    """A fresh, empty index location of each backend."""
    if request.param == "folder":
        yield str(tmp_path / "index")
    elif request.param == "postgres":
        yield request.getfixturevalue("pg_database")
    else:
        register_backend("fake", fake_store.fake_backend)
        yield f"fake://{tmp_path.name}"
        fake_store.INDEXES.clear()
        unregister_backend("fake")


@pytest.fixture
def store_config(location, tmp_path) -> Config:
    return Config(index_dir=location, cache_dir=str(tmp_path / "cache"))


def test_round_trip(store_config, seeds):
    ingest([seeds], store_config, FakeEmbedder())
    store = open_store(store_config.index_dir, "fake-embedder")
    stats = store.stats()
    assert stats.documents == 5 and stats.chunks > 10
    assert stats.outlets == {"Rudaw": 2, "ESTA": 1, "Sputnik International": 1, "France 24": 1}
    assert stats.date_range == ("2021-02-27", "2021-02-27")
    assert "Iraq slams ‘unacceptable’ US strikes on pro-Iran fighters" in {d.title for d in store.documents()}
    question = "Who denied the intelligence sharing?"
    vector = FakeEmbedder().embed([question])[0]
    dense, keyword = store.dense_search(vector, 5), store.keyword_search(question, 5)
    assert len(dense) == 5 and [s for _, s in dense] == sorted((s for _, s in dense), reverse=True)
    found = store.chunks_by_row([row for row, _ in dense + keyword])
    assert set(found) == {row for row, _ in dense + keyword}
    for chunk, doc in found.values():
        assert doc.text[chunk.start:chunk.end] == chunk.text
    assert any("intelligence" in found[row][0].text.lower() for row, _ in keyword[:2])
    hits = Retriever(store, FakeEmbedder()).search(question, 3)
    assert len(hits) == 3 and any("intelligence" in h.chunk.text for h in hits)
    store.close()


def test_incremental_reingest_and_prune(store_config, seeds, tmp_path):
    corpus = copy_seeds(seeds, tmp_path / "corpus")
    embedder = FakeEmbedder()
    first = ingest([corpus], store_config, embedder)
    assert (first.added, first.updated, first.unchanged) == (5, 0, 0)
    calls = embedder.calls
    again = ingest([corpus], store_config, embedder)
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 5, 0)
    assert embedder.calls == calls, "an unchanged ingest embeds nothing"

    changed = corpus / "004_7d62095dcace34a0.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nA new paragraph about the Zorvath bridge reopening "
                       "after repairs was added by the editors.\n", encoding="utf-8")
    update = ingest([corpus], store_config, embedder)
    assert (update.added, update.updated, update.unchanged) == (0, 1, 4)
    store = open_store(store_config.index_dir)
    rows = [row for row, _ in store.keyword_search("Zorvath bridge", 5)]
    assert rows and "Zorvath" in store.chunks_by_row(rows)[rows[0]][0].text
    store.close()
    assert assert_index_whole(store_config.index_dir, store_config) == 5

    (corpus / "001_2b52cb3e110e3771.txt").unlink()
    assert ingest([corpus], store_config, embedder).removed == 0
    assert ingest([corpus], store_config, embedder, prune=True).removed == 1
    assert assert_index_whole(store_config.index_dir, store_config) == 4


def _dated_docs() -> list[tuple[Document, list[Chunk]]]:
    specs = [("a", "Alpha Times", "2021-01-10", "Rivers flooded the northern valley after storms."),
             ("b", "Beta Post", "2021-02-20", "The valley council met about the flooded rivers."),
             ("c", "alpha times", "2021-03-05", "Flooded rivers receded in the valley by March."),
             ("d", None, None, "An undated note on the valley rivers and floods.")]
    out = []
    for doc_id, outlet, day, text in specs:
        doc = Document(doc_id, f"/news/{doc_id}.txt", f"Valley {doc_id}", text, outlet, day, None, None, f"h-{doc_id}")
        out.append((doc, [Chunk(f"{doc_id}:0", doc_id, 0, text, 0, len(text), 9)]))
    return out


def _write(location: str, docs: list[tuple[Document, list[Chunk]]], embedder: FakeEmbedder) -> None:
    writer = open_writer(location, embedder.name, embedder.dim, 128, 24)
    for doc, chunks in docs:
        writer.upsert(doc, chunks, embedder.embed([c.text for c in chunks]))
    writer.commit()


@pytest.mark.parametrize("filters, expected", [
    (Filters(), {"a", "b", "c", "d"}),
    (Filters(outlet="ALPHA TIMES"), {"a", "c"}),
    (Filters(since="2021-02-01"), {"b", "c"}),
    (Filters(until="2021-02-20"), {"a", "b"}),
    (Filters(since="2021-01-11", until="2021-03-04"), {"b"}),
    (Filters(asked_on="2021-02-20"), {"a", "b", "d"}),  # undated documents stay, later ones go
    (Filters(asked_on="2020-12-31"), {"d"}),
    (Filters(outlet="Beta Post", asked_on="2021-01-31"), set()),
])
def test_filters(location, filters, expected):
    embedder = FakeEmbedder()
    _write(location, _dated_docs(), embedder)
    store = open_store(location, embedder.name)
    question = "flooded valley rivers"
    query = HybridQuery(question, embedder.embed([question])[0], k=10, filters=filters)
    docs = lambda rows: {store.chunks_by_row(rows)[r][1].doc_id for r in rows}  # noqa: E731
    found = store.hybrid_search(query)
    assert docs([r.row for r in found.ranked]) == expected
    # The two best raw scores of each ranking come from the same searches (the confidence reads them).
    assert found.dense_top == pytest.approx([s for _, s in store.dense_search(query.vector, 2, filters)])
    assert found.keyword_top == pytest.approx([s for _, s in store.keyword_search(question, 2, filters)])
    assert docs([r for r, _ in store.dense_search(query.vector, 10, filters)]) == expected
    assert docs([r for r, _ in store.keyword_search(question, 10, filters)]) == expected
    store.close()


def test_a_question_about_the_present_finds_the_days_before_it_first(location):
    """"latest": the chunks of the `recent_days` before the asked-on day lead, the whole index fills the rest, and
    the confidence's scores are the whole index's; a question not about the present is searched once."""
    embedder = FakeEmbedder()
    _write(location, _dated_docs(), embedder)
    store = open_store(location, embedder.name)
    retriever = Retriever(store, embedder, recent_days=7)
    asked = Filters(asked_on="2021-03-06")
    assert retriever.search("What flooded the northern valley after storms?", 4, asked)[0].doc.doc_id == "a"
    latest, latest_scores = retriever.search_scored("What is the latest on the northern valley after storms?", 4,
                                                    asked)
    assert [h.doc.doc_id for h in latest][0] == "c" and {h.doc.doc_id for h in latest} == {"a", "b", "c", "d"}
    assert latest_scores == Retriever(store, embedder).search_scored(
        "What is the latest on the northern valley after storms?", 4, asked)[1]
    assert Retriever(store, embedder).search("What is the latest on the northern valley after storms?", 4,
                                             asked)[0].doc.doc_id != "c"
    assert retriever.search("What is the latest on the northern valley after storms?", 4)[0].doc.doc_id != "c"
    store.close()


def test_index_from_another_embedder_or_chunking_is_refused(store_config, seeds):
    ingest([seeds], store_config, FakeEmbedder())
    with pytest.raises(IndexMismatchError, match="fake-embedder"):
        open_store(store_config.index_dir, "all-minilm-l6-v2")
    with pytest.raises(IndexMismatchError, match="embedder"):
        ingest([seeds], store_config, FakeEmbedder(name="other-embedder"))
    with pytest.raises(IndexMismatchError, match="--chunk-tokens 128"):
        ingest([seeds], replace(store_config, chunk_tokens=100), FakeEmbedder())


class _Gated(FakeEmbedder):
    """Says when it is at work (its writer holds the index) and waits for `gate` before embedding, so a second
    writer surely meets the first one."""

    def __init__(self, gate: threading.Event):
        super().__init__()
        self.gate, self.at_work = gate, threading.Event()

    def embed(self, texts):
        self.at_work.set()
        assert self.gate.wait(30), "the second writer never arrived"
        return super().embed(texts)


def test_two_writers_wait_for_each_other(store_config, seeds, tmp_path):
    corpus = copy_seeds(seeds, tmp_path / "corpus")
    first_files, all_files = sorted(corpus.glob("*.txt"))[:3], [corpus]  # the second ingest overlaps the first
    waiting, results = threading.Event(), {}

    def run(name, paths, embedder, on_wait):
        try:
            results[name] = ingest(paths, store_config, embedder, on_wait=on_wait)
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            results[name] = exc

    gated = _Gated(waiting)
    first = threading.Thread(target=run, args=("first", first_files, gated, None))
    first.start()
    assert gated.at_work.wait(30)
    with pytest.raises(IngestError, match="Another ingest"):
        ingest(all_files, store_config, FakeEmbedder())  # no --wait: refused while the first is at work
    second = threading.Thread(target=run, args=("second", all_files, FakeEmbedder(), waiting.set))
    second.start()
    first.join(60)
    second.join(60)
    assert not isinstance(results["first"], Exception), results["first"]
    assert not isinstance(results["second"], Exception), results["second"]
    assert results["first"].added == 3
    assert (results["second"].added, results["second"].unchanged) == (2, 3), "the second saw the first's work"
    assert assert_index_whole(store_config.index_dir, store_config) == 5


_KILLED_INGEST = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {repo!r})
    import rag.ingest.pipeline
    from rag.config import Config
    from tests.fakes import FakeEmbedder

    kill_at, calls = int(sys.argv[1]), [0]
    rag.ingest.pipeline._EMBED_BATCH = 1  # one document per batch: the kill can fall between two documents

    def dying(real):
        def call(*args, **kwargs):
            calls[0] += 1
            if calls[0] == kill_at:
                os._exit(137)  # like SIGKILL: no cleanup, no finally blocks
            return real(*args, **kwargs)
        return call

    class DyingEmbedder(FakeEmbedder):
        def embed(self, texts):
            if kill_at == 0:
                os._exit(137)  # mid-embedding, before anything is written
            return super().embed(texts)

    {patch}
    rag.ingest.pipeline.ingest([{corpus!r}], Config(index_dir={index!r}), DyingEmbedder())
    print("finished", calls[0])
""")
# Where each backend is killed: while embedding (kill_at 0), then at every fsync of the embedded commit or at
# every statement sent to PostgreSQL.
_KILL_POINTS = {
    "folder": "import rag.store.generations as g; g.fsync_file = dying(g.fsync_file)",
    "postgres": "import psycopg; psycopg.Connection.execute = dying(psycopg.Connection.execute)",
}


def test_ingest_killed_at_any_point_leaves_a_whole_index(store_config, seeds, tmp_path, request):
    backend = request.node.callspec.params["location"]
    if backend not in _KILL_POINTS:
        pytest.skip("the fake store lives in the test's memory: there is no process to kill")
    corpus = copy_seeds(seeds, tmp_path / "corpus", ["000_b2984dc87e62d731.txt", "001_2b52cb3e110e3771.txt"])
    ingest([corpus], store_config, FakeEmbedder())
    copy_seeds(seeds, corpus)  # three more articles to add
    script = _KILLED_INGEST.format(repo=str(REPO), corpus=str(corpus), index=store_config.index_dir,
                                   patch=_KILL_POINTS[backend])
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    seen = set()
    for kill_at in range(0, 80):
        run = subprocess.run([sys.executable, "-c", script, str(kill_at)], capture_output=True, text=True, env=env)
        documents = assert_index_whole(store_config.index_dir, store_config)
        seen.add(documents)
        if run.returncode == 0:
            break  # kill_at passed the last call: the ingest completed
        assert run.returncode == 137, run.stderr
        assert documents in (2, 5) if backend == "folder" else 2 <= documents <= 5
    assert {2, 5} <= seen, "both the old index (killed early) and the new one (killed late) should be seen"
    final = ingest([corpus], store_config, FakeEmbedder())
    assert final.added + final.unchanged == 5 and assert_index_whole(store_config.index_dir, store_config) == 5
    if backend == "folder":
        assert not list(Path(store_config.index_dir).glob(".staging-*")), "leftovers of killed ingests go"


def test_dense_search_finds_each_chunk_by_its_own_vector(location):
    embedder = FakeEmbedder()
    docs = _dated_docs()
    _write(location, docs, embedder)
    store = open_store(location)
    for doc, chunks in docs:
        best = store.dense_search(embedder.embed([chunks[0].text])[0], 1)
        assert store.chunks_by_row([best[0][0]])[best[0][0]][1].doc_id == doc.doc_id
    assert np.isclose(best[0][1], 1.0, atol=1e-4)
    store.close()


@pytest.mark.postgres
def test_postgres_ranks_like_the_embedded_store(seeds, tmp_path, pg_database):  # noqa: F811
    """The same BM25 scores and the same fused top k: a question gets the same passages from either store."""
    folder = str(tmp_path / "index")
    embedder = FakeEmbedder()
    for location in (folder, pg_database):
        ingest([seeds], Config(index_dir=location), embedder)
    stores = [open_store(location, embedder.name) for location in (folder, pg_database)]

    def ids(store, scored):
        found = store.chunks_by_row([row for row, _ in scored])
        return [(found[row][0].chunk_id, round(score, 4)) for row, score in scored]

    for question in ["Who denied the intelligence sharing?", "Which militia was hit by the US strikes in Syria?",
                     "What did the Iraqi prime minister demand?", "rockets fired at the US embassy"]:
        keyword = [ids(s, s.keyword_search(question, 10)) for s in stores]
        assert keyword[0] == keyword[1] and keyword[0]
        hits = [[h.chunk.chunk_id for h in Retriever(s, embedder).search(question, 5)] for s in stores]
        assert hits[0] == hits[1]
    for store in stores:
        store.close()


@pytest.mark.postgres
def test_a_first_load_killed_before_its_vector_index_is_finished_by_the_next_writer(pg_database):  # noqa: F811
    """The HNSW graph of a first load is built at its end; a load killed before then leaves it out, and the next
    writer keeps loading without it and builds it once at its own end (a big load finished across runs)."""
    import psycopg

    embedder, docs = FakeEmbedder(), _dated_docs()

    def vector_index() -> bool:
        with psycopg.connect(pg_database) as conn:
            return conn.execute("SELECT to_regclass('rag.chunks_embedding') IS NOT NULL").fetchone()[0]

    writer = open_writer(pg_database, embedder.name, embedder.dim, 128, 24)
    for doc, chunks in docs[:2]:
        writer.upsert(doc, chunks, embedder.embed([c.text for c in chunks]))
    writer._conn.close()  # killed: the documents written stay, the graph was never built
    assert not vector_index()
    writer = open_writer(pg_database, embedder.name, embedder.dim, 128, 24)
    assert not vector_index()  # not built at the start of the next load, before its documents
    for doc, chunks in docs[2:]:
        writer.upsert(doc, chunks, embedder.embed([c.text for c in chunks]))
    writer.commit()
    assert vector_index()
    store = open_store(pg_database, embedder.name)
    assert len(store.dense_search(embedder.embed([docs[0][1][0].text])[0], 4)) == 4
