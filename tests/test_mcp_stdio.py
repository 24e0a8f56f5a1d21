"""`rag mcp` as an agent meets it: the MCP SDK's stdio client starts it as a subprocess over the sample corpus
(ingested with the real MiniLM), lists the tools, calls each, and reads an article."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

pytestmark = pytest.mark.integration
mcp = pytest.importorskip("mcp")
QUESTION = "Who denied the intelligence sharing?"


def _data(result):
    assert not result.is_error, result.content
    data = result.structured_content
    return data["result"] if isinstance(data, dict) and set(data) == {"result"} else data


def test_an_mcp_client_uses_every_tool_and_reads_an_article(real_index, tmp_path):
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    env = {"RAG_CACHE_DIR": str(tmp_path / "cache"), **{k: os.environ[k] for k in ("HOME",) if k in os.environ}}
    params = StdioServerParameters(command=sys.executable, args=["-m", "rag.cli", "mcp", "--index", str(real_index),
                                                                 "--model", "smollm2-135m"], env=env)

    async def session():
        async with Client(params, read_timeout_seconds=600) as client:
            tools = await client.list_tools()
            found = await client.call_tool("search_news", {"query": "intelligence sharing", "k": 3,
                                                           "outlet": "Rudaw"})
            listed = await client.call_tool("list_articles", {})
            asked = await client.call_tool("ask_news", {"question": QUESTION, "asked_on": "2021-03-01"})
            failed = await client.call_tool("search_news", {"query": "strikes", "until": "soon"})
            doc_id = _data(found)[0]["doc_id"]
            article = await client.read_resource(f"article://{doc_id}")
            return tools, found, listed, asked, failed, article

    tools, found, listed, asked, failed, article = asyncio.run(session())
    assert {t.name for t in tools.tools} == {"search_news", "ask_news", "list_articles"}
    passages = _data(found)
    assert passages and all(p["outlet"] == "Rudaw" for p in passages) and "intelligence" in passages[0]["text"]
    articles = _data(listed)
    assert len(articles) == 5 and all({"title", "outlet", "date", "doc_id"} <= set(a) for a in articles)
    answer = _data(asked)
    assert answer["answer"].strip() and isinstance(answer["abstained"], bool) and answer["sources"]
    assert all({"title", "outlet", "date", "url", "quotes"} <= set(s) for s in answer["sources"])
    if not answer["abstained"]:
        assert answer["confidence"] is not None and any(s["quotes"] for s in answer["sources"])
    assert failed.is_error and "use YYYY-MM-DD" in failed.content[0].text
    text = article.contents[0].text
    assert text.startswith("Title: ") and "Outlet: Rudaw" in text
