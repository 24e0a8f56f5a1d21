"""Index round-trip, incremental re-ingest, refusal of a mismatched index, and survival of a killed ingest."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from rag.errors import IndexMismatchError, IndexMissingError
from rag.store import open_store
from rag.store.folder import FolderStore
from rag.store.generations import FORMAT_VERSION
from rag.ingest.pipeline import ingest
from tests.fakes import FakeEmbedder

REPO = Path(__file__).resolve().parents[1]


def _copy_seeds(seeds: Path, target: Path, names: list[str] | None = None) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(seeds.glob("*.txt")):
        if names is None or path.name in names:
            (target / path.name).write_bytes(path.read_bytes())
    return target


def _assert_complete(index: FolderStore) -> None:
    stats = index.stats()
    assert len(index.vectors) == stats.chunks == len(index.chunk_array["row"])
    assert set(index.chunks_by_row([int(r) for r in index.chunk_array["row"]])) == {int(r) for r in index.chunk_array["row"]}


def test_round_trip(seed_index):
    index = open_store(seed_index.index_dir, "fake-embedder")
    stats = index.stats()
    assert stats.documents == 5 and stats.chunks > 10
    assert stats.outlets == {"Rudaw": 2, "ESTA": 1, "Sputnik International": 1, "France 24": 1}
    assert stats.date_range == ("2021-02-27", "2021-02-27")
    _assert_complete(index)
    rows = [int(r) for r in index.chunk_array["row"][:3]]
    chunk, doc = index.chunks_by_row(rows)[rows[0]]
    assert doc.text[chunk.start:chunk.end] == chunk.text
    titles = {d.title for d in index.documents()}
    assert "Iraq slams ‘unacceptable’ US strikes on pro-Iran fighters" in titles


def test_incremental_reingest(seeds, config, tmp_path):
    corpus = _copy_seeds(seeds, tmp_path / "corpus")
    embedder = FakeEmbedder()
    first = ingest([corpus], config, embedder)
    assert (first.added, first.updated, first.unchanged) == (5, 0, 0)
    generation = open_store(config.index_dir).gen

    again = ingest([corpus], config, embedder)
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 5, 0)
    assert open_store(config.index_dir).gen == generation, "an unchanged ingest must not write a generation"

    changed = corpus / "004_7d62095dcace34a0.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nA new paragraph about the Zorvath bridge reopening "
                       "after repairs was added by the editors.\n", encoding="utf-8")
    update = ingest([corpus], config, embedder)
    assert (update.added, update.updated, update.unchanged) == (0, 1, 4)
    index = open_store(config.index_dir)
    texts = [c.text for c, _ in index.chunks_by_row([int(r) for r in index.chunk_array["row"]]).values()]
    assert sum("Zorvath" in t for t in texts) >= 1
    assert index.stats().documents == 5
    _assert_complete(index)

    (corpus / "001_2b52cb3e110e3771.txt").unlink()
    kept = ingest([corpus], config, embedder)
    assert kept.removed == 0 and open_store(config.index_dir).stats().documents == 5
    pruned = ingest([corpus], config, embedder, prune=True)
    assert pruned.removed == 1
    index = open_store(config.index_dir)
    assert index.stats().documents == 4
    _assert_complete(index)


def test_missing_index_says_to_ingest(tmp_path):
    with pytest.raises(IndexMissingError, match="rag ingest"):
        open_store(tmp_path / "nowhere")


def test_index_from_another_embedder_is_refused(seed_index):
    with pytest.raises(IndexMismatchError, match="fake-embedder"):
        open_store(seed_index.index_dir, "all-minilm-l6-v2")
    with pytest.raises(IndexMismatchError, match="embedder"):
        ingest([], seed_index, FakeEmbedder(name="other-embedder"))


def test_other_chunk_settings_are_refused(seed_index, seeds):
    with pytest.raises(IndexMismatchError, match="--chunk-tokens 128"):
        ingest([seeds], replace(seed_index, chunk_tokens=100), FakeEmbedder())


def test_unknown_format_version_is_refused(seed_index):
    gen = open_store(seed_index.index_dir).gen
    manifest = gen / "manifest.json"
    manifest.write_text(manifest.read_text().replace(f'"format_version": {FORMAT_VERSION}', '"format_version": 99'))
    with pytest.raises(IndexMismatchError, match="format version 99"):
        open_store(seed_index.index_dir)


def test_failed_ingest_leaves_previous_index(seed_index, seeds, tmp_path):
    before = open_store(seed_index.index_dir).stats()

    class Exploding(FakeEmbedder):
        def embed(self, texts):
            raise RuntimeError("disk on fire")

    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "new.txt").write_text("Brand new headline about things\n\n" + "Fresh words in a sentence. " * 20)
    with pytest.raises(RuntimeError):
        ingest([extra], seed_index, Exploding())
    after = open_store(seed_index.index_dir)
    assert after.stats().documents == before.documents
    assert not list(Path(seed_index.index_dir).glob(".staging-*"))


_KILLED_INGEST = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {repo!r})
    import rag.store.generations
    from rag.config import Config
    from rag.ingest.pipeline import ingest
    from tests.fakes import FakeEmbedder

    kill_at, calls = int(sys.argv[1]), [0]
    real_fsync = rag.store.generations.fsync_file

    def dying_fsync(path):
        calls[0] += 1
        if calls[0] == kill_at:
            os._exit(137)  # like SIGKILL: no cleanup, no finally blocks
        real_fsync(path)

    class DyingEmbedder(FakeEmbedder):
        def embed(self, texts):
            if kill_at == 0:
                os._exit(137)
            return super().embed(texts)

    rag.store.generations.fsync_file = dying_fsync
    ingest([{corpus!r}], Config(index_dir={index!r}), DyingEmbedder())
    print("finished", calls[0])
""")


def test_ingest_killed_at_any_point_leaves_a_loadable_index(seeds, tmp_path):
    """Kill the writer mid-embedding and at every fsync of the commit; the index must stay whole."""
    corpus = _copy_seeds(seeds, tmp_path / "corpus", ["000_b2984dc87e62d731.txt", "001_2b52cb3e110e3771.txt"])
    index_dir = tmp_path / "index"
    config = replace(__import__("rag.config", fromlist=["Config"]).Config(), index_dir=str(index_dir))
    ingest([corpus], config, FakeEmbedder())
    _copy_seeds(seeds, corpus)  # three more articles to add
    script = _KILLED_INGEST.format(repo=str(REPO), corpus=str(corpus), index=str(index_dir))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    outcomes = set()
    for kill_at in range(0, 40):
        run = subprocess.run([sys.executable, "-c", script, str(kill_at)], capture_output=True, text=True, env=env)
        index = open_store(index_dir, "fake-embedder")
        documents = index.stats().documents
        assert documents in (2, 5), run.stderr
        _assert_complete(index)
        outcomes.add(documents)
        if run.returncode == 0:
            break  # kill_at passed the last fsync: the ingest completed
        assert run.returncode == 137, run.stderr
    assert outcomes == {2, 5}, "both the old index (killed early) and the new one (killed late) should be seen"
    final = ingest([corpus], config, FakeEmbedder())
    assert final.unchanged == 5
    assert not list(index_dir.glob(".staging-*")), "leftovers of killed ingests are cleaned up"
