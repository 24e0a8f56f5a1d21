"""The question-answering path shared by the CLI, the chat UI and the evaluation: retrieve, select, quote, answer.

`Assistant.stream` yields events (the evidence found, the answer's tokens, the checked answer); `Assistant.ask`
is a thin wrapper that returns the checked answer.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from typing import Callable, Iterator

from rag.answer.citations import ABSTENTION, cited_numbers
from rag.answer.compose import Composed, abstention, compose
from rag.answer.confidence import Calibration, signals
from rag.config import Config
from rag.models.embedder import Embedder
from rag.errors import RagError
from rag.answer.evidence import EvidenceGroup, select_evidence
from rag.models.factories import make_embedder, make_generator
from rag.models.generator import Generator, Usage
from rag.answer.prompting import Templates, build_messages, to_citation
from rag.answer.quotes import answer_as_quote, parse_draft, verify
from rag.answer.retrieve import Filters, Retriever
from rag.store import Store, open_store
from rag.types import Answer, Citation, Done, Retrieved, Timings, Token

Event = Retrieved | Token | Done
_ANSWER_MARK = "ANSWER:"


class _AnswerTail:
    """Picks the answer out of the model's stream: what follows "ANSWER:", without the quotes before it."""

    def __init__(self):
        self.raw, self.sent, self.start_token = "", 0, None

    def feed(self, piece: str, tokens_so_far: int) -> str:
        self.raw += piece
        at = self.raw.find(_ANSWER_MARK)
        if at < 0:
            return ""
        if self.start_token is None:
            self.start_token = tokens_so_far
        tail = self.raw[at + len(_ANSWER_MARK):].lstrip(" ").split("\n", 1)[0]
        new, self.sent = tail[self.sent:], len(tail)
        return new


class Assistant:
    """Holds the index, embedder and model for many questions; each piece loads the first time it is needed."""

    def __init__(self, config: Config, index: Store | None = None, embedder: Embedder | None = None,
                 generator: Generator | None = None, calibration: Calibration | None = None):
        self.config = config
        self._index, self._embedder, self._generator = index, embedder, generator
        self._loading: Future | None = None
        self.templates = Templates.load(config.prompts_dir)
        self.calibration = calibration or Calibration.load(config.calibration or None)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.config)
        return self._embedder

    @property
    def index(self) -> Store:
        if self._index is None:
            self._index = open_store(self.config.index_dir, self.embedder.name)
        return self._index

    def start_loading_generator(self) -> None:
        """Load the LLM in the background: llama.cpp reads the model file while we retrieve."""
        if self._generator is None and self._loading is None:
            self._loading = ThreadPoolExecutor(max_workers=1).submit(make_generator, self.config)

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            self.start_loading_generator()
            self._generator = self._loading.result()
            self._loading = None
        return self._generator

    def reload_index(self) -> None:
        """Pick up a new generation after an ingest (the UI's uploads)."""
        self._index = None

    def retriever(self, config: Config) -> Retriever:
        return Retriever(self.index, self.embedder, config.fetch_k, config.rrf_k, config.dense_weight,
                         config.bm25_weight)

    def evidence(self, question: str, config: Config, filters: Filters) -> tuple[list[EvidenceGroup], dict]:
        """The best sentences of the best articles for the question, within the evidence budget; and how well
        the best chunks matched (for the confidence)."""
        retriever = self.retriever(config)
        hits = retriever.search(question, config.candidates, filters)
        groups = select_evidence(question, hits, self.generator.count_tokens, config.evidence_tokens,
                                 config.max_sentences, max_articles=config.k, asked_on=filters.asked_on)
        return groups, (retriever.scores(question, filters) if groups else {})

    def ask(self, question: str, filters: Filters | None = None, on_token: Callable[[str], None] | None = None,
            asked_on: str | None = None, **overrides) -> Answer:
        """Answer one question; `overrides` change Config fields (k, evidence_tokens, ...) for this call only."""
        for event in self.stream(question, filters, asked_on, **overrides):
            if isinstance(event, Token) and on_token:
                on_token(event.text)
            elif isinstance(event, Done):
                return event.answer
        raise RagError("The answer stream ended without an answer.")  # pragma: no cover - stream always ends Done

    def stream(self, question: str, filters: Filters | None = None, asked_on: str | None = None,
               **overrides) -> Iterator[Event]:
        """Answer one question as events: Retrieved (the evidence), Token (the answer as written), Done."""
        if not question.strip():
            raise RagError("The question is empty: ask something, e.g. rag ask \"Who denied the intelligence sharing?\"")
        config = replace(self.config, **overrides) if overrides else self.config
        asked_on = asked_on or (filters.asked_on if filters and filters.asked_on else date.today().isoformat())
        filters = replace(filters or Filters(), asked_on=asked_on)
        started = time.perf_counter()
        self.retriever(config)  # opens the index first: no model loads when there is none
        self.start_loading_generator()
        groups, scores = self.evidence(question, config, filters)
        passages = [to_citation(n, g) for n, g in enumerate(groups, start=1)]
        timings = Timings(retrieve_ms=(time.perf_counter() - started) * 1000)
        yield Retrieved(passages)
        composed, streamed, confidence = abstention(), "", None
        if passages:
            generation = _Generation(self, question, groups, passages, asked_on, config, timings, started, scores)
            for piece in generation:
                streamed += piece
                yield Token(piece)
            composed, confidence = generation.result
        timings.total_ms = (time.perf_counter() - started) * 1000
        answer = self._answer(question, composed, passages, timings, confidence)
        yield Done(answer, revised=answer.text.strip() != streamed.strip())

    def _answer(self, question: str, composed: Composed, passages: list[Citation], timings: Timings,
                scores: tuple[float, dict] | None) -> Answer:
        confidence, features = scores if scores else (None, {})
        return Answer(question=question, text=composed.text or ABSTENTION, abstained=composed.abstained,
                      citations=composed.citations, passages=passages, timings=timings, model=self.generator.name,
                      embedder=self.embedder.name, dangling=composed.dangling, evidence=composed.evidence,
                      confidence=confidence, signals=features, refused=composed.refused)


