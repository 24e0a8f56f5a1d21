"""The model-server backend against a scripted server on 127.0.0.1: requests, streams, and every failure."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag.answer.assistant import Assistant
from rag.config import Config
from rag.errors import (
    ModelServerAuthError,
    ModelServerBusy,
    ModelServerDisconnected,
    ModelServerError,
    ModelServerFailed,
    ModelServerTimeout,
    ModelServerUnreachable,
)
from rag.models.factories import make_generator
from rag.models.generator import Usage
from rag.models.remote import RemoteGenerator
from rag.models.server_kinds import detect
from tests.fakes import FakeEmbedder
from tests.model_servers import Script, fake_model_server
from tests.shared import free_port

MESSAGES = [{"role": "system", "content": "Quote, then answer."}, {"role": "user", "content": "Who denied it?"}]


def _run(generator, grammar="root ::= \"x\"") -> tuple[str, Usage]:
    usage = Usage()
    text = "".join(generator.stream(MESSAGES, 64, 0.0, usage, grammar=grammar))
    return text, usage


def test_a_llama_cpp_server_gets_the_grammar_and_gives_logprobs_and_counts():
    script = Script()
    with fake_model_server(script) as url:
        generator = RemoteGenerator(url)
        text, usage = _run(generator)
        assert generator.count_tokens("three little words") == 3 and generator.count_tokens("three little words") == 3
    assert (generator.name, generator.kind.name) == ("fake-model", "llama.cpp")
    assert text == script.reply
    body = script.requests[0]
    assert body["grammar"] == 'root ::= "x"' and body["messages"] == MESSAGES and body["model"] == "fake-model"
    assert body["stream"] and body["logprobs"] and body["temperature"] == 0.0 and body["repeat_penalty"] == 1.0
    assert usage.logprobs == [-0.25] * len(usage.logprobs) and len(usage.logprobs) == len(text.split())
    assert usage.logprobs_available and (usage.prompt_tokens, usage.completion_tokens) == (321, 17)
    assert script.tokenized == ["three little words"]  # asked once, then cached


def test_logprobs_can_be_left_out_and_are_then_missing_not_improbable():
    script = Script()
    with fake_model_server(script) as url:
        generator = make_generator(replace(Config(), model=url, model_logprobs=False))
        text, usage = _run(generator)
    assert text == script.reply and "logprobs" not in script.requests[0]
    assert usage.logprobs == [] and not usage.logprobs_available


def test_a_plain_openai_server_gets_no_grammar_and_the_confidence_knows_logprobs_are_missing(seed_index):
    script = Script(models=[{"id": "gpt-like", "object": "model", "owned_by": "someone"}], logprobs=False)
    with fake_model_server(script) as url:
        config = replace(seed_index, model=url)
        answer = Assistant(config, embedder=FakeEmbedder()).ask("Who denied the intelligence sharing?")
    assert "grammar" not in script.requests[0] and "guided_grammar" not in script.requests[0]
    assert not answer.abstained and answer.model == "gpt-like" and answer.confidence is not None
    assert answer.signals.answer_logprob is None and answer.signals.quote_logprob is None
    assert not answer.calibrated  # no calibration was fitted for gpt-like: the conservative default scored it


def test_server_kinds_are_told_apart_by_what_they_report():
    assert detect({"owned_by": "llamacpp"}).name == "llama.cpp"
    assert detect({"owned_by": "me", "permissions": []}).name == "llama-cpp-python"
    assert detect({"owned_by": "vllm"}, vllm_version=lambda: "0.12.0").grammar_fields("g") == \
        {"structured_outputs": {"grammar": "g"}}
    assert detect({"owned_by": "vllm"}, vllm_version=lambda: "0.8.5").grammar_fields("g") == {"guided_grammar": "g"}
    assert not detect({"owned_by": "library"}).constrained and detect({"owned_by": "library"}).name == "ollama"
    assert detect({"owned_by": "llamacpp"}, setting="openai").name == "openai"


def test_the_model_is_chosen_among_several():
    models = [{"id": "a", "owned_by": "x"}, {"id": "b", "owned_by": "x"}]
    with fake_model_server(Script(models=models)) as url:
        with pytest.raises(ModelServerError, match="serves several models .*--model-id or RAG_MODEL_ID"):
            RemoteGenerator(url)
        assert RemoteGenerator(url, model_id="b").name == "b"
        with pytest.raises(ModelServerError, match="serves no model 'c'"):
            RemoteGenerator(url, model_id="c")


def test_busy_answers_are_retried_then_reported():
    script = Script(statuses=[429, 503])
    with fake_model_server(script) as url:
        text, _ = _run(RemoteGenerator(url, backoff=0))
        assert text == script.reply and len(script.requests) == 3
        script.statuses = [429] * 10
        with pytest.raises(ModelServerBusy, match="busy .*after 3 retries"):
            _run(RemoteGenerator(url, backoff=0))


@pytest.mark.parametrize("status, error, words", [
    (500, ModelServerFailed, "failed (500: scripted 500): see its log"),
    (502, ModelServerFailed, "failed (502"),
    (400, ModelServerError, "rejected the request (400"),
])
def test_error_statuses_become_one_error_each(status, error, words):
    with fake_model_server(Script(statuses=[status])) as url:
        with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
            _run(RemoteGenerator(url))


def test_a_wrong_or_missing_key_says_to_set_rag_llm_api_key(monkeypatch, config):
    with fake_model_server(Script(key="s3cret")) as url:
        with pytest.raises(ModelServerAuthError, match="set RAG_LLM_API_KEY"):
            RemoteGenerator(url)
        with pytest.raises(ModelServerAuthError, match="RAG_LLM_API_KEY does not hold"):
            RemoteGenerator(url, api_key="wrong")
        monkeypatch.setenv("RAG_LLM_API_KEY", "s3cret")  # the factory reads the key from the environment only
        assert make_generator(replace(config, model=url)).name == "fake-model"


def test_a_closed_port_and_a_silent_server_and_a_cut_stream():
    with pytest.raises(ModelServerUnreachable, match="Nothing answers at the model server .*start it"):
        RemoteGenerator(f"http://127.0.0.1:{free_port()}/v1")
    with fake_model_server(Script(stall_s=2.0)) as url:
        with pytest.raises(ModelServerTimeout, match="sent nothing for 0.5 s.*RAG_MODEL_TIMEOUT"):
            _run(RemoteGenerator(url, timeout=0.5))
    with fake_model_server(Script(cut_after=3)) as url:
        pieces, usage = [], Usage()
        with pytest.raises(ModelServerDisconnected, match="in the middle of the answer"):
            for piece in RemoteGenerator(url).stream(MESSAGES, 64, 0.0, usage):
                pieces.append(piece)
        assert len(pieces) == 3  # what came before the cut was streamed


def test_the_cli_says_what_to_do_without_a_traceback(seed_index, fake_models):
    from click.testing import CliRunner

    from rag.cli import main

    url = f"http://127.0.0.1:{free_port()}/v1"
    args = ["ask", "Who denied it?", "--index", seed_index.index_dir, "--embedder", "fake-embedder", "--model", url,
            "--local"]
    result = CliRunner().invoke(main, args, env={"RAG_CACHE_DIR": seed_index.cache_dir})
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "Error: Nothing answers at the model server" in result.output and "Traceback" not in result.output


def test_the_chat_menu_names_a_model_server_by_its_url():
    from rag.chat import model_choices

    url = "http://127.0.0.1:8080/v1"
    assert (f"{url} (model server)", url) in model_choices(url)


def test_the_chat_service_answers_and_follows_up_through_a_model_server(seed_index):
    from rag.chat import ChatService
    from rag.types import Done, Failed

    script = Script()
    with fake_model_server(script) as url:
        service = ChatService(replace(seed_index, model=url), embedder=FakeEmbedder())
        events = list(service.ask("Who denied the intelligence sharing?"))
        again = list(service.ask("And when?", history=[("Who denied the intelligence sharing?", "The ministry.")]))
    assert not [e for e in events + again if isinstance(e, Failed)]
    done = [e for e in events if isinstance(e, Done)][0].answer
    assert done.model == url and not done.abstained and "[1]" in done.text  # the chat names models as chosen
    assert service.generator.loads == 1 and any(isinstance(e, Done) for e in again)
    assert len(script.requests) >= 3  # two answers and the follow-up's rewrite, on the one server
