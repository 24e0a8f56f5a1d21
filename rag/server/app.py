"""The FastAPI app of `rag serve`: OpenAI's chat and model routes, retrieval-only search, and a health check."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse

from rag.errors import RagError
from rag.server import answers, errors
from rag.server.auth import check_key
from rag.server.context import ServerContext
from rag.server.disconnects import ClientGone
from rag.server.limits import BodyLimit
from rag.server.responses import search_results
from rag.server.schemas import (
    MODEL_ID,
    ChatRequest,
    SearchRequest,
    TimelineRequest,
    check_question,
    parse_filters,
    read_chat,
)

CLIENT_CLOSED = 499  # nginx's status for "the client closed the request": it shows so in the access log
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # proxies must not hold the stream back


def _context(request: Request) -> ServerContext:
    return request.app.state.rag


def _authorised(request: Request) -> ServerContext:
    ctx = _context(request)
    check_key(request, ctx.api_key)
    return ctx


def _model(ctx: ServerContext) -> dict:
    return {"id": MODEL_ID, "object": "model", "created": ctx.created, "owned_by": "rag-news"}


def create_app(ctx: ServerContext) -> FastAPI:
    """The API over `ctx`; mount the chat page on it afterwards (rag.server.run does)."""
    # No docs page: Swagger UI loads its scripts from a CDN, and nothing here reaches outside the machine.
    app = FastAPI(title="rag-news", summary="Answers from your news articles, with their sources.",
                  docs_url=None, redoc_url=None, openapi_url="/v1/openapi.json")
    app.state.rag = ctx
    errors.install(app)
    app.add_middleware(BodyLimit, limit=ctx.config.serve_max_body_kb * 1024)

    @app.get("/healthz")
    def healthz(request: Request) -> JSONResponse:
        health = _context(request).health()
        return JSONResponse(health, 200 if health["index"] else 503)

    @app.get("/v1/models")
    def models(ctx: ServerContext = Depends(_authorised)) -> dict:
        return {"object": "list", "data": [_model(ctx)]}

    @app.get("/v1/models/{model}")
    def model(model: str, ctx: ServerContext = Depends(_authorised)) -> dict:
        if model != MODEL_ID:
            raise errors.ApiError(404, f"The model {model!r} does not exist here; use {MODEL_ID!r}.",
                                  code="model_not_found", param="model")
        return _model(ctx)

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatRequest, request: Request, ctx: ServerContext = Depends(_authorised)):
        asked = read_chat(body, ctx.config)
        ctx.require_index()
        try:
            if body.stream:
                run, queue_ms = await answers.start(ctx, request, asked)
                return StreamingResponse(answers.streamed(run, queue_ms, request, ctx.config.serve_timeout),
                                         media_type="text/event-stream", headers=SSE_HEADERS)
            return JSONResponse(await answers.whole(ctx, request, asked))
        except ClientGone:  # it left while waiting, or during its answer: nobody to answer
            return Response(status_code=CLIENT_CLOSED)

    _no_model_routes(app)

    @app.api_route("/v1/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def unknown(rest: str) -> None:  # otherwise the chat page, mounted at /, would answer with its own 404
        raise errors.ApiError(404, f"There is no /v1/{rest} here: this server offers /v1/models, "
                                   "/v1/chat/completions, /v1/search and /v1/timeline.", code="unknown_url")

    return app


def _no_model_routes(app: FastAPI) -> None:
    """Searches and timelines: retrieval only, in worker threads, so they never wait for the model's turn."""

    @app.post("/v1/search")
    async def search(body: SearchRequest, ctx: ServerContext = Depends(_authorised)) -> dict:
        query = check_question(body.query.strip(), ctx.config, "query")
        filters = parse_filters(body)
        ctx.require_index()
        assistant = ctx.service.assistant
        try:  # in a worker thread: searches never wait for the model or for each other's turn
            hits = await run_in_threadpool(lambda: assistant.retriever(ctx.config).search(query, body.k, filters))
        except RagError as exc:
            raise errors.unavailable(str(exc), "index_error") from exc
        return search_results(query, hits)

    @app.post("/v1/timeline")
    async def timeline(body: TimelineRequest, ctx: ServerContext = Depends(_authorised)) -> dict:
        query = check_question(body.query.strip(), ctx.config, "query")
        filters = parse_filters(body)
        ctx.require_index()
        try:  # like a search: no model, so it never waits for an answer's turn
            found = await run_in_threadpool(lambda: ctx.service.timeline(query, filters, body.articles))
        except RagError as exc:
            raise errors.unavailable(str(exc), "index_error") from exc
        return found.to_json()
