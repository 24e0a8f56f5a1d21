"""End to end with the real tiny models (MiniLM embedder, SmolLM2-135M) on the sample corpus, through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.shared import JSON_KEYS, PASSAGE_KEYS, TIMING_KEYS

pytestmark = pytest.mark.integration


def _rag(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True, timeout=600)


def test_ask_json_end_to_end(real_index):
    result = _rag("ask", "Who denied the intelligence sharing?", "--index", str(real_index),
                  "--model", "smollm2-135m", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # exactly one JSON object on stdout
    assert set(data) == JSON_KEYS and set(data["timings"]) == TIMING_KEYS
    assert data["model"] == "smollm2-135m" and data["embedder"] == "all-minilm-l6-v2"
    assert data["answer"].strip()
    assert data["timings"]["prompt_tokens"] > 100 and data["timings"]["completion_tokens"] > 0
    sources = [p["source"] for p in data["passages"]]
    assert all(set(p) == PASSAGE_KEYS for p in data["passages"])
    # Retrieval must put the Rudaw article that reports the denial in front of the model.
    assert any(s.endswith("000_b2984dc87e62d731.txt") for s in sources)
    rudaw = next(p for p in data["passages"] if p["source"].endswith("000_b2984dc87e62d731.txt"))
    assert (rudaw["outlet"], rudaw["date"]) == ("Rudaw", "2021-02-27")
    shown = {p["n"] for p in data["passages"]}
    assert all(c["n"] in shown for c in data["citations"])


def test_ask_streams_text_with_sources(real_index):
    result = _rag("ask", "Who denied the intelligence sharing?", "--index", str(real_index), "--model", "smollm2-135m")
    assert result.returncode == 0, result.stderr
    assert "Sources:" in result.stdout or "Passages looked at:" in result.stdout
    assert "prompt +" in result.stderr  # the timing line


def test_info_and_unchanged_reingest(real_index):
    from tests.conftest import SEEDS

    info = _rag("info", "--index", str(real_index), "--json")
    stats = json.loads(info.stdout)
    assert stats["documents"] == 5 and stats["embedder"] == "all-minilm-l6-v2"
    again = _rag("ingest", str(SEEDS), "--index", str(real_index))
    assert "0 added, 0 updated, 5 unchanged" in again.stdout


def test_saved_prompt_prefix_gives_the_same_answer(real_index, tmp_path):
    """A fresh process restores the rules-and-examples state from the cache instead of reading it again."""
    from rag.answer.assistant import Assistant
    from rag.config import Config

    config = Config(index_dir=str(real_index), model="smollm2-135m", cache_dir=str(tmp_path))
    cold = Assistant(config)
    first = cold.ask("Who denied the intelligence sharing?")
    assert cold.generator.restored_tokens == 0
    states = list((tmp_path / "prefix-states").glob("*.state"))
    assert len(states) == 1 and states[0].stat().st_size > 0
    fresh = Assistant(config)
    second = fresh.ask("Who denied the intelligence sharing?")
    assert second.text == first.text
    assert fresh.generator.restored_tokens > 100  # system rules and worked examples were not read again
