"""The request bodies of `rag serve`: OpenAI's chat shape plus rag-news's filters, read into a question to answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.answer.retrieve import Filters
from rag.config import MAX_K, Config
from rag.server import MODEL_ID
from rag.server.errors import ApiError, bad_request, too_large


class ContentPart(BaseModel):
    """One part of a message in OpenAI's list form; only text parts mean something here."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls, ...: read past
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None


class FilterFields(BaseModel):
    """rag-news's own fields: which articles may answer, and the day the question is asked."""

    outlet: str | None = Field(None, max_length=200)
    since: str | None = Field(None, max_length=40, description="YYYY-MM-DD: articles published on or after it")
    until: str | None = Field(None, max_length=40, description="YYYY-MM-DD: articles published on or before it")
    asked_on: str | None = Field(None, max_length=40, description="YYYY-MM-DD: the day the question is asked")


class ChatRequest(FilterFields):
    """POST /v1/chat/completions. OpenAI's sampling fields (temperature, top_p, ...) are accepted and ignored:
    the answer pipeline sets its own."""

    model_config = ConfigDict(extra="ignore")
    model: str = MODEL_ID
    messages: list[Message] = Field(min_length=1, max_length=200)
    stream: bool = False
    k: int | None = Field(None, ge=1, le=MAX_K, description="articles the evidence may come from")


class SearchRequest(FilterFields):
    """POST /v1/search: retrieval only."""

    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1)
    k: int = Field(10, ge=1, le=MAX_K)


class TimelineRequest(FilterFields):
    """POST /v1/timeline: a story's events, no model."""

    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1)
    articles: int = Field(30, ge=1, le=50, description="articles of the story to read at most")


@dataclass(frozen=True)
class Asked:
    """What a chat request asks: the question, the earlier (question, answer) turns, the filters and k."""

    question: str
    history: list[tuple[str, str]]
    filters: Filters
    k: int | None


def text_of(message: Message, index: int) -> str:
    """A message's text; images, audio and files are refused rather than silently dropped."""
    if message.content is None or isinstance(message.content, str):
        return message.content or ""
    texts = []
    for part in message.content:
        if part.type != "text":
            raise bad_request(f"messages[{index}] has a {part.type!r} part: only text is understood.",
                              f"messages[{index}].content")
        texts.append(part.text or "")
    return "\n".join(texts)


def conversation(messages: list[Message]) -> tuple[str, list[tuple[str, str]]]:
    """The last user message and the (user, assistant) turns before it; system prompts are not ours to follow."""
    if messages[-1].role != "user":
        raise bad_request("The last message must be the user's question (role \"user\").", "messages")
    history: list[tuple[str, str]] = []
    for i, message in enumerate(messages[:-1]):
        if message.role == "user":
            history.append((text_of(message, i), ""))
        elif message.role == "assistant" and history and not history[-1][1]:
            history[-1] = (history[-1][0], text_of(message, i))
    return text_of(messages[-1], len(messages) - 1).strip(), [(q, a) for q, a in history if q.strip()]


def parse_filters(fields: FilterFields) -> Filters:
    """The filters of a request; a date that cannot be read, or since after until, is a 400."""
    from rag.ingest.metadata import parse_date  # dateparser: imported when a request needs it

    dates = {}
    for name in ("since", "until", "asked_on"):
        value = (getattr(fields, name) or "").strip()
        if value:
            dates[name] = parse_date(value)
            if not dates[name]:
                raise bad_request(f"{name} {value!r} is not a date: use YYYY-MM-DD, e.g. 2021-02-27.", name)
    if dates.get("since") and dates.get("until") and dates["since"] > dates["until"]:
        raise bad_request(f"since ({dates['since']}) is after until ({dates['until']}): nothing could match.", "since")
    outlet = (fields.outlet or "").strip() or None
    return Filters(outlet, dates.get("since"), dates.get("until"), dates.get("asked_on"))


def check_question(question: str, config: Config, param: str) -> str:
    if not question:
        raise bad_request("The question is empty: send one, e.g. \"Who denied the intelligence sharing?\".", param)
    if len(question) > config.serve_max_question_chars:
        raise too_large(f"The question has {len(question)} characters; this server takes at most "
                        f"{config.serve_max_question_chars} (setting serve_max_question_chars).", param)
    return question


def read_chat(request: ChatRequest, config: Config) -> Asked:
    """The question a chat request asks, checked: the model name, the last message, its length, the filters."""
    if request.model != MODEL_ID:
        raise ApiError(404, f"The model {request.model!r} does not exist here; use {MODEL_ID!r}.",
                       code="model_not_found", param="model")
    question, history = conversation(request.messages)
    check_question(question, config, "messages")
    return Asked(question, history, parse_filters(request), request.k)
