"""Shared fixtures: the sample corpus, a fake-embedded index of it, and config pointing at tmp folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Config
from rag.ingest import ingest
from tests.fakes import FakeEmbedder

SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "seeds"


@pytest.fixture
def seeds() -> Path:
    if not SEEDS.is_dir():
        pytest.skip(f"sample corpus not found at {SEEDS}")
    return SEEDS


@pytest.fixture
def config(tmp_path) -> Config:
    return Config(index_dir=str(tmp_path / "index"), cache_dir=str(tmp_path / "cache"))


@pytest.fixture
def seed_index(seeds, config) -> Config:
    """The five sample articles ingested with the fake embedder; returns the config that points at them."""
    ingest([seeds], config, FakeEmbedder())
    return config
