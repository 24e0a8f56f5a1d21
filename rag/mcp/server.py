"""`rag mcp`: the news index as a Model Context Protocol server (the official SDK), over stdio or streamable HTTP.

Tools: search_news, ask_news, list_articles; each article is the resource article://{doc_id}. A RagError comes
back as a tool error carrying the CLI's message, so the agent reads what a person at the terminal would.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any, Callable

from pydantic import Field

from rag.errors import RagError
from rag.mcp.tools import NewsTools, article_text

INSTRUCTIONS = ("News articles indexed on this machine. search_news finds passages; ask_news answers a question "
                "from them with cited sources and verified quotes (or says it cannot find the answer); "
                "list_articles lists what is indexed; read article://{doc_id} for a whole article.")

Query = Annotated[str, Field(description="What to look for, in plain words.")]
K = Annotated[int | None, Field(description="How many passages (search) or articles (ask) at most, 1-50.")]
Outlet = Annotated[str | None, Field(description="Only articles from this outlet, e.g. Reuters.")]
Since = Annotated[str | None, Field(description="Only articles published on or after this date, YYYY-MM-DD.")]
Until = Annotated[str | None, Field(description="Only articles published on or before this date, YYYY-MM-DD.")]
AskedOn = Annotated[str | None, Field(description="The day the question is asked, YYYY-MM-DD (default today): "
                                                  "later articles are not used; 'latest' means before it.")]
Limit = Annotated[int | None, Field(description="At most this many articles (default 1000), newest first.")]


def _tool(call: Callable[..., Any]) -> Callable[..., Any]:
    """A tool body whose RagError becomes an MCP tool error with the same message."""
    from mcp.server.mcpserver.exceptions import ToolError

    def run(*args, **kwargs):
        try:
            return call(*args, **kwargs)
        except RagError as exc:
            raise ToolError(str(exc)) from None

    return run


def build(tools: NewsTools):
    """The MCP server over `tools`."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

    server = MCPServer("rag-news", instructions=INSTRUCTIONS, log_level="WARNING")

    @server.tool()
    def search_news(query: Query, k: K = 5, outlet: Outlet = None, since: Since = None,
                    until: Until = None) -> list[dict[str, Any]]:
        """Passages of the indexed news articles that best match the query, best first, each with its title,
        outlet, date, url, doc_id and text. Fast: no model is involved."""
        return _tool(tools.search_news)(query, k, outlet, since, until)

    @server.tool()
    def ask_news(question: Query, k: K = None, outlet: Outlet = None, since: Since = None, until: Until = None,
                 asked_on: AskedOn = None) -> dict[str, Any]:
        """Answer a question from the indexed articles, as `rag ask` does: a sentence or two citing sources like
        [1], each source with its title, outlet, date, url and the quotes verified word for word against it; or
        abstained=true with "I cannot find the answer in the provided articles." Confidence is the calibrated
        probability that the answer is supported. Takes seconds: a local model writes it."""
        return _tool(tools.ask_news)(question, k, outlet, since, until, asked_on)

    @server.tool()
    def list_articles(outlet: Outlet = None, since: Since = None, until: Until = None,
                      limit: Limit = None) -> list[dict[str, Any]]:
        """The indexed articles, newest first: title, outlet, date, url, doc_id, and the article:// URI that
        reads the whole article."""
        return _tool(tools.list_articles)(outlet, since, until, limit)

    @server.resource("article://{doc_id}", name="article", mime_type="text/plain",
                     description="One indexed article: title, outlet, date, URL, then its cleaned text.")
    def article(doc_id: str) -> str:
        try:
            return article_text(tools.article(doc_id))
        except RagError as exc:
            if "No article" in str(exc):
                raise ResourceNotFoundError(str(exc)) from None
            raise ResourceError(str(exc)) from None

    return server


def run_stdio(tools: NewsTools, on_serving: Callable[[], None] | None = None) -> None:
    """Serve over stdin/stdout; `on_serving` runs once the SDK has claimed them (what MCPServer.run("stdio") does,
    with that hook). Why the hook: the SDK moves the wire to private descriptors and points fd 1 at stderr, but
    only if sys.stdout is fd 1 when it starts. llama-cpp-python swaps sys.stdout for the null device while it loads
    or requantizes a model, so a model loading in another thread at that moment took every reply with it: the
    client waited forever for its `initialize` (a first `rag mcp` making the Q8_0 copy, rag.models.weights)."""
    import anyio
    from mcp.server.stdio import stdio_server

    server = build(tools)
    lowlevel = server._lowlevel_server  # MCPServer.run_stdio_async's own path (mcp 2.x)

    async def serve() -> None:
        async with stdio_server() as (read_stream, write_stream):
            if on_serving is not None:
                on_serving()
            await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())

    anyio.run(serve)


def http_app(tools: NewsTools, host: str, api_key: str | None):
    """The streamable-HTTP app at /mcp; with `api_key`, every request must bring `Authorization: Bearer KEY`."""
    from mcp.server.transport_security import TransportSecuritySettings

    from rag.server.auth import is_loopback

    # The SDK guards a loopback server against DNS rebinding itself; a server reachable from elsewhere is
    # guarded by its key instead, and must accept the Host names its clients use.
    security = None if is_loopback(host) else TransportSecuritySettings(enable_dns_rebinding_protection=False)
    app = build(tools).streamable_http_app(host=host, transport_security=security)
    return _KeyRequired(app, api_key) if api_key else app


class _KeyRequired:
    """ASGI middleware: 401 unless the request carries the key (compared in constant time)."""

    def __init__(self, app, api_key: str):
        self.app, self.key = app, api_key.encode("utf-8")

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode("utf-8"), self.key):
                body = b'{"error": "This MCP server needs its API key: send Authorization: Bearer KEY."}'
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
