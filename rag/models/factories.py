"""One factory per backend: the embedder and the LLM a Config names; fakes and new backends register here."""

from __future__ import annotations

import os
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

    return SentenceTransformerEmbedder(config.embedder, device=config.embedder_device)


def make_generator(config: Config) -> Generator:
    """The LLM named by config.model: a registered one, a model server (an http(s):// URL), else a GGUF through
    llama.cpp (assembled on first use)."""
    if config.model in _GENERATORS:
        return _GENERATORS[config.model](config)
    if is_model_url(config.model):
        from rag.models.remote import RemoteGenerator

        # The key only ever comes from the environment: a setting would end up in evaluation records.
        return RemoteGenerator(config.model, config.model_id, os.environ.get("RAG_LLM_API_KEY") or None,
                               config.model_timeout, config.model_server, cache_dir=config.cache_dir,
                               logprobs=config.model_logprobs)
    from rag.models.generator import LlamaCppGenerator
    from rag.models.identity import gguf_identity
    from rag.models.registry import LLMS, llm_path
    from rag.models.weights import weights_for

    shipped = llm_path(config.model, config.cache_dir)
    path = weights_for(config.llama_weights, shipped, Path(config.cache_dir))
    generator = LlamaCppGenerator(config.model, path, config.n_ctx, config.threads, Path(config.cache_dir),
                                  draft_tokens=config.draft_tokens, repack=checked_layout(config, path))
    # The model as shipped names it, a Q8_0 copy included (the same weights re-encoded): calibrations follow it.
    generator.identity = gguf_identity(config.model if config.model in LLMS else shipped.name, shipped,
                                       config.cache_dir, getattr(LLMS.get(config.model), "sha256", ""))
    return generator


def checked_layout(config: Config, path: Path) -> bool:
    """Whether the GGUF at `path` loads with its weights repacked here (rag.models.llama_layout), once llama.cpp
    is known to run it on this CPU."""
    from rag.models.llama_layout import repack_here
    from rag.models.llama_probe import ensure_llama_runs

    # A llama.cpp built with instructions this CPU cannot run would kill the process on the first prompt: a child
    # process tries it first (once per build, model and CPU) so that it becomes a message instead. It also times
    # both weights layouts, which llama_repack = "auto" chooses between.
    probe = ensure_llama_runs(path, Path(config.cache_dir))
    return repack_here(config.llama_repack, probe.detail)


def is_model_url(model: str) -> bool:
    """Whether a model setting names a model server (http:// or https://) rather than a local model."""
    return model.lower().startswith(("http://", "https://"))


def known_model(name: str) -> bool:
    """Whether `name` is a model this installation can use: registered, in the registry, a GGUF file, or a model
    server's URL (reached only when used)."""
    from rag.models.registry import LLMS

    return name in _GENERATORS or name in LLMS or is_model_url(name) or Path(name).expanduser().is_file()
