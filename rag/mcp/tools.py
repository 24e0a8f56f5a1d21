"""What `rag mcp` offers an agent, without the MCP SDK: search, checked answers, the article list, one article.

Every result is plain JSON-able data. A RagError keeps the CLI's message (the server turns it into a tool error).
One answer is made at a time (the model is one), searches and listings run alongside.
"""

from __future__ import annotations

import threading
from datetime import date

from rag.answer.assistant import Assistant
from rag.answer.retrieve import Filters
from rag.config import MAX_K, Config
from rag.errors import ConfigError, RagError
from rag.store.factory import display_location
from rag.types import Answer, Citation, Document

MAX_ARTICLES = 1000  # list_articles returns at most this many, newest first


def _day(name: str, value: str | None) -> str | None:
    """A YYYY-MM-DD filter value checked, or a message that says how to write it."""
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise ConfigError(f"{name} {value!r} is not a date; use YYYY-MM-DD.") from None


def filters(outlet: str | None = None, since: str | None = None, until: str | None = None) -> Filters:
    """The filters of a tool call, checked as the CLI checks --outlet, --since and --until."""
    since, until = _day("since", since), _day("until", until)
    if since and until and since > until:
        raise ConfigError(f"since {since} is after until {until}: nothing could match.")
    return Filters(outlet=(outlet or "").strip() or None, since=since, until=until)


def _k(k: int | None, default: int) -> int:
    k = default if k is None else int(k)
    if not 1 <= k <= MAX_K:
        raise ConfigError(f"k must be from 1 to {MAX_K}, got {k}.")
    return k


def _url(source: str) -> str | None:
    return source if source.startswith(("http://", "https://")) else None


def _source(passage: Citation, quotes: list[str]) -> dict:
    return {"n": passage.n, "title": passage.title, "outlet": passage.outlet, "date": passage.date,
            "url": _url(passage.source), "source": passage.source, "doc_id": passage.doc_id, "quotes": quotes}


def answer_result(answer: Answer) -> dict:
    """ask_news's result: the checked answer, whether it abstained, the confidence, the sources with the quotes
    verified against them (an abstention lists the articles it looked at, without quotes)."""
    quotes: dict[int, list[str]] = {}
    for item in answer.evidence:
        quotes.setdefault(item.n, []).append(item.quote)
    shown = answer.citations or answer.passages
    return {"answer": answer.text, "abstained": answer.abstained,
            "confidence": None if answer.confidence is None else round(answer.confidence, 3),
            "calibrated": answer.calibrated, "assembled": answer.assembled, "cited": bool(answer.citations),
            "sources": [_source(p, quotes.get(p.n, []) if answer.citations else []) for p in shown],
            "model": answer.model}


class NewsTools:
    """The index (and model) one `rag mcp` process serves."""

    def __init__(self, config: Config, assistant: Assistant | None = None):
        self.config = config
        self.assistant = assistant or Assistant(config)
        self._answering = threading.Lock()

    @property
    def index_label(self) -> str:
        return display_location(self.config.index_dir)

    def search_news(self, query: str, k: int | None = None, outlet: str | None = None, since: str | None = None,
                    until: str | None = None) -> list[dict]:
        """The passages that best match `query`, best first."""
        if not query.strip():
            raise ConfigError("The query is empty: say what to look for.")
        retriever = self.assistant.retriever(self.config)
        hits = retriever.search(query, _k(k, 5), filters(outlet, since, until))
        return [{"rank": rank, "score": round(hit.score, 6), "title": hit.doc.title, "outlet": hit.doc.outlet,
                 "date": hit.doc.date, "url": hit.doc.url, "source": hit.doc.url or hit.doc.source,
                 "doc_id": hit.doc.doc_id, "text": hit.chunk.text} for rank, hit in enumerate(hits, start=1)]

    def ask_news(self, question: str, k: int | None = None, outlet: str | None = None, since: str | None = None,
                 until: str | None = None, asked_on: str | None = None) -> dict:
        """The checked answer to `question`, as `rag ask` makes it."""
        chosen = filters(outlet, since, until)
        asked = _day("asked_on", asked_on)
        with self._answering:
            answer = self.assistant.ask(question, chosen, asked_on=asked, k=_k(k, self.config.k))
        return answer_result(answer)

    def list_articles(self, outlet: str | None = None, since: str | None = None, until: str | None = None,
                      limit: int | None = None) -> list[dict]:
        """The indexed articles (newest first; undated last) that pass the filters."""
        chosen = filters(outlet, since, until)
        wanted = (chosen.outlet or "").lower()
        found = [d for d in self.assistant.index.documents()
                 if (not wanted or (d.outlet or "").lower() == wanted)
                 and (not chosen.since or (d.date or "") >= chosen.since)
                 and (not chosen.until or (d.date and d.date <= chosen.until))]
        found.sort(key=lambda d: (d.date or "", d.title), reverse=True)
        limit = MAX_ARTICLES if limit is None else max(1, min(int(limit), MAX_ARTICLES))
        return [{"doc_id": d.doc_id, "title": d.title, "outlet": d.outlet, "date": d.date, "url": d.url,
                 "uri": f"article://{d.doc_id}"} for d in found[:limit]]

    def article(self, doc_id: str) -> Document:
        """One article by its doc_id; RagError when the index has none of that id."""
        for doc in self.assistant.index.documents():
            if doc.doc_id == doc_id:
                return doc
        raise RagError(f"No article {doc_id!r} in the index at {self.index_label}: list_articles gives the ids.")


def article_text(doc: Document) -> str:
    """An article as a resource reads: its metadata lines, then its text."""
    head = [f"Title: {doc.title}", f"Outlet: {doc.outlet or 'unknown'}", f"Date: {doc.date or 'unknown'}"]
    head += [f"Author: {doc.author}"] if doc.author else []
    head += [f"URL: {doc.url}"] if doc.url else [f"Source: {doc.source}"]
    return "\n".join(head) + "\n\n" + doc.text
