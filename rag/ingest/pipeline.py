"""Incremental ingest: read, clean, chunk and embed new or changed articles into the next index generation."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from rag.config import Config
from rag.errors import UnsupportedFileError
from rag.ingest.chunking import chunk_document, chunks_at_least, embedding_text
from rag.ingest.dedupe import Deduplicator, Verdict, source_exists
from rag.ingest.documents import to_document
from rag.ingest.fetch import Fetcher, is_web
from rag.ingest.readers import iter_files, read_file
from rag.models.embedder import Embedder
from rag.store.base import StoreWriter
from rag.store.factory import open_writer
from rag.types import Chunk, Document

_EMBED_BATCH = 128  # chunks embedded per call: large enough to amortise the model call, small in memory


@dataclass(frozen=True)
class SourceTally:
    """What an ingest did with one of the paths or URLs it was given (`rag sync` prints one line each)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    failed: int = 0

    def __add__(self, other: SourceTally) -> SourceTally:
        return SourceTally(*(a + b for a, b in zip(_fields(self), _fields(other))))

    def __sub__(self, other: SourceTally) -> SourceTally:
        return SourceTally(*(a - b for a, b in zip(_fields(self), _fields(other))))

    def summary(self) -> str:
        return (f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, {self.duplicates} "
                f"duplicates, {self.failed} failed")


def _fields(tally: SourceTally) -> tuple[int, ...]:
    return tally.added, tally.updated, tally.unchanged, tally.duplicates, tally.failed


@dataclass
class IngestReport:
    """What an ingest did, for the summary line and for tests."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file or URL, reason)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (source, source of the copy kept)
    seconds: float = 0.0
    sources: dict[str, SourceTally] = field(default_factory=dict)  # per path or URL given, in the order given
    requests: int = 0  # HTTP requests made for URLs

    def tally(self) -> SourceTally:
        return SourceTally(self.added, self.updated, self.unchanged, len(self.duplicates), len(self.failed))

    def count(self, source: str, since: SourceTally) -> None:
        """Add what happened since the tally `since` to the source's line."""
        self.sources[source] = self.sources.get(source, SourceTally()) + (self.tally() - since)

    @property
    def nothing_ingested(self) -> bool:
        return bool(self.failed) and self.added + self.updated + self.unchanged + len(self.duplicates) == 0

    def summary(self) -> str:
        return (f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, {self.removed} removed, "
                f"{len(self.duplicates)} duplicates, {len(self.failed)} failed; {self.chunks} chunks embedded in "
                f"{self.seconds:.1f} s")


def read_documents(path: Path, config: Config, failed: list[tuple[str, str]]) -> Iterator[Document]:
    """The documents in one file; what cannot be read, or is too large to chunk, goes to `failed` with its reason."""
    try:
        raws = read_file(path, int(config.max_file_mb * 1e6), failed)
    except UnsupportedFileError as exc:
        failed.append((str(path), str(exc)))
        return
    yield from _cleaned(raws, config, failed)


def _cleaned(raws, config: Config, failed: list[tuple[str, str]]) -> Iterator[Document]:
    """Raw articles as Documents; one too long to chunk, or with too little text, goes to `failed`."""
    for raw in raws:
        # Before cleaning: a monster is refused in milliseconds, not after minutes of regexes.
        at_least = chunks_at_least(raw.text, config.chunk_tokens, config.overlap)
        if at_least > config.max_chunks:
            failed.append((raw.source, _too_many_chunks(f"at least {at_least}", config)))
            continue
        try:
            yield to_document(raw)
        except UnsupportedFileError as exc:
            failed.append((raw.source, str(exc)))


def _too_many_chunks(count: str, config: Config) -> str:
    return (f"too long: {count} chunks of {config.chunk_tokens} tokens, over the limit of {config.max_chunks} "
            "per document (raise max_chunks to index it)")


def chunks_or_refusal(doc: Document, config: Config) -> list[Chunk] | str:
    """The document's chunks, or why it is not indexed (more chunks than max_chunks)."""
    chunks = chunk_document(doc, config.chunk_tokens, config.overlap)
    return _too_many_chunks(str(len(chunks)), config) if len(chunks) > config.max_chunks else chunks


def embed_chunks(embedder: Embedder, pending: list[tuple[Document, list[Chunk]]]) -> list[np.ndarray]:
    """The vectors of each document's chunks (one array per document), embedded in one call."""
    texts = [embedding_text(doc, c) for doc, chunks in pending for c in chunks]
    vectors = embedder.embed(texts) if texts else np.zeros((0, embedder.dim), dtype=np.float32)
    offsets = np.cumsum([0] + [len(chunks) for _, chunks in pending])
    return [vectors[start:end] for start, end in zip(offsets[:-1], offsets[1:])]


class _Batches:
    """Chunks of new and changed documents, embedded and written _EMBED_BATCH at a time."""

    def __init__(self, writer: StoreWriter, embedder: Embedder, config: Config, report: IngestReport):
        self.writer, self.embedder, self.config, self.report = writer, embedder, config, report
        self.pending: list[tuple[Document, list[Chunk]]] = []

    def add(self, doc: Document, kind: str) -> None:
        """Queue the document's chunks and count it as `kind` (added or updated); one with too many is refused."""
        chunks = chunks_or_refusal(doc, self.config)
        if isinstance(chunks, str):
            self.report.failed.append((doc.source, chunks))
            return
        setattr(self.report, kind, getattr(self.report, kind) + 1)
        self.pending.append((doc, chunks))
        if sum(len(c) for _, c in self.pending) >= _EMBED_BATCH:
            self.flush()

    def flush(self) -> None:
        for (doc, chunks), vectors in zip(self.pending, embed_chunks(self.embedder, self.pending)):
            self.writer.upsert(doc, chunks, vectors)
            self.report.chunks += len(chunks)
        self.pending.clear()


