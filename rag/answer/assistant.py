"""The question-answering path shared by the CLI, the chat UI, the server and the evaluation.

`Assistant` holds the index, embedder and model for many questions and runs each through the stages of
rag.answer.stages; `Assistant.stream` yields events (the evidence found, the answer's tokens, the checked
answer), `Assistant.ask` returns the checked answer.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from typing import Callable, Iterator

from rag.answer.calibrations import Chosen, choose
from rag.answer.citations import ABSTENTION
from rag.answer.confidence import Calibration
from rag.answer.evidence import Question
from rag.answer.prompting import Templates
from rag.answer.retrieve import Filters, Retriever
from rag.answer.stages import STAGES, Stage, prompt, retrieve, select
from rag.answer.state import AskState
from rag.config import Config
from rag.errors import RagError
from rag.models.embedder import Embedder
from rag.models.factories import make_embedder, make_generator
from rag.models.generator import Generator
from rag.models.identity import identity_of
from rag.store import Store, open_store
from rag.types import Answer, Done, Event, Token


class Assistant:
    """Holds the index, embedder and model for many questions; each piece loads the first time it is needed."""

    stages: tuple[Stage, ...] = STAGES

    def __init__(self, config: Config, index: Store | None = None, embedder: Embedder | None = None,
                 generator: Generator | None = None, calibration: Calibration | None = None):
        self.config = config
        self._index, self._embedder, self._generator = index, embedder, generator
        self._loading: Future | None = None
        self.templates = Templates.load(config.prompts_dir)
        if config.calibration:
            Calibration.load(config.calibration)  # a bad file is an error now, not at the first answer
        self._given = calibration  # fixed by the caller; else chosen for the model (rag.answer.calibrations)
        self._calibrations: dict[tuple[str, str], Chosen] = {}  # by (calibration file, model), loaded once each

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.config)
        return self._embedder

    @property
    def index(self) -> Store:
        if self._index is None:
            self._index = open_store(self.config.index_dir, self.embedder.name, cache_dir=self.config.cache_dir)
        return self._index

    def start_loading_generator(self) -> None:
        """Load the LLM in a background thread (rag.answer.stages.retrieve starts it beside or after the search)."""
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
                         config.bm25_weight, config.recent_days)

    @property
    def calibration(self) -> Calibration:
        """The calibration this Assistant's answers are scored with (loads the model to know which)."""
        return self.calibration_for(self.config).calibration

    def calibration_for(self, config: Config) -> Chosen:
        """The calibration in force for a call: the one given to the Assistant, unless the call names a file;
        else the model's own (rag.answer.calibrations.choose)."""
        if self._given is not None and config.calibration == self.config.calibration:
            return Chosen(self._given, True, "given")
        identity = identity_of(self.generator)
        key = (config.calibration, identity.key)
        if key not in self._calibrations:
            self._calibrations[key] = choose(identity, config.cache_dir, config.calibration)
        return self._calibrations[key]

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
        state = self.start(question, filters, asked_on, **overrides)
        for stage in self.stages:
            yield from stage(self, state)
        state.timings.total_ms = state.elapsed_ms()
        answer = self.finish(state)
        yield Done(answer, revised=answer.text.strip() != state.streamed.strip())

    def prompt_for(self, question: str, filters: Filters | None = None, asked_on: str | None = None,
               **overrides) -> tuple[list[dict], str | None]:
        """The messages and grammar the model would answer `question` with (benchmarks and tests of decoding)."""
        state = self.prepare(question, filters, asked_on, **overrides)
        return prompt(self.templates, state) if state.passages else ([], None)

    def prepare(self, question: str, filters: Filters | None = None, asked_on: str | None = None,
                **overrides) -> AskState:
        """The state a question reaches the model with: its evidence retrieved, selected and numbered."""
        state = self.start(question, filters, asked_on, **overrides)
        for stage in (retrieve, select):
            for _event in stage(self, state):
                pass  # these stages' events only announce what the state now holds
        return state

    def start(self, question: str, filters: Filters | None = None, asked_on: str | None = None,
              **overrides) -> AskState:
        """The state a question enters the stages with: its settings, filters, calibration and parsed form."""
        if not question.strip():
            raise RagError("The question is empty: ask something, "
                           "e.g. rag ask \"Who denied the intelligence sharing?\"")
        config = replace(self.config, **overrides) if overrides else self.config
        asked_on = asked_on or (filters.asked_on if filters and filters.asked_on else date.today().isoformat())
        return AskState(question=question, config=config, filters=replace(filters or Filters(), asked_on=asked_on),
                        parsed=Question.parse(question))

    def finish(self, state: AskState) -> Answer:
        """The Answer the stages made of a question."""
        composed = state.composed
        return Answer(question=state.question, text=composed.text or ABSTENTION, abstained=composed.abstained,
                      citations=composed.citations, passages=state.passages, timings=state.timings,
                      model=self.generator.name, embedder=self.embedder.name, dangling=composed.dangling,
                      evidence=composed.evidence, confidence=state.confidence, signals=state.signals,
                      refused=composed.refused, calibrated=state.calibrated, assembled=composed.assembled)
