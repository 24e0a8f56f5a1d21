"""`rag ingest --ray`: the single-process ingest's stages run as a Ray Data pipeline, written to PostgreSQL."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import threading
import time
from functools import partial
from pathlib import Path
from typing import Callable, Iterator

from rag.config import Config
from rag.errors import IngestError
from rag.ingest.fetch import is_web
from rag.ingest.pipeline import IngestReport, Run, SourceTally, finish, local_files
from rag.ingest.ray_stages import EmbeddingWorker, Listed, chunk_rows, embedded, file_rows, listed, read_rows
from rag.models.embedder import Embedder
from rag.store.factory import open_writer
from rag.store.locations import scheme_of

# How the work is shared out, and why the writing is not:
#   Ray tasks:   list -> read, clean, metadata (read_rows) -> [driver: dedupe] -> chunk (chunk_rows)
#   actor pool:  embed (EmbeddingWorker, one model per worker)
#   driver:      write, in batched transactions, through the same PostgresWriter as the plain ingest.
# One writer, in the driver: the index allows one writer at a time (the advisory lock is held by the writer's
# connection), the deduplicator's verdicts depend on every document met before (one ordered pass), and a
# transaction per batch keeps every article old or new when the job is killed. Embedding is the slow stage on one
# machine; where the one writer starts to limit a cluster is yet to be measured (issue 23).


def check_ray_target(paths: list[str | Path], config: Config) -> None:
    """Refuse what the Ray ingest cannot do before any cluster starts: the folder store, feed and page URLs."""
    if scheme_of(config.index_dir) not in ("postgresql", "postgres"):
        raise IngestError(f"`rag ingest --ray` writes to PostgreSQL, not to the index folder {config.index_dir}: "
                          "the folder store is one machine's files. Start a server with `rag db start` and give "
                          "its URL with --index postgresql://…, or ingest without --ray.")
    urls = [str(p) for p in paths if is_web(p)]
    if urls:
        raise IngestError(f"`rag ingest --ray` reads files and folders, not feed or page URLs ({urls[0]}): "
                          "ingest those without --ray (or with `rag sync`).")


@contextlib.contextmanager
def ray_session(address: str) -> Iterator[None]:
    """Connect to the Ray cluster at `address`, or start a local one on this machine's cores; a Ray the caller
    already started (a test, a notebook) is used as it is and left running."""
    try:
        import ray
        from ray.data import DataContext
    except ImportError as exc:
        raise IngestError(f"`rag ingest --ray` needs Ray ({exc}): pip install -e '.[ray]'.") from exc

    context = DataContext.get_current()
    context.enable_progress_bars = False  # the ingest shows its own bar, over documents
    context.execution_options.preserve_order = True  # the deduplicator needs the files in the order given
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    if ray.is_initialized():
        yield
        return
    with _signal_handlers_kept():
        if address:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        else:
            ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False,
                     logging_level=logging.WARNING, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


@contextlib.contextmanager
def _signal_handlers_kept() -> Iterator[None]:
    """Ray's core installs its own SIGINT/SIGTERM handlers (SIGTERM ends the process on the spot): put the caller's
    back, so that an interrupted ingest still stops cleanly (the batch in flight rolled back, the message shown)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    kept = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in kept.items():
            if handler is not None:
                signal.signal(sig, handler)


def pool_size(workers: int, cpus: float, gpus: float = 0.0, gpus_per_worker: float = 0.0) -> int:
    """The embedding workers for a cluster of `cpus` CPUs and `gpus` GPUs (workers 0: as many as fit); each takes a
    whole CPU and `gpus_per_worker` GPUs, so more than the cluster has would wait for resources that never come."""
    if gpus_per_worker and not gpus:
        raise IngestError(f"--gpus-per-worker {gpus_per_worker:g}, but the Ray cluster has no GPUs: leave it out to "
                          "embed on CPUs, or add GPU machines to the cluster.")
    fit = int(min(cpus, gpus / gpus_per_worker if gpus_per_worker else cpus))
    if workers > fit:
        have = f"{cpus:g} CPUs" + (f" and {gpus:g} GPUs ({gpus_per_worker:g} a worker)" if gpus_per_worker else "")
        raise IngestError(f"--workers {workers}, but the Ray cluster has {have} and each worker takes one CPU: "
                          f"give --workers {max(1, fit)} or fewer (or add machines to the cluster).")
    return workers or max(1, fit)


