"""`rag ask` through a running `rag serve`: the question sent over HTTP, the streamed answer read back as the
pipeline's own events (Token, Done), so the CLI prints it exactly as an answer made in-process."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Iterator

from rag.answer.retrieve import Filters
from rag.config import Config
from rag.errors import RagError
from rag.server import MODEL_ID
from rag.server.discovery import find_server
from rag.types import Answer, Done, Quoted, Token

CONNECT_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Remote:
    """A server to ask: from RAG_SERVER (`explicit`: failing to reach it is an error) or found running."""

    url: str
    explicit: bool
    api_key: str | None = None


class Unreachable(RagError):
    """Nothing answered at the server's address."""


def server_for(config: Config, environ=os.environ) -> Remote | None:
    """RAG_SERVER if set, else a running `rag serve` over the same index, model and embedder, else None."""
    key = environ.get("RAG_API_KEY") or None
    if environ.get("RAG_SERVER"):
        return Remote(environ["RAG_SERVER"].rstrip("/"), True, key)
    info = find_server(config)
    return Remote(info.url, False, key) if info else None


def _request_body(question: str, filters: Filters, asked_on: str | None, k: int) -> dict:
    body = {"model": MODEL_ID, "messages": [{"role": "user", "content": question}], "stream": True, "k": k}
    extra = {"outlet": filters.outlet, "since": filters.since, "until": filters.until, "asked_on": asked_on}
    return body | {name: value for name, value in extra.items() if value}


def _error_message(remote: Remote, status: int, text: str) -> str:
    try:
        message = json.loads(text)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = text.strip()[:300] or f"HTTP {status}"
    if status == 401:
        return (f"The server at {remote.url} refused the request: {message} "
                "Set RAG_API_KEY, or answer here with --local.")
    if status == 429:
        return f"The server at {remote.url} is busy: {message} Or answer here with --local."
    return f"The server at {remote.url} answered {status}: {message}"


def _events(lines: Iterator[str]) -> Iterator[Quoted | Token | Done]:
    finished = False
    for line in lines:
        if not line.startswith("data:"):
            continue  # blank separators, comments
        data = line[5:].strip()
        if data == "[DONE]":
            break
        chunk = json.loads(data)
        if "error" in chunk:
            raise RagError(f"The server stopped the answer: {chunk['error'].get('message')}")
        if chunk.get("revision"):
            continue  # for chat windows; the checked answer comes with Done
        if chunk.get("quote"):
            yield Quoted(chunk["quote"]["n"], chunk["quote"]["text"])
        choice = chunk["choices"][0]
        if choice.get("delta", {}).get("content"):
            yield Token(choice["delta"]["content"])
        if choice.get("finish_reason"):
            finished = True
            yield Done(Answer.from_json(chunk["rag"]), revised=bool(chunk.get("revised")))
    if not finished:
        raise RagError("The server closed the connection before the answer was complete; try again, or --local.")


def ask_remote(remote: Remote, question: str, filters: Filters, asked_on: str | None, k: int
               ) -> Iterator[Quoted | Token | Done]:
    """Stream one answer from `remote`; Unreachable (before any event) when nothing listens there."""
    try:
        import httpx
    except ImportError as exc:
        raise Unreachable("Reaching a server needs httpx (pip install 'rag-news[serve]').") from exc
    headers = {"Authorization": f"Bearer {remote.api_key}"} if remote.api_key else {}
    timeout = httpx.Timeout(None, connect=CONNECT_TIMEOUT_S)  # the answer may wait its turn for minutes
    try:
        # A server found running is on this machine: no proxy from the environment; RAG_SERVER may need one.
        with httpx.Client(timeout=timeout, trust_env=remote.explicit) as client, client.stream(
                "POST", f"{remote.url}/v1/chat/completions", json=_request_body(question, filters, asked_on, k),
                headers=headers) as response:
            if response.status_code != 200:
                raise RagError(_error_message(remote, response.status_code, response.read().decode("utf-8", "replace")))
            yield from _events(response.iter_lines())
    except httpx.ConnectError as exc:
        raise Unreachable(f"Nothing answers at {remote.url} ({exc}).") from exc
    except httpx.HTTPError as exc:
        raise RagError(f"The connection to {remote.url} failed: {exc}") from exc


def answer_events(config: Config, question: str, filters: Filters, asked_on: str | None,
                  local: bool = False) -> Iterator:
    """The events of one answer: from a running server when there is one (and not `local`), else in-process."""
    remote = None if local else server_for(config)
    if remote is not None:
        try:
            yield from ask_remote(remote, question, filters, asked_on, config.k)
            return
        except Unreachable as exc:
            if remote.explicit:
                raise RagError(f"{exc} Check RAG_SERVER ({remote.url}), or answer here with --local.") from exc
            # a server that died without removing its file: answer here instead
    from rag.answer.assistant import Assistant

    yield from Assistant(config).stream(question, filters, asked_on)
