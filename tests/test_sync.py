"""`rag sync` and the background sync: sources from rag.toml, a line per source, a child process whose
embedding waits while an answer is written, and the chat service picking up the new generation."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.config import load_config
from rag.errors import ConfigError
from rag.ingest.pipeline import ingest
from rag.store import open_store
from rag.sync import BackgroundSync, Busy, PausingEmbedder
from tests.fakes import FakeEmbedder, fake_embedder
from tests.shared import copy_seeds
from tests.web_site import Page, Server, Site, article_html, rss

TEXT = ["The harbour works began on Monday after years of delay, the council said, and the mayor promised the new "
        "pier would open before the summer season brings the ferries back.",
        "Fishermen said the works had been expected for months and welcomed the money for the old quay."]


def test_sources_and_sync_every_come_from_rag_toml_and_the_environment(tmp_path):
    toml = tmp_path / "rag.toml"
    toml.write_text('[rag]\nsources = ["~/news/", "https://example.org/rss"]\nsync_every = "30m"\n')
    config = load_config({}, toml_path=toml, environ={})
    assert config.sources == ("~/news/", "https://example.org/rss") and config.sync_every == "30m"
    assert load_config({}, environ={"RAG_SOURCES": '/a "/b c"'}).sources == ("/a", "/b c")
    for bad in ("30", "3x", "10s"):
        with pytest.raises(ConfigError, match="sync_every"):
            load_config({"sync_every": bad}, environ={})
    toml.write_text('[rag]\nsources = "not a list"\n')
    assert load_config({}, toml_path=toml, environ={}).sources == ("not", "a", "list")  # like the environment


def test_rag_sync_ingests_every_source_with_a_line_each(tmp_path, seeds, fake_models, monkeypatch):
    site = Site()
    with Server(site) as url:
        site.pages["/rss"] = Page(rss("Harbour Gazette", [("Works", f"{url}/works", "2024-03-04", None)]),
                                  "application/rss+xml")
        site.pages["/works"] = Page(article_html("Harbour works begin", TEXT))
        folder = copy_seeds(seeds, tmp_path / "news", ["000_b2984dc87e62d731.txt"])
        toml = tmp_path / "rag.toml"
        toml.write_text(f'[rag]\nsources = ["{folder}", "{url}/rss"]\nfetch_interval = 0\n'
                        f'cache_dir = "{tmp_path / "cache"}"\nembedder = "fake-embedder"\n')
        monkeypatch.setenv("RAG_CONFIG", str(toml))
        index = str(tmp_path / "index")
        first = CliRunner().invoke(main, ["sync", "--index", index])
        assert first.exit_code == 0, first.output
        assert f"{folder}: 1 added" in first.output and f"{url}/rss: 1 added" in first.output
        again = CliRunner().invoke(main, ["sync", "--index", index])
        assert f"{url}/rss: 0 added, 0 updated, 1 unchanged" in again.output
    toml.write_text('[rag]\nembedder = "fake-embedder"\n')
    none = CliRunner().invoke(main, ["sync", "--index", index])
    assert none.exit_code == 1 and "No sources to sync" in none.output


def test_embedding_waits_while_an_answer_is_written():
    busy = Busy()
    embedder = PausingEmbedder(FakeEmbedder(), busy.shared_event(), batch=2)
    done = threading.Event()
    with busy.holding():
        worker = threading.Thread(target=lambda: (embedder.embed(["a", "b", "c"]), done.set()))
        worker.start()
        time.sleep(0.3)
        assert not done.is_set()  # paused while the answer is being written
    worker.join(5)
    assert done.is_set() and embedder.waited >= 0.2


def test_a_background_sync_runs_in_a_child_and_yields_to_answers(tmp_path, seeds, config):
    folder = copy_seeds(seeds, tmp_path / "news", ["000_b2984dc87e62d731.txt", "001_2b52cb3e110e3771.txt"])
    config = replace(config, sources=(str(folder),), sync_every="30m", embedder="fake-embedder")
    busy = Busy()
    background = BackgroundSync(config, busy, make_embedder=fake_embedder)
    results = []
    index = Path(config.index_dir)
    with busy.holding():  # an answer is being written the whole time the child starts and reads the files
        worker = threading.Thread(target=lambda: results.append(background.run_once()))
        worker.start()
        deadline = time.monotonic() + 60
        while not list(index.glob(".staging*")) and time.monotonic() < deadline:
            time.sleep(0.1)  # the child has opened its writer: embedding comes next
        time.sleep(1.0)
        assert not results  # its embedding is waiting for the answer to finish
    worker.join(60)
    (result,) = results
    assert result.error is None and result.changed and result.paused_s > 0
    assert result.lines == (f"{folder}: 2 added, 0 updated, 0 unchanged, 0 duplicates, 0 failed",)
    store = open_store(config.index_dir)
    assert len(store.documents()) == 2
    store.close()


def test_the_chat_service_reads_a_new_generation_at_its_next_answer(seed_index, tmp_path, seeds):
    from rag.chat import ChatService
    from tests.fakes import FakeGenerator

    service = ChatService(seed_index, embedder=FakeEmbedder(), loader=lambda c: FakeGenerator())
    before = service.assistant.index
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "note.txt").write_text("Harbour works\n\n" + " ".join(TEXT))
    ingest([extra], seed_index, FakeEmbedder())
    assert service.assistant.index is before  # nothing noticed yet: answers in flight keep their store
    list(service.ask("What began on Monday?"))
    assert service.assistant.index is not before and len(service.assistant.index.documents()) == 6


def test_sync_every_without_sources_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_CONFIG", str(tmp_path / "none.toml"))
    for command in ("serve", "ui"):
        result = CliRunner().invoke(main, [command, "--sync-every", "30m", "--index", str(tmp_path / "index")])
        assert result.exit_code == 2 and "needs sources" in result.output
    bad = CliRunner().invoke(main, ["serve", "--sync-every", "often"])
    assert bad.exit_code == 2 and "--sync-every" in bad.output


def test_a_server_syncing_in_the_background_answers_on_and_then_finds_the_new_articles(seed_index, fake_models,
                                                                                        tmp_path):
    """An answer in flight while a background sync commits a new generation finishes, the sync's embedding having
    waited for it; the next search reads the new generation, with no restart."""
    import httpx

    from rag.models.factories import register_generator, unregister
    from tests.serve_helpers import GatedGenerator, serving

    news = tmp_path / "news"
    news.mkdir()
    (news / "pier.txt").write_text("Harbour works\n\n" + " ".join(TEXT) + " The quay is called Zorblax Quay.")
    gated = GatedGenerator()
    register_generator("gated-llm", lambda config: gated)
    config = replace(seed_index, model="gated-llm", embedder="fake-embedder", sources=(str(news),),
                     sync_every="30m")
    try:
        with serving(config) as served:
            ask = {"model": "rag-news", "messages": [{"role": "user", "content": "Who denied the intelligence "
                                                                                 "sharing?"}]}
            answers = []
            answering = threading.Thread(target=lambda: answers.append(
                httpx.post(f"{served.url}/v1/chat/completions", json=ask, timeout=60)))
            answering.start()
            assert gated.started.wait(10)  # the answer is being written
            background = BackgroundSync(config, served.ctx.service.busy, make_embedder=fake_embedder)
            results = []
            syncing = threading.Thread(target=lambda: results.append(background.run_once()))
            syncing.start()
            deadline = time.monotonic() + 60
            while not list(Path(config.index_dir).glob(".staging*")) and time.monotonic() < deadline:
                time.sleep(0.1)  # the child has opened its writer: embedding comes next
            syncing.join(1.0)
            assert not results  # its embedding waits for the answer
            gated.gate.set()
            answering.join(30)
            syncing.join(60)
            assert answers[0].status_code == 200 and "denied" in answers[0].json()["choices"][0]["message"]["content"]
            assert results[0].changed and results[0].paused_s > 0
            found = httpx.post(f"{served.url}/v1/search", json={"query": "Zorblax Quay", "k": 1}, timeout=30).json()
            assert "Zorblax" in found["data"][0]["text"]
    finally:
        unregister("gated-llm")
