"""Indexes and models for an evaluation: build each chunking's index once (through `ingest`), load each model once."""

from __future__ import annotations

import gc
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from rag.config import Config
from rag.errors import RagError
from rag.evaluation.sweeps import INDEX_KEYS
from rag.files import sha256_file

OnFile = Callable[[int, int], None]  # (files read so far, files in all) while an index is built


def index_dir_name(config: Config) -> str:
    return f"index-ct{config.chunk_tokens}-ov{config.overlap}"


def build_index(paths: list[Path], config: Config, embedder: Any, *, prune: bool = True,
                on_file: OnFile | None = None, log: Callable[[str], None] | None = None) -> Any:
    """Bring the index at config.index_dir up to date with `paths` (incremental), as `rag ingest` does."""
    from rag.ingest.pipeline import ingest

    count = {"done": 0, "total": 0}

    def file_done(_path: Path) -> None:
        count["done"] += 1
        if on_file:
            on_file(count["done"], count["total"])

    report = ingest(list(paths), config, embedder, prune=prune, on_file=file_done,
                    total=lambda n: count.update(total=n))
    if log:
        log(f"{report.summary()} -> {config.index_dir}")
    if report.nothing_ingested:
        raise RagError(f"Nothing could be ingested from {', '.join(map(str, paths))}.")
    return report


def write_corpus_file(articles: list[Any], out_dir: Path, name: str = "corpus.jsonl") -> tuple[Path, str]:
    """OUT/<name> as JSONL (rewritten only when its content changes) and a fingerprint of it."""
    from rag.evaluation.realtimeqa import write_corpus

    path = out_dir / name
    staging = out_dir / f".{name}.tmp-{os.getpid()}"
    write_corpus(articles, staging)
    if path.is_file() and sha256_file(path) == sha256_file(staging):
        staging.unlink()
    else:
        os.replace(staging, path)
    return path, sha256_file(path)[:12]


class AssistantFactory:
    """Real Assistants for run_eval: one embedder for all, one model at a time, one index per chunking.

    With `corpus`, the index for a configuration is OUT/index-ct<chunk_tokens>-ov<overlap>[-<suffix>], built (or
    brought up to date) from the corpus the first time it is needed; without it, base.index_dir is used as is.
    Each Assistant is warmed up (index, embedder and model loaded) before it is returned, so no load time ends
    up in a question's latency.
    """

    def __init__(self, base: Config, out_dir: Path | None = None, corpus: list[Path] | None = None,
                 index_suffix: str = "", prune: bool = True, on_file: OnFile | None = None,
                 log: Callable[[str], None] | None = None, skip_ingest_if_built: bool = False):
        self.base, self.out_dir, self.corpus = base, out_dir, corpus
        self.index_suffix, self.prune, self.on_file, self.log = index_suffix, prune, on_file, log
        self.skip_ingest_if_built = skip_ingest_if_built
        self._embedder = None
        self._generator: tuple[str, Any] | None = None
        self._indexes: dict[str, Any] = {}
        self.built: dict[str, str] = {}

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from rag.models.factories import make_embedder

            self._embedder = make_embedder(self.base)
        return self._embedder

    def _build_embedder(self) -> Any:
        """The embedder for index builds: through the vector cache in out_dir, so no corpus is embedded twice."""
        if self.out_dir is None:
            return self.embedder
        from rag.evaluation.embed_cache import CachedEmbedder

        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.embedder.name)
        return CachedEmbedder(self.embedder, Path(self.out_dir) / f"embeddings-{safe}.sqlite")

    def config_for(self, build: dict[str, Any]) -> Config:
        config = replace(self.base, **build)
        if self.corpus is not None:
            if self.out_dir is None:
                raise ValueError("a corpus needs an out_dir for its index")
            name = index_dir_name(config) + (f"-{self.index_suffix}" if self.index_suffix else "")
            config = replace(config, index_dir=str(self.out_dir / name))
        return config

    def ensure_index(self, config: Config) -> None:
        """Build or update the index of this chunking from the corpus (once per run)."""
        from rag.store import index_exists

        if self.corpus is None or config.index_dir in self.built:
            return
        marker = Path(config.index_dir) / "EVAL_BUILT"
        if self.skip_ingest_if_built and marker.is_file() and index_exists(config.index_dir):
            if self.log:
                self.log(f"Reusing the index at {config.index_dir}")
        else:
            build_index(self.corpus, config, self._build_embedder(), prune=self.prune, on_file=self.on_file,
                        log=self.log)
            marker.write_text(json.dumps({"corpus": [str(p) for p in self.corpus], "embedder": config.embedder,
                                          "chunk_tokens": config.chunk_tokens, "overlap": config.overlap}) + "\n",
                              encoding="utf-8")
        self.built[config.index_dir] = config.index_dir

    def _generator_for(self, config: Config) -> Any:
        if self._generator is not None and self._generator[0] != config.model:
            self._generator = None
            gc.collect()  # let the previous model go before the next one loads
        if self._generator is None:
            from rag.models.factories import make_generator

            if self.log:
                self.log(f"Loading model {config.model}")
            self._generator = (config.model, make_generator(config))
        return self._generator[1]

    def __call__(self, build: dict[str, Any]) -> Any:
        from rag.answer.assistant import Assistant
        from rag.store import open_store

        config = self.config_for(build)
        self.ensure_index(config)
        generator = self._generator_for(config)
        if config.index_dir not in self._indexes:
            index = open_store(config.index_dir, self.embedder.name, cache_dir=config.cache_dir)
            index.warm_up()  # load it now, not in the first question
            self._indexes[config.index_dir] = index
        assistant = Assistant(config, index=self._indexes[config.index_dir], embedder=self.embedder,
                              generator=generator)
        assistant.embedder.embed(["warm up"])  # loads the embedder now rather than in the first question
        return assistant

    def prepare(self, configs: list[dict[str, Any]]) -> None:
        """Build every index the configurations need before any question is asked."""
        for settings in configs:
            self.ensure_index(self.config_for({k: v for k, v in settings.items() if k in INDEX_KEYS}))

    def built_indexes(self) -> list[str]:
        return list(self.built)
