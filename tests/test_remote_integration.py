"""The model-server backend against a real OpenAI-compatible server: llama-cpp-python's own, over SmolLM2-135M.

One server for the module (they share the cores), started with an API key; the last test stops it mid-answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rag.answer.prompting import Templates, build_messages
from rag.config import Config
from rag.errors import ModelServerAuthError, ModelServerDisconnected
from rag.models.generator import LlamaCppGenerator, Usage
from rag.models.registry import llm_path
from rag.models.remote import RemoteGenerator
from tests.model_servers import llama_server
from tests.serve_helpers import serving
from tests.shared import JSON_KEYS

pytestmark = pytest.mark.integration
QUESTION = "Who denied the intelligence sharing?"
KEY = "test-key-1234"
RUDAW = "000_b2984dc87e62d731.txt"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    cache = tmp_path_factory.mktemp("model-cache")
    pytest.importorskip("sse_starlette")  # llama-cpp-python[server]
    with llama_server(llm_path("smollm2-135m", cache), api_key=KEY) as running:
        yield running


def _rag(*args: str, key: str | None = KEY) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("RAG_LLM_API_KEY", "RAG_SERVER")}
    env |= {"RAG_LLM_API_KEY": key} if key else {}
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True, timeout=600,
                          env=env)


def test_rag_ask_answers_with_citations_through_the_server(server, real_index):
    result = _rag("ask", QUESTION, "--index", str(real_index), "--model", server.url, "--local", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == JSON_KEYS and data["model"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert data["answer"].strip() and data["timings"]["prompt_tokens"] > 100
    assert any(p["source"].endswith(RUDAW) for p in data["passages"])
    shown = {p["n"] for p in data["passages"]}
    assert all(c["n"] in shown for c in data["citations"])
    assert data["signals"] is None or data["signals"]["answer_logprob"] is not None  # the server gave logprobs


def test_rag_ask_streams_through_the_server(server, real_index):
    result = _rag("ask", QUESTION, "--index", str(real_index), "--model", server.url, "--local")
    assert result.returncode == 0, result.stderr
    assert "Sources:" in result.stdout or "Evidence looked at:" in result.stdout
    assert "prompt +" in result.stderr and "Traceback" not in result.stderr


def test_the_server_writes_what_llama_cpp_writes_in_process(server, real_index):
    """The same prompt (the model's own chat template) and the same grammar: the same answer, token for token."""
    from rag.answer.assistant import Assistant

    config = Config(index_dir=str(real_index), model="smollm2-135m")
    assistant = Assistant(config, generator=RemoteGenerator(server.url, api_key=KEY))
    state = assistant.start(QUESTION, asked_on="2021-03-01")
    for stage in assistant.stages[:2]:
        list(stage(assistant, state))
    templates = Templates.load("")
    messages = build_messages(templates, QUESTION, state.shown, state.asked_on)
    local = LlamaCppGenerator("smollm2-135m", llm_path("smollm2-135m", config.cache_dir), threads=1)
    remote_usage, local_usage = Usage(), Usage()
    remote = "".join(assistant.generator.stream(messages, 60, 0.0, remote_usage, grammar=templates.grammar))
    here = "".join(local.stream(messages, 60, 0.0, local_usage, grammar=templates.grammar))
    assert remote == here and remote.startswith(("QUOTE [", "NONE"))
    common = min(len(remote_usage.logprobs), len(local_usage.logprobs))  # one side may count a last pick more
    assert common >= 50 and remote_usage.logprobs[:common] == pytest.approx(local_usage.logprobs[:common], abs=1e-3)


def test_rag_serve_on_top_of_the_server_answers_the_openai_client(server, real_index, tmp_path, monkeypatch):
    openai = pytest.importorskip("openai")
    monkeypatch.setenv("RAG_LLM_API_KEY", KEY)
    config = Config(index_dir=str(real_index), model=server.url, cache_dir=str(tmp_path))
    with serving(config) as served:
        client = openai.OpenAI(base_url=f"{served.url}/v1", api_key="unused", max_retries=0, timeout=300)
        response = client.chat.completions.create(model="rag-news", messages=[{"role": "user", "content": QUESTION}])
        chunks = list(client.chat.completions.create(model="rag-news", stream=True,
                                                     messages=[{"role": "user", "content": QUESTION}]))
    extra = response.model_extra
    assert response.choices[0].message.content.strip() and extra["llm"] == server.url
    assert any(s["source"].endswith(RUDAW) for s in extra["sources"])
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].model_extra["answer"].strip()


def test_a_server_with_a_key_refuses_a_client_without_it(server, real_index):
    with pytest.raises(ModelServerAuthError, match="set RAG_LLM_API_KEY"):
        RemoteGenerator(server.url)
    result = _rag("ask", QUESTION, "--index", str(real_index), "--model", server.url, "--local", key=None)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "refused the request (401" in result.stderr and "RAG_LLM_API_KEY" in result.stderr


def test_the_server_stopped_mid_answer_is_a_clear_error(server):
    """Last in the module: it kills the module's server."""
    generator = RemoteGenerator(server.url, api_key=KEY)
    messages = [{"role": "user", "content": "Write a very long story about a lighthouse keeper, in many chapters."}]
    pieces = []
    with pytest.raises(ModelServerDisconnected, match="in the middle of the answer"):
        for piece in generator.stream(messages, 3000, 0.0, Usage()):
            pieces.append(piece)
            if len(pieces) == 3:
                server.stop()
    assert len(pieces) >= 3