class _RayBatches:
    """Takes the deduplicator's chosen documents (added or updated); at flush, chunks and embeds them on the
    cluster and writes them as they come back."""

    def __init__(self, documents, writer, make_embedder: Callable[[], Embedder], workers: int, config: Config,
                 report: IngestReport, on_doc: Callable[[str], None] | None, total: Callable[[int], None] | None):
        self.documents, self.writer, self.make_embedder, self.workers = documents, writer, make_embedder, workers
        self.config, self.report, self.on_doc, self.total = config, report, on_doc, total
        self.chosen: dict[str, tuple[Listed, str]] = {}  # row key -> (document, added or updated)

    def add(self, doc: Listed, kind: str) -> None:
        self.chosen[doc.key] = (doc, kind)

    def flush(self) -> None:
        if not self.chosen:
            return
        from ray.data import ActorPoolStrategy

        if self.total:
            self.total(len(self.chosen))
        # Chunked to the end before the embedding starts: the actor pool holds every CPU it asks for, and chunking
        # tasks queued behind it would never run (measured: a hang on two cores).
        chunked = self.documents.flat_map(partial(chunk_rows, config=self.config, keys=frozenset(self.chosen)))
        # A block per `ray_batch_size` documents (each block some batches of their chunks): an actor embeds a
        # whole block, so one JSONL file (one block as read) would keep every worker but one idle (measured: 2
        # workers no faster than 1).
        blocks = max(1, -(-len(self.chosen) // self.config.ray_batch_size))
        chunked = chunked.materialize().repartition(blocks).materialize()
        gpus = {"num_gpus": self.config.ray_gpus_per_worker} if self.config.ray_gpus_per_worker else {}
        vectors = chunked.map_batches(EmbeddingWorker, fn_constructor_args=(self.make_embedder,), num_cpus=1, **gpus,
                                      compute=ActorPoolStrategy(size=self.workers),
                                      batch_size=self.config.ray_batch_size, batch_format="numpy")
        for batch in vectors.iter_batches(batch_size=self.config.ray_batch_size, batch_format="numpy"):
            self._write(batch)
        self.chosen.clear()

    def _write(self, batch: dict) -> None:
        """One transaction for the batch's documents; a refused one (too many chunks) is reported instead."""
        items = []
        for key, refused, item, vectors in zip(batch["key"], batch["refused"], batch["item"], batch["vectors"]):
            doc, kind = self.chosen[key]
            if refused:
                self.report.failed.append((doc.source, refused))
                continue
            setattr(self.report, kind, getattr(self.report, kind) + 1)
            counted = SourceTally(added=1) if kind == "added" else SourceTally(updated=1)
            self.report.sources[doc.given] = self.report.sources.get(doc.given, SourceTally()) + counted
            items.append(embedded(item, vectors))
        self.writer.upsert_many(items)
        for doc, chunks, _ in items:
            self.report.chunks += len(chunks)
            if self.on_doc:
                self.on_doc(doc.source)


def _judge(documents, run: Run, givens: list[str]) -> None:
    """Every document row through the deduplicator, in the order the files were given; failures reported."""
    report = run.report
    for given in givens:
        report.sources.setdefault(given, SourceTally())
    columns = ["key", "given", "doc_id", "content_hash", "source", "failed"]
    current, before = None, report.tally()
    for row in documents.select_columns(columns).iter_rows():
        if row["given"] != current:
            if current is not None:
                report.count(current, before)
            current, before = row["given"], report.tally()
        if row["failed"]:
            report.failed.append((row["source"], row["failed"]))
        else:
            run.take(listed(row), row["given"])
    if current is not None:
        report.count(current, before)


_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception)\b.*:")


def _root_cause(exc: BaseException) -> str:
    """The error a stage raised, as one line. Ray hands it back as text inside its own (a traceback, then
    "The above exception was the direct cause of..."): the first `SomeError: message` line is the stage's."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    raised = [line for line in lines if _ERROR_LINE.match(line)]
    return (raised or lines or [type(exc).__name__])[0].rstrip(".")


def _on_ray(files: dict[str, list[Path]], givens: list[str], writer, report: IngestReport, config: Config,
            make_embedder: Callable[[], Embedder], prune: bool, on_doc, total) -> None:
    """Read the files on the cluster, deduplicate here, then chunk, embed and write (finish() flushes)."""
    import ray
    import ray.data
    from ray.exceptions import RayError

    resources = ray.cluster_resources()
    workers = pool_size(config.ray_workers, resources.get("CPU", 0), resources.get("GPU", 0),
                        config.ray_gpus_per_worker)
    try:
        # A block per file, up to 1000: a small corpus spreads over every core, a big one without a block (an
        # object in Ray's store) per file.
        rows = file_rows(files)
        read = ray.data.from_items(rows, override_num_blocks=min(max(1, len(rows)), 1000))
        documents = read.flat_map(partial(read_rows, config=config)).materialize()
        batches = _RayBatches(documents, writer, make_embedder, workers, config, report, on_doc, total)
        run = Run(writer, batches, report)
        _judge(documents, run, givens)
        finish(run, prune)  # the waiting documents, then flush: chunk, embed, write; then prune, commit
    except RayError as exc:
        raise IngestError(f"The Ray ingest stopped: {_root_cause(exc)}. Every article written so far is whole "
                          "in the index; run the same command again to finish.") from exc


def ray_ingest(paths: list[str | Path], config: Config, make_embedder: Callable[[], Embedder], prune: bool = False,
               on_doc: Callable[[str], None] | None = None, total: Callable[[int], None] | None = None,
               on_wait: Callable[[], None] | None = None) -> IngestReport:
    """What `ingest()` does, on the Ray cluster at config.ray_address (or a local one): the same index, id for id.
    `make_embedder` is called once in each embedding worker (and once here, for the index's name and size)."""
    check_ray_target(paths, config)
    started = time.perf_counter()
    report = IngestReport()
    files = local_files(paths, report)
    embedder = make_embedder()  # its name and dimension; the model itself loads in the workers
    # The writer first: another ingest at work is found (or waited for) before a cluster is started.
    writer = open_writer(config.index_dir, embedder.name, embedder.dim, config.chunk_tokens, config.overlap,
                         on_wait=on_wait, cache_dir=config.cache_dir)
    try:
        with ray_session(config.ray_address):
            _on_ray(files, list(dict.fromkeys(str(p) for p in paths)), writer, report, config, make_embedder, prune,
                    on_doc, total)
    except BaseException:
        writer.abort()  # every document written so far is whole; the one batch in flight was rolled back
        raise
    report.seconds = time.perf_counter() - started
    return report
