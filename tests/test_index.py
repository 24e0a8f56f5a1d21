"""Index round-trip, incremental re-ingest, refusal of a mismatched index, and survival of a killed ingest."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from rag.errors import IndexMismatchError, IndexMissingError
from rag.ingest.pipeline import ingest
from rag.store import open_store
from rag.store.folder import FolderStore
from rag.store.generations import FORMAT_VERSION
from tests.fakes import FakeEmbedder
from tests.shared import copy_seeds

REPO = Path(__file__).resolve().parents[1]


def _assert_complete(index: FolderStore) -> None:
    stats = index.stats()
    assert len(index.vectors) == stats.chunks == len(index.chunk_array["row"])
    assert set(index.chunks_by_row([int(r) for r in index.chunk_array["row"]])) == {int(r) for r in index.chunk_array["row"]}


def test_the_embedded_files_agree_and_an_unchanged_ingest_writes_no_generation(seeds, config, tmp_path):
    """What only the folder store has (the store contract covers the rest of ingest for every backend)."""
    corpus = copy_seeds(seeds, tmp_path / "corpus")
    ingest([corpus], config, FakeEmbedder())
    index = open_store(config.index_dir)
    _assert_complete(index)
    rows = [int(r) for r in index.chunk_array["row"][:3]]
    chunk, doc = index.chunks_by_row(rows)[rows[0]]
    assert doc.text[chunk.start:chunk.end] == chunk.text
    again = ingest([corpus], config, FakeEmbedder())
    assert again.unchanged == 5 and open_store(config.index_dir).gen == index.gen


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