def _place(doc: Document, verdict: Verdict, batches, writer: StoreWriter, report: IngestReport) -> None:
    """Carry out the deduplicator's verdict on one document (`batches` embeds and counts the new and changed)."""
    if verdict.kind == "duplicate":
        report.duplicates.append((doc.source, verdict.first))
        if verdict.stale:  # its id held other content, now kept under the first copy's id
            writer.delete(doc.doc_id)
            report.removed += 1
    elif verdict.kind == "unchanged":
        report.unchanged += 1
    else:
        batches.add(doc, verdict.kind)


def local_files(paths: list[str | Path], report: IngestReport) -> dict[str, list[Path]]:
    """The files under each local path given (a file reached through two paths counts for the first)."""
    met: set[Path] = set()
    found: dict[str, list[Path]] = {}
    for path in paths:
        if not is_web(path) and str(path) not in found:  # the same path given twice is read once
            found[str(path)] = list(iter_files([path], report.failed, met))
    return found


class Run:
    """One ingest's state between reading sources and committing: the writer, the verdicts, the batches (anything
    with add(doc, kind) and flush(): the Ray ingest embeds elsewhere)."""

    def __init__(self, writer: StoreWriter, batches, report: IngestReport):
        self.writer, self.batches, self.report = writer, batches, report
        self.dedupe = Deduplicator(writer.content_hashes(), writer.sources())
        self.waiting: list[tuple[Document, str]] = []  # content indexed under another id: decided at the end

    def take(self, doc: Document, source: str) -> None:
        verdict = self.dedupe.judge(doc)
        if verdict.kind == "later":
            self.waiting.append((doc, source))
        else:
            _place(doc, verdict, self.batches, self.writer, self.report)

    def finish(self) -> None:
        for doc, source in self.waiting:
            before = self.report.tally()
            _place(doc, self.dedupe.judge(doc, final=True), self.batches, self.writer, self.report)
            self.report.count(source, before)
        self.batches.flush()


def _read_web(url: str, run: Run, fetcher: Fetcher, config: Config) -> None:
    from rag.ingest.web import Known, read_url

    report = run.report
    try:
        for item in read_url(url, fetcher, set(run.dedupe.indexed_ids), report.failed):
            if isinstance(item, Known):
                if item.doc_id in run.dedupe.met:  # listed twice in the feed
                    report.duplicates.append((item.source, run.dedupe.met[item.doc_id]))
                else:
                    run.dedupe.keep_known(item.doc_id, item.source)
                    report.unchanged += 1
                continue
            for doc in _cleaned([item], config, report.failed):
                run.take(doc, url)
    except UnsupportedFileError as exc:
        report.failed.append((url, str(exc)))


def finish(run: Run, prune: bool) -> None:
    """After every source was read: the waiting documents, the last batch, the pruning, then commit (or, when
    nothing changed, leave the index as it was)."""
    run.finish()
    writer, report = run.writer, run.report
    if prune:
        for doc_id, source in writer.sources().items():
            if doc_id not in run.dedupe.met and not is_web(source) and not source_exists(source):
                writer.delete(doc_id)
                report.removed += 1
    if writer.changed:
        writer.commit()
    else:
        writer.abort()


def ingest(paths: list[str | Path], config: Config, embedder: Embedder, prune: bool = False,
           on_file: Callable[[Path], None] | None = None, total: Callable[[int], None] | None = None,
           on_wait: Callable[[], None] | None = None) -> IngestReport:
    """Bring the index at config.index_dir up to date with the articles under `paths` (files, folders, and
    feed or page URLs).

    Another ingest writing to the same index makes this fail, or with `on_wait`, wait for it after on_wait().
    """
    started = time.perf_counter()
    report = IngestReport()
    files = local_files(paths, report)
    if total:
        total(sum(map(len, files.values())))
    writer = open_writer(config.index_dir, embedder.name, embedder.dim, config.chunk_tokens, config.overlap,
                         on_wait=on_wait, cache_dir=config.cache_dir)
    fetcher = None
    try:
        run = Run(writer, _Batches(writer, embedder, config, report), report)
        for given in dict.fromkeys(str(p) for p in paths):  # each path or URL once, in the order given
            before = report.tally()
            if is_web(given):
                fetcher = fetcher or Fetcher(config.cache_dir, config.fetch_timeout, config.fetch_interval,
                                             int(config.max_file_mb * 1e6))
                _read_web(given, run, fetcher, config)
            for path in files.get(given, []):
                if on_file:
                    on_file(path)
                for doc in read_documents(path, config, report.failed):
                    run.take(doc, given)
            report.count(given, before)
        finish(run, prune)
    except BaseException:
        writer.abort()  # the live generation is untouched; only the staging folder goes
        raise
    finally:
        if fetcher is not None:
            report.requests = fetcher.requests
            fetcher.close()
    report.seconds = time.perf_counter() - started
    return report
