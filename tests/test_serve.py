"""`rag serve` over real HTTP (uvicorn on 127.0.0.1) with fake models: OpenAI shapes, sources, errors, limits."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from rag.models.factories import register_generator, unregister
from tests.serve_helpers import CODEWORDS, GatedGenerator, echo_reply, serving

openai = pytest.importorskip("openai")
QUESTION = "Who denied the intelligence sharing?"


@pytest.fixture
def fake_config(fake_models, seed_index):
    from dataclasses import replace

    return replace(seed_index, model="fake-llm", embedder="fake-embedder")


@pytest.fixture
def server(fake_config, outside_connections):
    with serving(fake_config) as served:
        yield served


@pytest.fixture
def gated(fake_config):
    generator = GatedGenerator()
    register_generator("gated-llm", lambda config: generator)
    yield generator
    generator.gate.set()
    unregister("gated-llm")


def _client(served, key="none") -> "openai.OpenAI":
    return openai.OpenAI(base_url=f"{served.url}/v1", api_key=key, max_retries=0, timeout=30)


def _ask(question: str = QUESTION, **extra) -> dict:
    return {"model": "rag-news", "messages": [{"role": "user", "content": question}], **extra}


def _sse(response: httpx.Response) -> list[str]:
    return [line[len("data: "):] for line in response.iter_lines() if line.startswith("data: ")]


def test_models_list_rag_news(server):
    assert [m.id for m in _client(server).models.list()] == ["rag-news"]


def test_answer_carries_markers_sources_quotes_and_confidence(server, fake_models):
    response = _client(server).chat.completions.create(model="rag-news",
                                                       messages=[{"role": "user", "content": QUESTION}])
    extra = response.model_extra
    assert response.choices[0].message.content == "Iraq's Ministry of Defense denied it [1]."
    assert response.choices[0].finish_reason == "stop" and response.usage.completion_tokens > 0
    first = extra["sources"][0]
    assert first["n"] == 1 and first["cited"] and first["outlet"] == "Rudaw" and first["date"] == "2021-02-27"
    assert first["quotes"][0].startswith("The ministry denied its involvement") and first["text"]
    assert {"title", "url", "source", "doc_id", "chunk_id"} <= set(first)
    assert extra["abstained"] is False and 0 <= extra["confidence"] <= 1
    assert fake_models.grammar  # the shared model got the answer grammar


def test_stream_sends_text_then_sources_then_done(server):
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=_ask(stream=True), timeout=30) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        frames = _sse(response)
    assert frames[-1] == "[DONE]"
    chunks = [json.loads(f) for f in frames[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "stop" and text.strip() == last["answer"]
    assert last["sources"] and last["sources"][0]["quotes"] and last["revised"] is False
    assert all("sources" not in c for c in chunks[:-1])
    # The verified quote goes out as soon as the model has written it, before any answer text.
    quoted = [i for i, c in enumerate(chunks) if c.get("quote")]
    first_text = next(i for i, c in enumerate(chunks) if c["choices"][0]["delta"].get("content"))
    assert quoted and quoted[0] < first_text and chunks[quoted[0]]["choices"][0]["delta"] == {}
    assert chunks[quoted[0]]["quote"]["n"] == 1
    assert chunks[quoted[0]]["quote"]["text"].startswith("The ministry denied its involvement")


def test_openai_client_streams(server):
    stream = _client(server).chat.completions.create(model="rag-news", stream=True,
                                                     messages=[{"role": "user", "content": QUESTION}])
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks).strip().endswith("[1].")
    assert chunks[-1].model_extra["sources"][0]["cited"]


def test_a_followup_is_rewritten_from_the_earlier_turns(server):
    messages = [{"role": "system", "content": "You are helpful."},
                {"role": "user", "content": "What happened in the Babil strike?"},
                {"role": "assistant", "content": "Rockets hit a base [1]."},
                {"role": "user", "content": "Who denied it?"}]
    data = httpx.post(f"{server.url}/v1/chat/completions", json={"model": "rag-news", "messages": messages},
                      timeout=30).json()
    assert data["question"] != "Who denied it?" and "Babil" in data["question"]


def test_filters_and_k_reach_the_pipeline(server):
    data = httpx.post(f"{server.url}/v1/chat/completions", json=_ask(k=1, outlet="Rudaw", since="2021-01-01"),
                      timeout=30).json()
    assert data["sources"] and {s["outlet"] for s in data["sources"]} == {"Rudaw"}


def test_search_returns_passages_with_scores_and_filters(server):
    data = httpx.post(f"{server.url}/v1/search", json={"query": QUESTION, "k": 3}, timeout=30).json()
    assert len(data["data"]) == 3 and [d["rank"] for d in data["data"]] == [1, 2, 3]
    assert data["data"][0]["score"] >= data["data"][-1]["score"] and data["data"][0]["text"]
    only = httpx.post(f"{server.url}/v1/search", json={"query": QUESTION, "outlet": "Rudaw"}, timeout=30).json()
    assert only["data"] and {d["outlet"] for d in only["data"]} == {"Rudaw"}


def test_health(server):
    health = httpx.get(f"{server.url}/healthz").json()
    assert health["index"] is True and health["queue"] == 0 and health["status"] == "ok"


@pytest.mark.parametrize("body, param", [
    (_ask(since="soon"), "since"),
    (_ask(since="2021-03-01", until="2021-01-01"), "since"),
    (_ask(k=0), "k"),
    ({"model": "rag-news", "messages": []}, "messages"),
    ({"model": "rag-news", "messages": [{"role": "assistant", "content": "Hi"}]}, "messages"),
    (_ask("   "), "messages"),
    ({"model": "rag-news", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
     "messages[0].content"),
])
def test_bad_requests_get_400_in_openais_shape(server, body, param):
    response = httpx.post(f"{server.url}/v1/chat/completions", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"].startswith(param) and error["message"]


def test_unknown_model_and_not_json(server):
    assert httpx.post(f"{server.url}/v1/chat/completions", json={**_ask(), "model": "gpt-4"}).status_code == 404
    broken = httpx.post(f"{server.url}/v1/chat/completions", content=b"{not json",
                        headers={"content-type": "application/json"})
    assert broken.status_code == 400 and broken.json()["error"]["message"]


def test_key_required_when_set(fake_config):
    with serving(fake_config, api_key="s3cret") as served:
        with pytest.raises(openai.AuthenticationError):
            _client(served, key="wrong").models.list()
        missing = httpx.post(f"{served.url}/v1/search", json={"query": QUESTION})
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert missing.json()["error"]["code"] == "missing_api_key"
        assert [m.id for m in _client(served, key="s3cret").models.list()] == ["rag-news"]
        assert httpx.get(f"{served.url}/healthz").status_code == 200  # probes need no key


def test_oversized_body_and_question_get_413(fake_config):
    with serving(fake_config, serve_max_body_kb=4, serve_max_question_chars=100) as served:
        url = f"{served.url}/v1/chat/completions"
        big = httpx.post(url, json=_ask("x " * 3000))
        assert big.status_code == 413 and big.json()["error"]["code"] == "request_too_large"

        def chunked():  # no Content-Length: counted as it arrives
            yield b'{"model": "rag-news", "messages": [{"role": "user", "content": "'
            for _ in range(10):
                yield b"y" * 1000
            yield b'"}]}'

        assert httpx.post(url, content=chunked(), headers={"content-type": "application/json"}).status_code == 413
        long_question = httpx.post(url, json=_ask("Why? " * 30))
        assert long_question.status_code == 413 and "serve_max_question_chars" in long_question.json()["error"]["message"]


def test_no_index_is_503(fake_models, tmp_path):
    from rag.config import Config

    config = Config(index_dir=str(tmp_path / "empty"), cache_dir=str(tmp_path / "cache"), model="fake-llm",
                    embedder="fake-embedder")
    with serving(config) as served:
        chat = httpx.post(f"{served.url}/v1/chat/completions", json=_ask())
        assert chat.status_code == 503 and chat.json()["error"]["code"] == "no_index" and "rag ingest" in chat.text
        assert httpx.post(f"{served.url}/v1/search", json={"query": "x"}).status_code == 503
        assert httpx.get(f"{served.url}/healthz").status_code == 503


def _wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def test_full_queue_gets_429_with_retry_after_and_search_does_not_wait(fake_config, gated):
    with serving(fake_config, model="gated-llm", serve_queue_size=1) as served:
        url, pool = f"{served.url}/v1/chat/completions", []
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(2) as executor:
            pool.append(executor.submit(httpx.post, url, json=_ask(), timeout=30))
            assert gated.started.wait(10)  # the first answer holds the model
            pool.append(executor.submit(httpx.post, url, json=_ask(), timeout=30))
            _wait_for(lambda: served.ctx.queue.waiting == 1)
            refused = httpx.post(url, json=_ask())
            assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
            assert refused.json()["error"]["type"] == "rate_limit_error"
            started = time.monotonic()
            assert httpx.post(f"{served.url}/v1/search", json={"query": QUESTION}, timeout=5).status_code == 200
            assert time.monotonic() - started < 5  # retrieval does not queue behind the model
            assert httpx.get(f"{served.url}/healthz").json()["queue"] == 1
            gated.gate.set()
            assert [f.result().status_code for f in pool] == [200, 200]


def test_a_client_that_leaves_mid_stream_stops_its_generation(fake_config, gated):
    with serving(fake_config, model="gated-llm") as served:
        with httpx.stream("POST", f"{served.url}/v1/chat/completions", json=_ask(stream=True), timeout=30) as r:
            lines = r.iter_lines()
            assert next(lines).startswith("data: ")
            assert gated.started.wait(10)
        # the connection is closed here, while the model is still writing
        assert gated.closed_early.wait(10)
        _wait_for(lambda: not served.ctx.queue.running)
        gated.gate.set()
        assert httpx.post(f"{served.url}/v1/chat/completions", json=_ask(), timeout=30).status_code == 200


def _raw_request(url: str, body: dict) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    data = json.dumps(body).encode()
    sock = socket.create_connection((host, int(port)))
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 + f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    return sock


def test_a_client_that_leaves_while_waiting_leaves_the_queue(fake_config, gated):
    with serving(fake_config, model="gated-llm") as served:
        first = _raw_request(served.url, _ask())
        assert gated.started.wait(10)
        second = _raw_request(served.url, _ask(stream=True))
        _wait_for(lambda: served.ctx.queue.waiting == 1)
        second.close()
        _wait_for(lambda: served.ctx.queue.waiting == 0)
        gated.gate.set()
        assert first.recv(12) == b"HTTP/1.1 200"
        first.close()
        _wait_for(lambda: not served.ctx.queue.running)
        assert gated.starts == 1  # the one who left was never answered


def test_time_limit_stops_the_answer_with_504(fake_config, gated):
    with serving(fake_config, model="gated-llm", serve_timeout=1) as served:
        response = httpx.post(f"{served.url}/v1/chat/completions", json=_ask(), timeout=30)
        assert response.status_code == 504 and response.json()["error"]["code"] == "timeout"
        gated.gate.set()
        assert gated.closed_early.wait(10)


def test_the_chat_page_and_the_api_take_turns_on_the_model(fake_config, gated):
    import threading

    with serving(fake_config, model="gated-llm") as served:
        page = served.ctx.service.ask(QUESTION)  # what the chat page calls, in a Gradio worker thread
        page_answer = threading.Thread(target=lambda: list(page))
        page_answer.start()
        assert gated.started.wait(10)
        api = threading.Thread(target=httpx.post, args=(f"{served.url}/v1/chat/completions",),
                               kwargs={"json": _ask(), "timeout": 30})
        api.start()
        _wait_for(lambda: served.ctx.queue.running)  # the API request has its turn in the API's line...
        time.sleep(0.3)
        assert gated.starts == 1  # ...but waits while the page's answer holds the model
        gated.gate.set()
        page_answer.join(10)
        api.join(10)
        assert gated.starts == 2 and not gated.closed_early.is_set()


def test_concurrent_answers_never_mix(fake_config, fake_models):
    fake_models.reply = echo_reply
    with serving(fake_config) as served:
        import concurrent.futures

        def streamed_text(word: str) -> str:
            body = _ask(f"Who denied the intelligence sharing {word}?", stream=True)
            with httpx.stream("POST", f"{served.url}/v1/chat/completions", json=body, timeout=60) as response:
                chunks = [json.loads(f) for f in _sse(response) if f != "[DONE]"]
            return "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if not c.get("revision"))

        with concurrent.futures.ThreadPoolExecutor(len(CODEWORDS)) as executor:
            texts = dict(zip(CODEWORDS, executor.map(streamed_text, CODEWORDS)))
    for word, text in texts.items():
        assert word in text and not any(other in text for other in CODEWORDS if other != word), (word, text)


def test_the_chat_page_is_served_beside_the_api_on_one_model(fake_config, outside_connections):
    pytest.importorskip("gradio")
    with serving(fake_config, chat=True) as served:
        page = httpx.get(f"{served.url}/", timeout=30)
        assert page.status_code == 200 and "gradio" in page.text.lower()
        config = httpx.get(f"{served.url}/config", timeout=30)
        assert config.status_code == 200 and config.json()["title"] == "rag-news"
        assert httpx.post(f"{served.url}/v1/chat/completions", json=_ask(), timeout=30).status_code == 200
        missing = httpx.get(f"{served.url}/v1/nothing")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_url"
        assert served.ctx.service.generator.loads == 1
