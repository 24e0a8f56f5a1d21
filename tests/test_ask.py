"""The ask path with fakes: retrieval, prompt budget, citations, abstention and the JSON shape."""

from __future__ import annotations

import pytest

from rag.ask import Assistant
from rag.errors import RagError
from rag.store import open_store
from rag.retrieve import Filters
from tests.fakes import FakeEmbedder, FakeGenerator

JSON_KEYS = {"question", "answer", "abstained", "citations", "passages", "timings", "model", "embedder"}
PASSAGE_KEYS = {"n", "doc_id", "source", "title", "outlet", "date", "chunk_id", "text"}
TIMING_KEYS = {"retrieve_ms", "prompt_tokens", "first_token_ms", "completion_tokens", "total_ms"}


def _assistant(config, reply="Iraq's Ministry of Defense denied it [1]. Kirby disagreed [9].") -> Assistant:
    return Assistant(config, embedder=FakeEmbedder(), generator=FakeGenerator(reply))


def test_answer_cites_and_drops_dangling(seed_index):
    tokens = []
    answer = _assistant(seed_index).ask("Who denied the intelligence sharing?", on_token=tokens.append)
    assert "".join(tokens).strip() == "Iraq's Ministry of Defense denied it [1]. Kirby disagreed [9]."
    assert answer.text == "Iraq's Ministry of Defense denied it [1]. Kirby disagreed."
    assert [c.n for c in answer.citations] == [1] and answer.dangling == [9]
    assert answer.citations[0] == answer.passages[0]
    assert not answer.abstained
    assert 1 <= len(answer.passages) <= seed_index.k


def test_json_schema(seed_index):
    data = _assistant(seed_index).ask("Who denied the intelligence sharing?").to_json()
    assert set(data) == JSON_KEYS
    assert set(data["timings"]) == TIMING_KEYS
    assert data["passages"] and all(set(p) == PASSAGE_KEYS for p in data["passages"])
    assert all(set(c) == PASSAGE_KEYS for c in data["citations"])
    assert [p["n"] for p in data["passages"]] == list(range(1, len(data["passages"]) + 1))
    assert data["model"] == "fake-llm" and data["embedder"] == "fake-embedder"


def test_prompt_numbers_passages_with_outlet_and_date(seed_index):
    assistant = _assistant(seed_index)
    answer = assistant.ask("Who denied the intelligence sharing?")
    messages = assistant.generator.messages
    user = messages[-1]["content"]
    assert messages[-1]["role"] == "user" and messages[0]["role"] == "system"
    for p in answer.passages:
        assert f"[{p.n}] {p.title} ({p.outlet or 'unknown outlet'}, {p.date or 'date unknown'})" in user
    assert "Question: Who denied the intelligence sharing?" in user
    assert "{passages}" not in user
    assert "I cannot find the answer" in messages[0]["content"]


def test_context_budget_limits_passages(seed_index):
    assistant = _assistant(seed_index)
    wide = assistant.ask("Who denied the intelligence sharing?", k=6, context_tokens=5000)
    narrow = assistant.ask("Who denied the intelligence sharing?", k=6, context_tokens=200)
    assert len(wide.passages) == 6
    assert 1 <= len(narrow.passages) < 6
    assert sum(len(p.text.split()) for p in narrow.passages) <= 200


def test_abstention_is_recognised_and_cites_nothing(seed_index):
    answer = _assistant(seed_index, "I cannot find the answer in the provided articles [1].").ask("Pilots' names?")
    assert answer.abstained and answer.citations == [] and answer.passages


def test_filters_that_match_nothing_abstain_without_the_model(seed_index):
    generator = FakeGenerator(lambda m: pytest.fail("the model must not be called"))
    assistant = Assistant(seed_index, embedder=FakeEmbedder(), generator=generator)
    answer = assistant.ask("Who denied it?", Filters(outlet="No Such Outlet"))
    assert answer.abstained and answer.passages == []


def test_filters_by_outlet_and_date(seed_index):
    assistant = _assistant(seed_index)
    rudaw = assistant.ask("strikes", Filters(outlet="rudaw"), k=6)
    assert rudaw.passages and {p.outlet for p in rudaw.passages} == {"Rudaw"}
    dated = assistant.ask("strikes", Filters(since="2021-02-01", until="2021-02-28"), k=10)
    assert dated.passages and all(p.date == "2021-02-27" for p in dated.passages)


def test_retrieval_finds_the_denial(seed_index):
    index = open_store(seed_index.index_dir)
    hits = _assistant(seed_index).retriever(seed_index).search("Ministry of Defense denied involvement", 3)
    assert any("Ministry of Defense" in h.chunk.text or "Defence Ministry" in h.chunk.text for h in hits)
    assert all(h.bm25_rank or h.dense_rank for h in hits)
    index.close()


def test_empty_question_is_refused(seed_index):
    with pytest.raises(RagError, match="empty"):
        _assistant(seed_index).ask("   ")