class _Generation:
    """One run of the model: iterate it for the answer's text; then `result` holds the checked answer and score."""

    def __init__(self, assistant: Assistant, question: str, groups: list[EvidenceGroup], passages: list[Citation],
                 asked_on: str, config: Config, timings: Timings, started: float, retrieval: dict[str, float]):
        self.assistant, self.question, self.groups, self.passages = assistant, question, groups, passages
        self.asked_on, self.config, self.timings, self.started = asked_on, config, timings, started
        self.retrieval = retrieval
        self.result: tuple[Composed, tuple[float, dict] | None] = (abstention(), None)

    def __iter__(self) -> Iterator[str]:
        generator = self.assistant.generator
        messages = build_messages(self.assistant.templates, self.question, self.passages, self.asked_on)
        usage, tail = Usage(), _AnswerTail()
        for piece in generator.stream(messages, self.config.max_answer_tokens, self.config.temperature, usage,
                                      grammar=self.assistant.templates.grammar):
            if self.timings.first_token_ms is None:
                self.timings.first_token_ms = (time.perf_counter() - self.started) * 1000
            if new := tail.feed(piece, usage.completion_tokens):
                yield new
        self.timings.prompt_tokens, self.timings.completion_tokens = usage.prompt_tokens, usage.completion_tokens
        self.result = self._check(tail.raw, usage, tail.start_token)

    def _check(self, raw: str, usage: Usage, answer_start: int | None) -> tuple[Composed, tuple[float, dict] | None]:
        draft = parse_draft(raw)
        verified = verify(draft.quotes, self.groups)
        if not verified and draft.answer and not draft.none:
            cited = cited_numbers(draft.answer)
            verified = answer_as_quote(draft.answer, self.question, self.groups, cited[0] if cited else 1)
        composed = compose(draft, verified, self.passages)
        if composed.abstained:
            return composed, None
        split = (answer_start or len(usage.logprobs)) - 1
        features = signals(self.question, self.groups, draft, verified, composed.text,
                           usage.logprobs[:split], usage.logprobs[split:], self.retrieval)
        calibration = self.assistant.calibration
        confidence = calibration.probability(features)
        # A date the articles don't give came from the model's memory, however sure it sounds.
        if confidence < calibration.threshold or features["unsupported_dates"]:
            refused = abstention()
            refused.refused = composed.text
            return refused, (confidence, features)
        return composed, (confidence, features)
