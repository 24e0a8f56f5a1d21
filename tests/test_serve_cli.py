"""`rag serve`'s safety checks and `rag ask` through a running server (found by its file, or RAG_SERVER)."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.server.discovery import describe, find_server, publish, running_servers, withdraw
from tests.serve_helpers import serving
from tests.shared import JSON_KEYS

QUESTION = "Who denied the intelligence sharing?"


@pytest.fixture
def fake_config(fake_models, seed_index):
    return replace(seed_index, model="fake-llm", embedder="fake-embedder")


def _env(config, **more) -> dict:
    return {"RAG_INDEX": config.index_dir, "RAG_CACHE_DIR": config.cache_dir, "RAG_MODEL": config.model,
            "RAG_EMBEDDER": config.embedder, "RAG_SERVER": None, "RAG_API_KEY": None, **more}


@pytest.fixture
def published(fake_config, outside_connections):
    """A running server with its discovery file, as `rag serve` leaves it."""
    with serving(fake_config) as served:
        path = publish(fake_config, describe(fake_config, served.url, key_required=False))
        yield served
        withdraw(path)


def test_serving_off_localhost_without_a_key_is_a_usage_error():
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0"], env={"RAG_API_KEY": None})
    assert result.exit_code == 2 and "--api-key" in result.output and "RAG_API_KEY" in result.output


def test_ask_uses_the_running_server(published, fake_config):
    result = CliRunner().invoke(main, ["ask", QUESTION], env=_env(fake_config))
    assert result.exit_code == 0, result.output
    assert "Iraq's Ministry of Defense denied it [1]." in result.output
    assert "Sources:" in result.output and "Rudaw" in result.output and "“The ministry denied" in result.output
    # the quote streamed from the server was printed before the answer
    assert result.output.index("[1] “The ministry denied") < result.output.index("Iraq's Ministry of Defense denied it")
    assert "prompt +" in result.output and "fake-llm" in result.output  # the timing line
    assert len(published.ctx.queue.waits) == 1  # answered by the server


def test_ask_json_through_the_server_has_the_local_shape(published, fake_config):
    remote = CliRunner().invoke(main, ["ask", QUESTION, "--json"], env=_env(fake_config))
    local = CliRunner().invoke(main, ["ask", QUESTION, "--json", "--local"], env=_env(fake_config))
    assert remote.exit_code == local.exit_code == 0
    remote_data, local_data = json.loads(remote.stdout), json.loads(local.stdout)
    assert set(remote_data) == JSON_KEYS
    for key in ("question", "answer", "abstained", "citations", "passages", "evidence", "confidence", "model",
                "refused", "dangling", "signals"):
        assert remote_data[key] == local_data[key], key
    assert remote_data["signals"] and remote_data["signals"]["quotes"] >= 1  # was dropped on the way back
    assert len(published.ctx.queue.waits) == 1  # --local did not use the server


def test_ask_over_another_index_answers_locally(published, fake_config, tmp_path):
    result = CliRunner().invoke(main, ["ask", QUESTION, "--index", str(tmp_path / "other")], env=_env(fake_config))
    assert result.exit_code == 1 and "other" in result.output  # the in-process path's "no index there"
    assert not published.ctx.queue.waits


def test_a_dead_servers_file_is_removed_and_ignored(fake_config):
    info = replace(describe(fake_config, "http://127.0.0.1:9", key_required=False), pid=2 ** 22 + 12345)
    path = publish(fake_config, info)
    assert find_server(fake_config) is None and not path.exists()
    result = CliRunner().invoke(main, ["ask", QUESTION], env=_env(fake_config))
    assert result.exit_code == 0 and "denied it [1]" in result.output


def test_a_server_that_stopped_without_cleaning_up_is_skipped(fake_config):
    publish(fake_config, describe(fake_config, "http://127.0.0.1:9", key_required=False))  # this pid, port closed
    assert running_servers(fake_config)
    result = CliRunner().invoke(main, ["ask", QUESTION], env=_env(fake_config))
    assert result.exit_code == 0 and "denied it [1]" in result.output


def test_rag_server_that_does_not_answer_is_an_error(fake_config):
    result = CliRunner().invoke(main, ["ask", QUESTION], env=_env(fake_config, RAG_SERVER="http://127.0.0.1:9"))
    assert result.exit_code == 1 and "RAG_SERVER" in result.output and "--local" in result.output


def test_rag_server_with_a_key(fake_config, outside_connections):
    with serving(fake_config, api_key="k3y") as served:
        env = _env(fake_config, RAG_SERVER=served.url)
        refused = CliRunner().invoke(main, ["ask", QUESTION], env=env)
        assert refused.exit_code == 1 and "RAG_API_KEY" in refused.output
        result = CliRunner().invoke(main, ["ask", QUESTION], env={**env, "RAG_API_KEY": "k3y"})
        assert result.exit_code == 0 and "Sources:" in result.output


def test_the_discovery_file_holds_no_secret_and_is_private(fake_config):
    url = "postgresql://reader:hunter2@db.example:5432/news"
    path = publish(fake_config, describe(replace(fake_config, index_dir=url), "http://127.0.0.1:8000", True))
    assert "hunter2" not in path.read_text() and oct(path.stat().st_mode & 0o777) == "0o600"
    assert json.loads(path.read_text())["pid"] == os.getpid()


def test_the_ask_client_needs_no_server_stack():
    """`rag ask` works in an install without the server's extras: its client imports no FastAPI or pydantic."""
    import subprocess
    import sys

    code = ("import sys, rag.server.client; "
            "print(sorted(m for m in ('fastapi', 'pydantic', 'uvicorn', 'starlette') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
