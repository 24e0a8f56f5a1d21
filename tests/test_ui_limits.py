"""The chat's limits over real HTTP: an optional login, uploads only when turned on, a bounded queue."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import replace

import pytest
from click.testing import CliRunner

gr = pytest.importorskip("gradio")
# Gradio's queue calls pandas in ways pandas 3 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning", "ignore:The copy keyword:Warning")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.utils import Status  # noqa: E402

from rag.chat import ChatService  # noqa: E402
from rag.cli import main  # noqa: E402
from rag.config import Config  # noqa: E402
from tests.fakes import ConstantEmbedder, SilentGenerator  # noqa: E402
from tests.shared import free_port  # noqa: E402
from ui.app import QUEUE_BACKSTOP, launch  # noqa: E402


@pytest.fixture
def config(tmp_path):
    return Config(index_dir=str(tmp_path / "index"), model="smollm2-135m", embedder="fake-embedder")


class App:
    """The chat on a free localhost port; `release` lets model loads (which otherwise wait) finish."""

    def __init__(self, config: Config, auth=None):
        self.release = threading.Event()

        def loader(c):
            self.release.wait(30)
            return SilentGenerator(c.model)

        self.service = ChatService(config, embedder=ConstantEmbedder(), loader=loader)
        self.demo = launch(config, port=free_port(), prevent_thread_lock=True, service=self.service,
                           warm_up=False, quiet=True, auth=auth)
        self.url = self.demo.local_url

    def close(self):
        self.release.set()
        self.demo.close()


@pytest.fixture
def open_app(outside_connections):
    apps = []

    def start(config, auth=None) -> App:
        apps.append(App(config, auth))
        return apps[-1]

    yield start
    for app in apps:
        app.close()
    assert outside_connections == []


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# -- login ------------------------------------------------------------------------------------------------

def test_with_a_login_nothing_is_served_to_a_stranger(config, open_app):
    app = open_app(config, auth=[("ann", "s3cret")])
    status, body = _get(app.url + "config")
    assert status == 401 and b"Not authenticated" in body
    assert _get(app.url + "gradio_api/info")[0] == 401
    with pytest.raises(Exception, match="credentials"):
        Client(app.url, verbose=False)
    with pytest.raises(Exception):
        Client(app.url, auth=("ann", "wrong"), verbose=False)
    client = Client(app.url, auth=("ann", "s3cret"), verbose=False)
    assert "/respond" in client.view_api(return_format="dict")["named_endpoints"]


def test_without_a_login_the_chat_is_open(config, open_app):
    assert _get(open_app(config).url + "config")[0] == 200


def test_rag_ui_takes_logins_from_the_flag_or_the_environment(monkeypatch, tmp_path):
    import ui.app

    calls = []
    monkeypatch.setattr(ui.app, "launch", lambda config, **kwargs: calls.append((config, kwargs)))
    index = str(tmp_path / "index")
    assert CliRunner().invoke(main, ["ui", "--index", index, "--auth", "ann:pw:with:colons"]).exit_code == 0
    assert CliRunner().invoke(main, ["ui", "--index", index], env={"RAG_UI_AUTH": "ann:a bob:b"}).exit_code == 0
    assert CliRunner().invoke(main, ["ui", "--index", index, "--allow-uploads", "--queue-size", "3"]).exit_code == 0
    assert [kwargs["auth"] for _, kwargs in calls] == [[("ann", "pw:with:colons")], [("ann", "a"), ("bob", "b")],
                                                       None]
    assert [(c.ui_allow_uploads, c.ui_queue_size) for c, _ in calls] == [(False, 10), (False, 10), (True, 3)]


def test_rag_ui_warns_on_stderr_when_serving_beyond_this_machine(monkeypatch, tmp_path):
    import ui.app

    monkeypatch.setattr(ui.app, "launch", lambda config, **kwargs: None)
    result = CliRunner().invoke(main, ["ui", "--index", str(tmp_path), "--host", "0.0.0.0"])
    assert result.exit_code == 0 and result.stdout == ""
    assert "Warning: serving on 0.0.0.0: anyone who can reach this address" in result.stderr


# -- uploads ----------------------------------------------------------------------------------------------

def _upload_box_visible(url: str) -> bool:
    status, body = _get(url + "config")
    assert status == 200
    [box] = [c for c in json.loads(body)["components"] if c.get("props", {}).get("elem_id") == "rag-upload-accordion"]
    return box["props"]["visible"]


def test_uploads_are_hidden_and_refused_unless_turned_on(config, open_app, tmp_path):
    story = tmp_path / "story.txt"
    story.write_text("Bridge reopens\n\n" + "The old bridge reopened to traffic on Monday after repairs. " * 5)
    off = open_app(config)
    assert _upload_box_visible(off.url) is False
    # Sent by hand, the upload is refused, and nothing reaches the index folder.
    status, *_ = Client(off.url, verbose=False).predict([handle_file(str(story))], "All outlets",
                                                        api_name="/add_articles")
    assert "Adding articles from the chat is off" in status
    assert not off.service.uploads_dir.exists()

    on = open_app(replace(config, index_dir=str(tmp_path / "index-on"), ui_allow_uploads=True))
    assert _upload_box_visible(on.url) is True
    status, *_ = Client(on.url, verbose=False).predict([handle_file(str(story))], "All outlets",
                                                       api_name="/add_articles")
    assert "Added 1" in status and (on.service.uploads_dir / "story.txt").is_file()


# -- the queue ----------------------------------------------------------------------------------------------

def _text(message: dict) -> str:
    """A chat message's text, whether the client gives it as a string or as a list of parts."""
    content = message["content"]
    return content if isinstance(content, str) else "".join(part["text"] for part in content)


def _wait_for(condition, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_queue_shows_each_place_and_refuses_politely_when_full(config, open_app):
    app = open_app(replace(config, ui_queue_size=2))
    client = Client(app.url, verbose=False)
    # Model loads wait until released: one runs, the next two wait in the queue, which is then full.
    jobs = [client.submit(name, api_name="/switch_model")
            for name in ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b")]
    # Each waiting client is told its place, which the page shows over the chat as "queue: 1/2", "queue: 2/2".
    _wait_for(lambda: sorted(j.status().rank for j in jobs if j.status().code == Status.IN_QUEUE) == [0, 1])
    # A question now is refused in the chat, kept in the box, and not queued.
    question, history = client.predict("Who denied it?", [], api_name="/take_question")
    assert question == "Who denied it?"
    assert [_text(message) for message in history[-2:]] == [
        "Who denied it?",
        '<div class="rag-msg"><div class="rag-busy">The model is busy: 2 questions are waiting for it already, as '
        "many as this chat takes. Your question is still in the box; please send it again in a minute.</div></div>"]
    # Gradio's own limit stops what comes by hand beyond the backstop.
    extra = [client.submit("smollm2-135m", api_name="/switch_model") for _ in range(QUEUE_BACKSTOP + 2)]
    _wait_for(lambda: all(j.done() or j.status().code == Status.IN_QUEUE for j in extra))
    refused = [str(j.exception()) for j in extra if j.done()]
    assert len(refused) == 2 and all("Queue is full" in r for r in refused), refused
    app.release.set()
    assert all("is loaded" in j.result(timeout=30)[0] for j in jobs)  # the queued ones were served in turn
