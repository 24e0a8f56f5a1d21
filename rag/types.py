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

    retrieve_ms: float = 0.0  # the search: the question embedded, dense + keyword search, fused
    prompt_tokens: int = 0
    first_token_ms: float | None = None  # the first token the model wrote
    completion_tokens: int = 0
    total_ms: float = 0.0
    first_quote_ms: float | None = None  # the first verified quote on screen
    first_answer_ms: float | None = None  # the first word of the answer on screen (after the quotes)
    evidence_ms: float = 0.0  # the evidence chosen (a cold process also waits here for the model's tokenizer)


@dataclass(frozen=True)
class Signals:
    """What one answer looks like to the confidence model (rag.answer.confidence): each a plain number (None:
    the backend could not give it)."""

    quotes: float  # verified quotes, at most 3
    quote_overlap: float  # mean share of a quote's words found in its sentence
    question_coverage: float  # share of the question's terms in the evidence
    quote_coverage: float  # ... in the verified quotes
    answer_support: float  # share of the answer's new words found in the quotes
    answer_new_words: float  # the answer's words beyond the question's, at most 10
    # None when the model gave no log-probabilities (a model server without them): missing, not improbable.
    answer_logprob: float | None  # the model's mean log-probability over the answer's tokens
    answer_median_logprob: float | None
    quote_logprob: float | None  # ... over the quotes' tokens
    type_fit: float  # the answer is of the kind asked for (1), not (0), or the question wants no kind (0.5)
    top_sentence: float  # best evidence sentence's score
    unsupported_dates: float  # dates in the answer the articles and question don't give
    dense_top: float  # retrieval: how well anything matched (rag.answer.retrieve.RetrievalScores)
    dense_gap: float
    keyword_top: float
    keyword_gap: float
    # Last, with a default: records written before it was measured still load. Not something to weigh: it gates.
    adds_nothing: float = 0.0  # 1 when the answer adds no word (nor a "not") to the question: a restated question
    unsupported_figures: float = 0.0  # counts in the answer that no shown sentence, title, outlet or the question gives
    # 1 when a count, date or name answer's first clause gives none of its own, or counts the dead for the wounded
    lacks_asked: float = 0.0
    stitched: float = 0.0  # 1 when no shown sentence or headline holds both the question's words and the answer's
    speaker_unnamed: float = 0.0  # 1 when asked what someone said, no article the answer cites names them
    alternatives: float = 0.0  # 1 when two unattributed clauses fill the question's one frame differently

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


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
    signals: Signals | None = None  # what the confidence was computed from (eval, calibrate)
    refused: str | None = None  # the answer withheld for low confidence (the evaluation judges it too)
    calibrated: bool = True  # False: no calibration was fitted for the model; a conservative default scored it
    # Put together from the articles' own sentences (an either-or question's choices, someone's posts, a report's
    # date, a toll from two sources): gated, not weighed by the confidence, which is still given
    assembled: bool = False

    def to_json(self) -> dict:
        """The answer as JSON: `rag ask --json`, the server's `rag` field, what `rag ask` reads back from it."""
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
            "refused": self.refused,
            "dangling": list(self.dangling),
            "signals": None if self.signals is None else self.signals.as_dict(),
            "calibrated": self.calibrated,
            "assembled": self.assembled,
        }

    @classmethod
    def from_json(cls, data: dict) -> Answer:
        """The Answer `to_json` wrote (the confidence rounded as it was sent)."""
        timings = {k: v for k, v in data["timings"].items() if k in Timings.__dataclass_fields__}
        return cls(question=data["question"], text=data["answer"], abstained=data["abstained"],
                   citations=[Citation(**c) for c in data["citations"]],
                   passages=[Citation(**p) for p in data["passages"]], timings=Timings(**timings),
                   model=data["model"], embedder=data["embedder"], dangling=list(data.get("dangling") or []),
                   evidence=[Evidence(**e) for e in data["evidence"]], confidence=data["confidence"],
                   signals=Signals(**data["signals"]) if data.get("signals") else None,
                   refused=data.get("refused"), calibrated=data.get("calibrated", True),
                   assembled=data.get("assembled", False))


@dataclass(frozen=True)
class Rewrite:
    """A follow-up question made standalone: the question to retrieve with, as asked, and how (chat)."""

    question: str
    original: str
    method: str  # "unchanged", "model" (the generator rewrote it) or "fallback" (topic of the last question added)

    @property
    def changed(self) -> bool:
        return self.question != self.original


# The events of one answer, as the CLI, the chat and the server read them.

@dataclass(frozen=True)
class Status:
    """What is happening now ("Searching the articles…"), for a person waiting in the chat."""

    text: str


@dataclass(frozen=True)
class Retrieved:
    """The evidence the model is about to read, as numbered passages."""

    passages: list[Citation]


@dataclass(frozen=True)
class Quoted:
    """A quote the model has just written, verified: the sentence of passage [n] it copies, word for word as the
    article has it. It comes before the answer, so a reader has something to check while the answer is written."""

    n: int
    sentence: str


@dataclass(frozen=True)
class Token:
    """The next piece of the answer as the model writes it."""

    text: str


@dataclass(frozen=True)
class Done:
    """The checked answer; `revised` when it differs from the text streamed as Tokens."""

    answer: Answer
    revised: bool = False


@dataclass(frozen=True)
class Failed:
    """The answer could not be made; the message says why and what to do."""

    message: str


Event = Status | Rewrite | Retrieved | Quoted | Token | Done | Failed
