"""The question-answering path shared by the CLI, the chat UI and the evaluation: retrieve, prompt, generate, cite."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Callable

from rag.citations import ABSTENTION, cited_numbers, is_abstention, resolve
from rag.config import Config
from rag.embedder import Embedder, SentenceTransformerEmbedder
from rag.errors import RagError
from rag.generator import Generator, LlamaCppGenerator, Usage
from rag.grounding import repair_citations, support
from rag.models import llm_path
from rag.prompting import Templates, build_messages
from rag.retrieve import Filters, Retriever
from rag.store import Store, open_store
from rag.types import Answer, Timings


def load_generator(config: Config) -> Generator:
    """The configured LLM, assembled from its packages on first use and loaded once."""
    return LlamaCppGenerator(config.model, llm_path(config.model, config.cache_dir), config.n_ctx, config.threads,
                             Path(config.cache_dir))


class Assistant:
    """Holds the index, embedder and model for many questions; each piece loads the first time it is needed."""

    def __init__(self, config: Config, index: Store | None = None, embedder: Embedder | None = None,
                 generator: Generator | None = None):
        self.config = config
        self._index, self._embedder, self._generator = index, embedder, generator
        self._loading: Future | None = None
        self.templates = Templates.load(config.prompts_dir)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = SentenceTransformerEmbedder(self.config.embedder)
        return self._embedder

    @property
    def index(self) -> Store:
        if self._index is None:
            self._index = open_store(self.config.index_dir, self.embedder.name)
        return self._index

    def start_loading_generator(self) -> None:
        """Load the LLM in the background: llama.cpp reads the model file while torch imports and we retrieve."""
        if self._generator is None and self._loading is None:
            self._loading = ThreadPoolExecutor(max_workers=1).submit(load_generator, self.config)

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

    def ask(self, question: str, filters: Filters | None = None, on_token: Callable[[str], None] | None = None,
            **overrides) -> Answer:
        """Answer one question; `overrides` change Config fields (k, context_tokens, ...) for this call only."""
        if not question.strip():
            raise RagError("The question is empty: ask something, e.g. rag ask \"Who denied the intelligence sharing?\"")
        config = replace(self.config, **overrides) if overrides else self.config
        started = time.perf_counter()
        retriever = self.retriever(config)  # opens the index: no model loads when there is none
        self.start_loading_generator()
        hits = retriever.search(question, config.k, filters)
        timings = Timings(retrieve_ms=(time.perf_counter() - started) * 1000)
        generator = self.generator
        messages, passages = build_messages(self.templates, question, hits, generator.count_tokens,
                                            config.context_tokens)
        if not passages:
            # Nothing to read: saying so is the honest answer, and costs no model time.
            text = ABSTENTION
            if on_token:
                on_token(text)
        else:
            usage = Usage()
            pieces = []
            for piece in generator.stream(messages, config.max_answer_tokens, config.temperature, usage):
                if timings.first_token_ms is None:
                    timings.first_token_ms = (time.perf_counter() - started) * 1000
                pieces.append(piece)
                if on_token:
                    on_token(piece)
            text = "".join(pieces).strip()
            timings.prompt_tokens, timings.completion_tokens = usage.prompt_tokens, usage.completion_tokens
            if text and not is_abstention(text) and support(text, question, passages) < config.min_support:
                # The model answered with words the passages don't contain: most likely its own knowledge.
                text = ABSTENTION
        text, citations, dangling = resolve(text, passages)
        abstained = not text or is_abstention(text)
        if not abstained:
            text = repair_citations(text, passages)
            citations = [p for p in passages if p.n in cited_numbers(text)]
        timings.total_ms = (time.perf_counter() - started) * 1000
        return Answer(question=question, text=text or ABSTENTION, abstained=abstained,
                      citations=[] if abstained else citations, passages=passages, timings=timings,
                      model=generator.name, embedder=self.embedder.name, dangling=dangling)
