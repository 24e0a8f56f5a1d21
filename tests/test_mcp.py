"""`rag mcp` in-process: the SDK's own client over the server's tools and resources, with the fake models."""

from __future__ import annotations

import asyncio
import json

import pytest

from rag.answer.assistant import Assistant
from rag.mcp.tools import NewsTools
from tests.fakes import DENIAL, FakeEmbedder, FakeGenerator

mcp = pytest.importorskip("mcp")
RUDAW = "000_b2984dc87e62d731.txt"


def _session(tools: NewsTools, calls):
    """Run `calls(client)` against the server over the SDK's in-process transport; return what it returns."""
    from mcp import Client

    from rag.mcp.server import build

    async def main():
        async with Client(build(tools)) as client:
            return await calls(client)

    return asyncio.run(main())


@pytest.fixture
def tools(seed_index) -> NewsTools:
    return NewsTools(seed_index, Assistant(seed_index, embedder=FakeEmbedder(), generator=FakeGenerator(DENIAL)))


def _data(result) -> object:
    assert not result.is_error, result.content
    data = result.structured_content
    return data["result"] if isinstance(data, dict) and set(data) == {"result"} else data


def test_the_tools_and_the_article_template_are_listed(tools):
    async def calls(client):
        return await client.list_tools(), await client.list_resource_templates()

    listed, templates = _session(tools, calls)
    names = {t.name: t for t in listed.tools}
    assert set(names) == {"search_news", "ask_news", "list_articles"}
    assert {"query", "k", "outlet", "since", "until"} <= set(names["search_news"].input_schema["properties"])
    assert "asked_on" in names["ask_news"].input_schema["properties"]
    assert [t.uri_template for t in templates.resource_templates] == ["article://{doc_id}"]


def test_search_ask_list_and_read_an_article(tools):
    async def calls(client):
        found = await client.call_tool("search_news", {"query": "intelligence sharing denied", "k": 3})
        asked = await client.call_tool("ask_news", {"question": "Who denied the intelligence sharing?",
                                                    "asked_on": "2021-03-01"})
        listed = await client.call_tool("list_articles", {"outlet": "Rudaw"})
        rudaw = _data(listed)[0]["doc_id"]
        return found, asked, listed, await client.read_resource(f"article://{rudaw}")

    found, asked, listed, article = _session(tools, calls)
    passages = _data(found)
    assert 1 <= len(passages) <= 3 and {"title", "outlet", "date", "url", "text", "doc_id"} <= set(passages[0])
    answer = _data(asked)
    assert not answer["abstained"] and "[1]" in answer["answer"] and answer["cited"]
    # The quote is the article's own sentence that the model's words were verified against.
    assert answer["sources"][0]["quotes"][0].startswith("The ministry denied its involvement in the airstrikes")
    assert answer["sources"][0]["outlet"] == "Rudaw" and answer["sources"][0]["date"] == "2021-02-27"
    everything = [a["outlet"] for a in tools.list_articles()]
    assert len(everything) == 5 and [a["outlet"] for a in _data(listed)] == ["Rudaw"] * everything.count("Rudaw")
    text = article.contents[0].text
    assert text.startswith("Title: ") and "Outlet: Rudaw" in text and "ministry denied" in text.lower()


def test_errors_come_back_as_tool_errors_with_the_cli_message(tools):
    async def calls(client):
        bad_date = await client.call_tool("search_news", {"query": "strikes", "since": "last week"})
        reversed_range = await client.call_tool("list_articles", {"since": "2021-03-01", "until": "2021-02-01"})
        missing = None
        try:
            await client.read_resource("article://no-such-id")
        except Exception as exc:  # noqa: BLE001 - the SDK raises its protocol error
            missing = str(exc)
        return bad_date, reversed_range, missing

    bad_date, reversed_range, missing = _session(tools, calls)
    assert bad_date.is_error and "is not a date; use YYYY-MM-DD" in bad_date.content[0].text
    assert reversed_range.is_error and "nothing could match" in reversed_range.content[0].text
    assert missing and "list_articles gives the ids" in missing


def test_a_missing_index_is_a_tool_error_that_says_how_to_build_one(config):
    tools = NewsTools(config, Assistant(config, embedder=FakeEmbedder(), generator=FakeGenerator()))

    async def calls(client):
        return await client.call_tool("ask_news", {"question": "Who denied it?"})

    result = _session(tools, calls)
    assert result.is_error and "rag ingest" in result.content[0].text


def test_an_http_server_needs_its_key(tools):
    from starlette.testclient import TestClient

    from rag.mcp.server import http_app

    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    with TestClient(http_app(tools, "0.0.0.0", "s3cret")) as client:
        refused = client.post("/mcp", json=body)
        wrong = client.post("/mcp", json=body, headers={"Authorization": "Bearer nope"})
        allowed = client.post("/mcp", json=body, headers={"Authorization": "Bearer s3cret",
                                                           "Accept": "application/json, text/event-stream"})
    assert refused.status_code == wrong.status_code == 401
    assert "Bearer" in json.loads(refused.text)["error"]
    assert allowed.status_code != 401


def test_streamable_http_serves_the_same_tools(tools):
    from mcp import Client

    from rag.mcp.server import http_app
    from rag.server.run import bind, running

    async def main(url):
        async with Client(f"{url}/mcp") as client:
            listed = await client.list_tools()
            found = await client.call_tool("search_news", {"query": "airstrikes", "k": 2})
            return listed, found

    with running(http_app(tools, "127.0.0.1", None), bind("127.0.0.1", 0)) as url:
        listed, found = asyncio.run(main(url))
    assert len(listed.tools) == 3 and len(_data(found)) == 2
