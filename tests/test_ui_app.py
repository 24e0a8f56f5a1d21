"""The Gradio app without models: filters from the panel, and a private, offline launch."""

import os
import time
import urllib.request

import pytest

from rag.answer.retrieve import Filters
from rag.config import Config
from rag.errors import RagError

gr = pytest.importorskip("gradio")
from rag.chat import ChatService  # noqa: E402
from tests.fakes import ConstantEmbedder, SilentGenerator  # noqa: E402
from tests.shared import free_port  # noqa: E402
from ui.app import ALL_OUTLETS, launch, parse_filters  # noqa: E402


def test_gradio_analytics_are_off():
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"


def test_filters_from_the_panel():
    assert parse_filters(ALL_OUTLETS, "", "  ") == Filters()
    assert parse_filters("Rudaw", "2021-02-01", "27.02.2021") == Filters("Rudaw", "2021-02-01", "2021-02-27")


@pytest.mark.parametrize("since, until, message", [
    ("yesterday", "", "is not a date"),
    ("2021-03-01", "2021-02-01", "is after"),
])
def test_bad_dates_are_refused_with_a_reason(since, until, message):
    with pytest.raises(RagError, match=message):
        parse_filters(None, since, until)


def test_launch_is_local_private_and_quick(tmp_path, outside_connections):
    config = Config(index_dir=str(tmp_path / "index"), model="smollm2-135m", embedder="fake-embedder")
    service = ChatService(config, embedder=ConstantEmbedder(), loader=lambda c: SilentGenerator(c.model))
    started = time.perf_counter()
    demo = launch(config, port=free_port(), prevent_thread_lock=True, service=service, warm_up=False, quiet=True)
    try:
        assert time.perf_counter() - started < 30  # nothing to wait for on the network
        assert demo.local_url.startswith("http://127.0.0.1:")
        assert not demo.share and demo.share_url is None
        with urllib.request.urlopen(demo.local_url, timeout=10) as response:
            page = response.read().decode("utf-8")
        assert response.status == 200 and "rag-news" in page
        assert "fonts.googleapis.com" not in page
    finally:
        demo.close()
    assert outside_connections == []
