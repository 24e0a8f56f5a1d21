"""The plain dataclasses that flow through the pipeline: documents, chunks, hits and answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Document:
    """One article after cleaning, with the metadata shown on every citation."""

    doc_id: str
    source: str  # file path, "path#line" for JSONL, as given at ingest
    title: str
    text: str
    outlet: str | None = None
    date: str | None = None  # ISO YYYY-MM-DD
    author: str | None = None
    url: str | None = None
    content_hash: str = ""


@dataclass(frozen=True)
class Chunk:
    """A token-bounded run of sentences from one document, with its character span."""

    chunk_id: str
    doc_id: str
    position: int
    text: str
    start: int
    end: int
    n_tokens: int


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its document and how it ranked."""

    chunk: Chunk
    doc: Document
    score: float
    dense_rank: int | None = None
    bm25_rank: int | None = None


@dataclass(frozen=True)
class Citation:
    """A numbered passage as shown to the model; also what a `[n]` in the answer resolves to."""

    n: int
    doc_id: str
    source: str
    title: str
    outlet: str | None
    date: str | None
    chunk_id: str
    text: str

    @classmethod
    def from_hit(cls, n: int, hit: Hit) -> Citation:
        return cls(
            n=n,
            doc_id=hit.doc.doc_id,
            source=hit.doc.url or hit.doc.source,
            title=hit.doc.title,
            outlet=hit.doc.outlet,
            date=hit.doc.date,
            chunk_id=hit.chunk.chunk_id,
            text=hit.chunk.text,
        )


@dataclass(frozen=True)
class Evidence:
    """A verified quote: the sentence of article [n] that supports the answer, word for word as the article has it."""

    n: int
    quote: str


@dataclass
class Timings:
    """Where the time of one answer went."""

    retrieve_ms: float = 0.0
    prompt_tokens: int = 0
    first_token_ms: float | None = None
    completion_tokens: int = 0
    total_ms: float = 0.0


@dataclass
class Answer:
    """The result of one question: text, resolved citations, what the model saw, timings."""

    question: str
    text: str
    abstained: bool
    citations: list[Citation]
    passages: list[Citation]
    timings: Timings
    model: str
    embedder: str
    dangling: list[int] = field(default_factory=list)  # [n] markers that named no passage
    evidence: list[Evidence] = field(default_factory=list)
    confidence: float | None = None  # calibrated probability that the answer is supported (None: not scored)
    signals: dict[str, float] = field(default_factory=dict)  # what the confidence was computed from (eval, calibrate)
    refused: str | None = None  # the answer withheld for low confidence (the evaluation judges it too)

    def to_json(self) -> dict:
        """The `rag ask --json` object."""
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [asdict(c) for c in self.citations],
            "passages": [asdict(p) for p in self.passages],
            "evidence": [asdict(e) for e in self.evidence],
            "confidence": None if self.confidence is None else round(self.confidence, 3),
            "timings": asdict(self.timings),
            "model": self.model,
            "embedder": self.embedder,
        }


@dataclass(frozen=True)
class Retrieved:
    """Stream event: the evidence the model is about to read, as numbered passages."""

    passages: list[Citation]


@dataclass(frozen=True)
class Token:
    """Stream event: the next piece of the answer as the model writes it."""

    text: str


@dataclass(frozen=True)
class Done:
    """Stream event: the checked answer; `revised` when it differs from the text streamed as Tokens."""

    answer: Answer
    revised: bool = False
