"""`rag serve` with the real tiny models on the sample corpus, driven by the official openai client and `rag ask`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from rag.config import Config
from rag.server.discovery import describe, publish, withdraw
from tests.serve_helpers import serving

pytestmark = pytest.mark.integration
openai = pytest.importorskip("openai")
QUESTION = "Who denied the intelligence sharing?"


@pytest.fixture(scope="module")
def served(real_index, tmp_path_factory):
    config = Config(index_dir=str(real_index), model="smollm2-135m",
                    cache_dir=str(tmp_path_factory.mktemp("serve-cache")))
    with serving(config) as running:
        running.ctx.service.warm_up_model()
        yield running


def _client(served) -> "openai.OpenAI":
    return openai.OpenAI(base_url=f"{served.url}/v1", api_key="unused", max_retries=0, timeout=300)


def _rudaw(sources: list[dict]) -> dict:
    return next(s for s in sources if s["source"].endswith("000_b2984dc87e62d731.txt"))


def test_openai_client_gets_an_answer_with_sources(served):
    response = _client(served).chat.completions.create(model="rag-news",
                                                       messages=[{"role": "user", "content": QUESTION}])
    extra = response.model_extra
    assert response.choices[0].message.content.strip() and response.model == "rag-news"
    assert extra["llm"] == "smollm2-135m" and extra["embedder"] == "all-minilm-l6-v2"
    assert (_rudaw(extra["sources"])["outlet"], _rudaw(extra["sources"])["date"]) == ("Rudaw", "2021-02-27")
    assert response.usage.prompt_tokens > 100 and isinstance(extra["abstained"], bool)


def test_openai_client_streams_the_answer_and_sources(served):
    chunks = list(_client(served).chat.completions.create(
        model="rag-news", stream=True, messages=[{"role": "user", "content": QUESTION}]))
    assert chunks[-1].choices[0].finish_reason == "stop"
    last = chunks[-1].model_extra
    assert _rudaw(last["sources"])["title"] and last["answer"].strip()
    written = "".join(c.choices[0].delta.content or "" for c in chunks if not (c.model_extra or {}).get("revision"))
    assert written.strip() == last["answer"].strip() or last["revised"]


def test_stream_ends_with_done(served):
    body = {"model": "rag-news", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    with httpx.stream("POST", f"{served.url}/v1/chat/completions", json=body, timeout=300) as response:
        frames = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert frames[-1] == "data: [DONE]" and "sources" in json.loads(frames[-2][len("data: "):])


def test_rag_ask_answers_through_the_server(served):
    path = publish(served.config, describe(served.config, served.url, key_required=False))
    before = len(served.ctx.queue.waits)
    env = {**os.environ, "RAG_CACHE_DIR": served.config.cache_dir, "RAG_MODEL": "smollm2-135m"}
    env.pop("RAG_SERVER", None)
    try:
        result = subprocess.run([sys.executable, "-m", "rag.cli", "ask", QUESTION, "--index", served.config.index_dir],
                                capture_output=True, text=True, timeout=300, env=env)
    finally:
        withdraw(path)
    assert result.returncode == 0, result.stderr
    assert ("Sources:" in result.stdout or "Evidence looked at:" in result.stdout) and "prompt +" in result.stderr
    assert len(served.ctx.queue.waits) == before + 1
