"""A chat request answered on the shared model: its turn in the line, then the answer whole or as SSE chunks."""

from __future__ import annotations

import asyncio
import json
import time
from typing import AsyncIterator

from starlette.requests import Request

from rag.server.context import ServerContext
from rag.server.disconnects import disconnected, unless_disconnected
from rag.server.errors import ApiError, error_body, server_error, timed_out
from rag.server.responses import Chunks, completion
from rag.server.runner import AnswerRun
from rag.server.schemas import Asked
from rag.types import Answer, Done, Failed, Quoted, Token

DONE_FRAME = "data: [DONE]\n\n"


def frame(data: dict) -> str:
    """One Server-Sent Event as OpenAI sends them: a `data:` line of JSON and a blank line."""
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _turn_within(ctx: ServerContext, seconds: float) -> float:
    async with asyncio.timeout(seconds):
        return await ctx.queue.turn()


async def start(ctx: ServerContext, request: Request, asked: Asked) -> tuple[AnswerRun, float]:
    """Wait for the model (429 when the line is full, 504 past the time limit, dropped if the client leaves),
    then start the answer; returns the run and the milliseconds waited."""
    deadline = time.monotonic() + ctx.config.serve_timeout
    try:
        waited = await unless_disconnected(request, _turn_within(ctx, ctx.config.serve_timeout))
    except TimeoutError:
        raise timed_out(ctx.config.serve_timeout) from None
    # No await between the turn and the thread: nothing can cancel us while the model is ours but unused.
    service = ctx.service
    run = AnswerRun(lambda: service.ask(asked.question, asked.history, None, asked.k, asked.filters), deadline,
                    ctx.queue.finish)
    return run.start(), waited * 1000


async def _collect(run: AnswerRun) -> Answer:
    async for event in run.events():
        if isinstance(event, Done):
            return event.answer
        if isinstance(event, Failed):
            raise server_error(event.message)
    raise server_error("The answer ended without a result.")


async def whole(ctx: ServerContext, request: Request, asked: Asked) -> dict:
    """The chat.completion object; ClientGone when the client left before it was ready (its answer stops)."""
    run, queue_ms = await start(ctx, request, asked)
    try:
        answer = await unless_disconnected(request, _collect(run))
    except TimeoutError:
        raise timed_out(ctx.config.serve_timeout) from None
    finally:
        run.cancel()
    return completion(answer, queue_ms)


async def streamed(run: AnswerRun, queue_ms: float, request: Request, timeout: float) -> AsyncIterator[str]:
    """The answer as chat.completion.chunk events: the text as written, then the sources, then [DONE].

    A client that disconnects stops the generation (a watcher cancels the run, whatever the server's
    streaming code notices itself). An error after the start is sent as an `error` event, as OpenAI does.
    """
    chunks, text = Chunks(), ""
    watcher = asyncio.ensure_future(disconnected(request))
    watcher.add_done_callback(lambda _: run.cancel())
    try:
        yield frame(chunks.start())
        async for event in run.events():
            if isinstance(event, Quoted):
                yield frame(chunks.quote(event.n, event.sentence))
            elif isinstance(event, Token):
                text += event.text
                yield frame(chunks.text(event.text))
            elif isinstance(event, Done):
                revised = event.answer.text.strip() != text.strip()
                if revised:
                    yield frame(chunks.revision(event.answer))
                yield frame(chunks.last(event.answer, queue_ms, revised))
            elif isinstance(event, Failed):
                yield frame(error_body(event.message, "server_error", "internal_error"))
        yield DONE_FRAME
    except TimeoutError:
        error = timed_out(timeout)
        yield frame(error_body(error.message, error.kind, error.code))
        yield DONE_FRAME
    except ApiError as exc:
        yield frame(error_body(exc.message, exc.kind, exc.code))
        yield DONE_FRAME
    finally:
        watcher.cancel()
        run.cancel()
