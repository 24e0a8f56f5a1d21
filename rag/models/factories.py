"""One factory per backend: the embedder and the LLM a Config names; fakes and new backends register here."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from rag.config import Config
from rag.models.embedder import Embedder
from rag.models.generator import Generator

EmbedderFactory = Callable[[Config], Embedder]
GeneratorFactory = Callable[[Config], Generator]

_EMBEDDERS: dict[str, EmbedderFactory] = {}
_GENERATORS: dict[str, GeneratorFactory] = {}


def register_embedder(name: str, factory: EmbedderFactory) -> None:
    """Make `make_embedder` build `name` with `factory` (tests register fakes this way)."""
    _EMBEDDERS[name] = factory


def register_generator(name: str, factory: GeneratorFactory) -> None:
    """Make `make_generator` build model `name` with `factory`."""
    _GENERATORS[name] = factory


def unregister(name: str) -> None:
    _EMBEDDERS.pop(name, None)
    _GENERATORS.pop(name, None)


def make_embedder(config: Config) -> Embedder:
    """The embedder named by config.embedder: a registered one, else a sentence-transformers model."""
    if config.embedder in _EMBEDDERS:
        return _EMBEDDERS[config.embedder](config)
    from rag.models.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(config.embedder)


def make_generator(config: Config) -> Generator:
    """The LLM named by config.model: a registered one, else a GGUF through llama.cpp (assembled on first use)."""
    if config.model in _GENERATORS:
        return _GENERATORS[config.model](config)
    from rag.models.generator import LlamaCppGenerator
    from rag.models.llama_probe import ensure_llama_runs
    from rag.models.registry import llm_path

    path = llm_path(config.model, config.cache_dir)
    # A llama.cpp built with instructions this CPU cannot run would kill the process on the first prompt: a
    # child process tries it first (once per build, model and CPU) so that it becomes a message instead.
    ensure_llama_runs(path, Path(config.cache_dir))
    return LlamaCppGenerator(config.model, path, config.n_ctx, config.threads, Path(config.cache_dir),
                             draft_tokens=config.draft_tokens)


def known_model(name: str) -> bool:
    """Whether `name` is a model this installation can build: registered, in the registry, or a GGUF file."""
    from rag.models.registry import LLMS

    return name in _GENERATORS or name in LLMS or Path(name).expanduser().is_file()
