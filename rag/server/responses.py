"""OpenAI's response shapes (chat.completion, chat.completion.chunk) carrying rag-news's sources and checks."""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict

from rag.server import MODEL_ID
from rag.types import Answer, Citation, Hit

REVISION_LABEL = "\n\nChecked: "  # how a stream shows the checked answer when it differs from what streamed


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def _url(source: str) -> str | None:
    return source if source.lower().startswith(("http://", "https://")) else None


def sources(answer: Answer) -> list[dict]:
    """Every passage the model read, numbered as the answer's [n] markers, with its verified quotes.

    Article text is data: it goes out as JSON strings, never as markup, and a client should show it as text.
    """
    quotes: dict[int, list[str]] = {}
    for item in answer.evidence:
        quotes.setdefault(item.n, []).append(item.quote)
    cited = {c.n for c in answer.citations}
    return [{"n": p.n, "title": p.title, "outlet": p.outlet, "date": p.date, "url": _url(p.source),
             "source": p.source, "doc_id": p.doc_id, "chunk_id": p.chunk_id, "text": p.text, "cited": p.n in cited,
             "quotes": quotes.get(p.n, [])} for p in answer.passages]


def usage(answer: Answer) -> dict:
    t = answer.timings
    return {"prompt_tokens": t.prompt_tokens, "completion_tokens": t.completion_tokens,
            "total_tokens": t.prompt_tokens + t.completion_tokens}


def extras(answer: Answer, queue_ms: float, revised: bool = False) -> dict:
    """The fields rag-news adds to OpenAI's response (and to the last chunk of a stream)."""
    return {"sources": sources(answer), "abstained": answer.abstained,
            "confidence": None if answer.confidence is None else round(answer.confidence, 3),
            "question": answer.question, "answer": answer.text, "revised": revised,
            "timings": {**asdict(answer.timings), "queue_ms": round(queue_ms, 1)}, "llm": answer.model,
            "embedder": answer.embedder, "usage": usage(answer),
            "rag": answer.to_json()}  # the whole answer as `rag ask --json` prints it (rag.types.Answer.from_json)


def completion(answer: Answer, queue_ms: float) -> dict:
    """The whole answer as one chat.completion object."""
    return {"id": completion_id(), "object": "chat.completion", "created": int(time.time()), "model": MODEL_ID,
            "system_fingerprint": None,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text}, "logprobs": None,
                         "finish_reason": "stop"}],
            **extras(answer, queue_ms)}


class Chunks:
    """The chat.completion.chunk objects of one streamed answer, all with the same id."""

    def __init__(self):
        self.id, self.created = completion_id(), int(time.time())

    def _chunk(self, delta: dict, finish: str | None = None, **more) -> dict:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": MODEL_ID,
                "system_fingerprint": None,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], **more}

    def start(self) -> dict:
        return self._chunk({"role": "assistant", "content": ""})

    def text(self, piece: str) -> dict:
        return self._chunk({"content": piece})

    def quote(self, n: int, sentence: str) -> dict:
        """A verified quote as soon as the model wrote it, before the answer text: an empty delta, so chat windows
        show nothing, and the sentence in the extra field `quote`."""
        return self._chunk({}, quote={"n": n, "text": sentence})

    def revision(self, answer: Answer) -> dict:
        """The checked answer, for a chat window that shows only the text: it replaces what streamed."""
        return self._chunk({"content": REVISION_LABEL + answer.text}, revision=True)

    def last(self, answer: Answer, queue_ms: float, revised: bool) -> dict:
        return self._chunk({}, "stop", **extras(answer, queue_ms, revised))


def search_results(query: str, hits: list[Hit]) -> dict:
    """POST /v1/search's answer: the passages found, best first, with their scores and metadata."""
    data = []
    for rank, hit in enumerate(hits, start=1):
        passage = Citation.from_hit(rank, hit)
        data.append({"rank": rank, "score": round(hit.score, 6), "dense_rank": hit.dense_rank,
                     "bm25_rank": hit.bm25_rank, "title": passage.title, "outlet": passage.outlet,
                     "date": passage.date, "url": _url(passage.source), "source": passage.source,
                     "author": hit.doc.author, "doc_id": passage.doc_id, "chunk_id": passage.chunk_id,
                     "text": passage.text})
    return {"object": "list", "query": query, "data": data}
