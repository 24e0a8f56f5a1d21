"""Choosing a store from --index, fakes through the factory, shown locations, and `rag db start|stop`."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.config import Config
from rag.errors import ConfigError, IndexMissingError
from rag.ingest.pipeline import ingest
from rag.store import index_exists, open_store
from rag.store.factory import display_location, register_backend, scheme_of, unregister_backend
from rag.store.folder import FolderStore
from tests import fake_store
from tests.fakes import FakeEmbedder
from tests.postgres_server import pg_server  # noqa: F401 - fixture


def test_a_folder_opens_the_embedded_store(seed_index):
    store = open_store(seed_index.index_dir, "fake-embedder")
    assert isinstance(store, FolderStore) and index_exists(seed_index.index_dir)
    store.close()


@pytest.mark.parametrize("location, scheme", [("index", ""), ("/data/idx", ""), ("postgresql://u@h/db", "postgresql"),
                                              ("POSTGRES://h/db", "postgres"), ("fake://x", "fake")])
def test_the_scheme_chooses_the_backend(location, scheme):
    assert scheme_of(location) == scheme


def test_unknown_schemes_and_files_are_usage_errors(tmp_path):
    with pytest.raises(ConfigError, match="postgresql://"):
        open_store("mysql://host/db")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not an index")
    with pytest.raises(ConfigError, match="is a file"):
        open_store(str(a_file))
    with pytest.raises(IndexMissingError, match="rag ingest"):
        open_store(str(tmp_path / "nowhere"))


def test_passwords_are_never_shown():
    shown = display_location("postgresql://rag:s3cret@db.example:5433/news")
    assert shown == "postgresql://rag:***@db.example:5433/news"
    assert display_location("postgresql://postgres:@/rag?host=/tmp/x") == "postgresql://postgres:@/rag?host=/tmp/x"
    assert display_location("index") == "index"


def test_a_registered_fake_serves_ingest_and_ask(seeds, tmp_path):
    register_backend("fake", fake_store.fake_backend)
    try:
        config = Config(index_dir="fake://news", cache_dir=str(tmp_path))
        assert not index_exists(config.index_dir)
        assert ingest([seeds], config, FakeEmbedder()).added == 5
        result = CliRunner().invoke(main, ["info", "--index", "fake://news", "--json"])
        assert result.exit_code == 0 and '"documents": 5' in result.output
    finally:
        fake_store.INDEXES.clear()
        unregister_backend("fake")


def test_ingest_wait_flag_on_a_free_index(tmp_path, monkeypatch):
    import rag.models.embedder

    monkeypatch.setattr(rag.models.embedder, "SentenceTransformerEmbedder", lambda name, **kw: FakeEmbedder())
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("A headline about rivers\n\n" + "The river rose over the banks in spring. " * 12)
    result = CliRunner().invoke(main, ["ingest", str(corpus), "--index", str(tmp_path / "index"), "--wait"])
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output


@pytest.mark.postgres
def test_db_start_prints_a_url_and_stop_stops_it(pg_server):  # noqa: F811 - pg_server: the wheel runs here
    import psycopg

    data = Path(tempfile.mkdtemp(prefix="rag-test-db-")) / "data"
    try:
        started = CliRunner().invoke(main, ["db", "start", "--dir", str(data)])
        assert started.exit_code == 0, started.output
        url = started.stdout.strip().splitlines()[-1]
        assert url.startswith("postgresql://") and url.split("?")[0].endswith("/rag")
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert CliRunner().invoke(main, ["db", "start", "--dir", str(data)]).stdout.strip().endswith(url.split("/")[-1])
        stopped = CliRunner().invoke(main, ["db", "stop", "--dir", str(data)])
        assert stopped.exit_code == 0 and "Stopped" in stopped.output
        again = CliRunner().invoke(main, ["db", "stop", "--dir", str(data)])
        assert "No server was running" in again.output
    finally:
        CliRunner().invoke(main, ["db", "stop", "--dir", str(data)])
        shutil.rmtree(data.parent, ignore_errors=True)
