"""Incremental ingest: read, clean, chunk and embed new or changed articles into the next index generation."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from rag.chunking import chunk_document, embedding_text
from rag.config import Config
from rag.documents import to_document
from rag.embedder import Embedder
from rag.errors import UnsupportedFileError
from rag.index import IndexWriter
from rag.readers import iter_files, read_file
from rag.types import Chunk, Document

_EMBED_BATCH = 128  # chunks embedded per call: large enough to amortise the model call, small in memory


@dataclass
class IngestReport:
    """What an ingest did, for the summary line and for tests."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    seconds: float = 0.0

    @property
    def nothing_ingested(self) -> bool:
        return bool(self.failed) and self.added + self.updated + self.unchanged == 0

    def summary(self) -> str:
        return (f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, {self.removed} removed, "
                f"{len(self.failed)} failed; {self.chunks} chunks embedded in {self.seconds:.1f} s")


def ingest(paths: list[str | Path], config: Config, embedder: Embedder, prune: bool = False,
           on_file: Callable[[Path], None] | None = None, total: Callable[[int], None] | None = None) -> IngestReport:
    """Bring the index at config.index_dir up to date with the articles under `paths`."""
    started = time.perf_counter()
    report = IngestReport()
    files = list(iter_files(paths))
    if total:
        total(len(files))
    writer = IndexWriter(config.index_dir, embedder.name, embedder.dim, config.chunk_tokens, config.overlap)
    try:
        known = writer.content_hashes()
        pending: list[tuple[Document, list[Chunk]]] = []
        seen: set[str] = set()

        def flush() -> None:
            texts = [embedding_text(doc, c) for doc, chunks in pending for c in chunks]
            vectors = embedder.embed(texts)
            offset = 0
            for doc, chunks in pending:
                writer.upsert(doc, chunks, vectors[offset:offset + len(chunks)])
                offset += len(chunks)
                report.chunks += len(chunks)
            pending.clear()

        for path in files:
            if on_file:
                on_file(path)
            try:
                raws = read_file(path)
            except UnsupportedFileError as exc:
                report.failed.append((str(path), str(exc)))
                continue
            for raw in raws:
                try:
                    doc = to_document(raw)
                except UnsupportedFileError as exc:
                    report.failed.append((raw.source, str(exc)))
                    continue
                if doc.doc_id in seen:
                    continue  # the same article twice in one ingest (e.g. a repeated URL): keep the first
                seen.add(doc.doc_id)
                if known.get(doc.doc_id) == doc.content_hash:
                    report.unchanged += 1
                    continue
                if doc.doc_id in known:
                    report.updated += 1
                else:
                    report.added += 1
                pending.append((doc, chunk_document(doc, config.chunk_tokens, config.overlap)))
                if sum(len(c) for _, c in pending) >= _EMBED_BATCH:
                    flush()
        if pending:
            flush()
        if prune:
            for doc_id, source in writer.sources().items():
                if doc_id not in seen and not Path(source.split("#")[0]).exists():
                    writer.delete(doc_id)
                    report.removed += 1
        if writer.changed:
            writer.commit()
        else:
            writer.abort()
    except BaseException:
        writer.abort()  # the live generation is untouched; only the staging folder goes
        raise
    report.seconds = time.perf_counter() - started
    return report
