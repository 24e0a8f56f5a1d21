"""Shared fixtures: the sample corpus, a fake-embedded index of it, and config pointing at tmp folders."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from rag.config import Config
from rag.ingest.pipeline import ingest
from rag.models.factories import register_embedder, register_generator, unregister
from tests.fakes import FakeEmbedder, FakeGenerator

SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "seeds"


@pytest.fixture
def seeds() -> Path:
    if not SEEDS.is_dir():
        pytest.skip(f"sample corpus not found at {SEEDS}")
    return SEEDS


@pytest.fixture
def config(tmp_path) -> Config:
    return Config(index_dir=str(tmp_path / "index"), cache_dir=str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def real_index(tmp_path_factory) -> Path:
    """The sample corpus ingested once with the real embedder (MiniLM) through the CLI, for integration tests."""
    if not SEEDS.is_dir():
        pytest.skip(f"sample corpus not found at {SEEDS}")
    index = tmp_path_factory.mktemp("real") / "index"
    result = subprocess.run([sys.executable, "-m", "rag.cli", "ingest", str(SEEDS), "--index", str(index)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "5 added" in result.stdout
    return index


@pytest.fixture
def seed_index(seeds, config) -> Config:
    """The five sample articles ingested with the fake embedder; returns the config that points at them."""
    ingest([seeds], config, FakeEmbedder())
    return config


@pytest.fixture
def outside_connections(monkeypatch) -> list:
    """Every connection this process tries to open to somewhere other than this machine (each one refused)."""
    outside: list = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        host = address[0] if isinstance(address, tuple) else str(address)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
            outside.append(address)
            raise OSError("no network in tests")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return outside


@pytest.fixture
def fake_models():
    """The fake LLM and embedder registered through the real factories, as `--model fake-llm --embedder
    fake-embedder` would pick them; yields the generator so a test can set its reply."""
    generator = FakeGenerator()
    register_generator("fake-llm", lambda config: generator)
    register_embedder("fake-embedder", lambda config: FakeEmbedder())
    yield generator
    unregister("fake-llm")
    unregister("fake-embedder")


@pytest.fixture(scope="session")
def tiny_llm():
    """The tiny test model's llama.cpp handle (SmolLM2-135M), for what its grammar sampler lets through."""
    from rag.models.generator import LlamaCppGenerator
    from rag.models.registry import llm_path

    return LlamaCppGenerator("smollm2-135m", llm_path("smollm2-135m", Config().cache_dir), n_ctx=512, threads=1)._llm
