"""`rag mcp`: the command that starts the MCP server (imported by `rag --help`: click only at module level)."""

from __future__ import annotations

import sys
import threading

import click

from rag.cli_types import INDEX_LOCATION, _config


def _warm_up(tools) -> None:
    """Load the embedder, the index and the model while the agent connects, so its first call does not wait."""
    import logging

    from rag.errors import RagError

    try:
        with tools._answering:  # an ask_news arriving meanwhile waits for the model rather than loading another
            tools.assistant.embedder.embed(["warm up"])
            tools.assistant.index.warm_up()
            tools.assistant.generator  # noqa: B018 - loads it
    except RagError as exc:  # no index yet, a model server down: each tool call will say so
        logging.getLogger(__name__).warning("warm-up: %s", exc)


@click.command("mcp")
@click.option("--index", "index_dir", envvar="RAG_INDEX", default=None, type=INDEX_LOCATION,
              help="Index folder or postgresql:// URL (default: index/, or $RAG_INDEX).")
@click.option("--model", help="LLM for ask_news: a registry name, a .gguf path, or a model server's "
                              "http://HOST:PORT/v1 (default: qwen2.5-coder-1.5b).")
@click.option("--model-id", help="With --model http://...: which of the server's models (or RAG_MODEL_ID).")
@click.option("--http", "over_http", is_flag=True, help="Serve streamable HTTP at http://HOST:PORT/mcp instead of "
                                                        "stdio.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="With --http: address to bind; any other than localhost needs --api-key.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="With --http.")
@click.option("--api-key", envvar="RAG_MCP_API_KEY", metavar="KEY",
              help="With --http: require `Authorization: Bearer KEY` (or RAG_MCP_API_KEY, which stays out of `ps`).")
def mcp_command(index_dir, model, model_id, over_http, host, port, api_key) -> None:
    """Serve the index to AI agents over the Model Context Protocol: tools search_news, ask_news, list_articles
    and a resource article://{doc_id} per article. stdio by default (an MCP client starts this command)."""
    from rag.errors import ConfigError
    from rag.mcp.tools import NewsTools
    from rag.models.registry import go_offline
    from rag.server.auth import check_exposure

    config = _config(index_dir=index_dir, model=model, model_id=model_id)
    if over_http:
        try:
            check_exposure(host, api_key)
        except ConfigError as exc:
            raise click.UsageError(str(exc)) from None
    go_offline()
    tools = NewsTools(config)
    warm_up = threading.Thread(target=_warm_up, args=(tools,), name="rag-mcp-warm-up", daemon=True)
    if not over_http:
        from rag.mcp.server import run_stdio

        run_stdio(tools, on_serving=warm_up.start)  # only once stdout is the SDK's (see run_stdio)
        return
    warm_up.start()
    import uvicorn

    from rag.mcp.server import http_app
    from rag.server.run import bind, local_url

    sock = bind(host, port)  # a taken port is a clear error before anything else
    click.echo(f"rag-news MCP server on {local_url(sock)}/mcp (streamable HTTP){' · key required' if api_key else ''}"
               f" · index {tools.index_label} · Ctrl-C stops", err=True)
    uvicorn.Server(uvicorn.Config(http_app(tools, host, api_key or None), log_level="warning")).run(sockets=[sock])
    sys.exit(0)
