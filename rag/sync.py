"""Keeping the index fresh: `rag sync` ingests the configured sources, and a server syncs them in the background.

A background sync must not slow answers down. On two cores, llama.cpp writing an answer while torch embeds in
the same process's neighbourhood slows to a fraction of its speed: its threads meet at a barrier after every
layer, so one thread that loses its core for a few milliseconds stalls them all. So the background sync runs
in a child process at the lowest CPU priority (nice 19) with one torch thread, and embeds a few chunks at a
time, waiting before each batch while an answer is being written (the chat service raises `Busy` for the
length of every answer). Fetching and the final commit are not paused; they are short next to embedding.
The server picks the new generation up at its next request (rag.index_watch), leaving answers in flight on
the generation they started with.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from rag.config import Config, every_seconds
from rag.errors import ConfigError, RagError

log = logging.getLogger(__name__)

_PAUSED_BATCH = 8  # chunks embedded between two looks at the gate: ~0.2 s of one core for MiniLM
_POLL_S = 0.05


def source_inputs(config: Config) -> list[str | Path]:
    """The configured sources as ingest inputs: URLs as given, paths with ~ expanded."""
    from rag.ingest.fetch import is_web

    if not config.sources:
        raise ConfigError("No sources to sync: list them in rag.toml, e.g. sources = [\"~/news/\", "
                          "\"https://example.org/rss\"] (or RAG_SOURCES).", settings=("sources",))
    return [s if is_web(s) else Path(s).expanduser() for s in config.sources]


class Busy:
    """Whether an answer is being written right now; a background sync waits while it is."""

    def __init__(self):
        self._count = 0
        self._lock = threading.Lock()
        self._event = None  # a multiprocessing Event, made when a background sync needs to see it

    def shared_event(self):
        with self._lock:
            if self._event is None:
                self._event = multiprocessing.get_context("spawn").Event()
                if self._count:
                    self._event.set()
            return self._event

    @property
    def active(self) -> bool:
        return self._count > 0

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        with self._lock:
            self._count += 1
            if self._event is not None:
                self._event.set()
        try:
            yield
        finally:
            with self._lock:
                self._count -= 1
                if self._count == 0 and self._event is not None:
                    self._event.clear()


class PausingEmbedder:
    """An embedder that embeds a few texts at a time and waits before each batch while `paused` is set."""

    def __init__(self, embedder, paused, batch: int = _PAUSED_BATCH):
        self.embedder, self.paused, self.batch = embedder, paused, batch
        self.name, self.waited = embedder.name, 0.0

    @property
    def dim(self) -> int:
        return self.embedder.dim

    def embed(self, texts: list[str]) -> np.ndarray:
        parts = []
        for start in range(0, len(texts), self.batch):
            began = time.monotonic()
            while self.paused.is_set():
                time.sleep(_POLL_S)
            self.waited += time.monotonic() - began
            parts.append(self.embedder.embed(texts[start:start + self.batch]))
        return np.concatenate(parts) if parts else self.embedder.embed([])


@dataclass(frozen=True)
class SyncResult:
    """What one sync did: a line per source, the skipped pages and files, the summary; or why it failed."""

    lines: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    summary: str = ""
    changed: bool = False
    error: str | None = None
    paused_s: float = 0.0


def sync_once(config: Config, embedder, prune: bool = False, on_wait: Callable[[], None] | None = None):
    """Ingest every configured source into the index; the IngestReport (its `sources` give a line each)."""
    from rag.ingest.pipeline import ingest

    return ingest(source_inputs(config), config, embedder, prune=prune, on_wait=on_wait)


def _result(report, paused_s: float = 0.0) -> SyncResult:
    lines = tuple(f"{source}: {tally.summary()}" for source, tally in report.sources.items())
    return SyncResult(lines, tuple(report.failed), report.summary(),
                      report.added + report.updated + report.removed > 0, paused_s=paused_s)


def _child(config: Config, make_embedder, paused, conn) -> None:
    """The background sync's process: lowest priority, one torch thread, embedding paused during answers."""
    def stop(signum, frame):
        raise SystemExit(128 + signum)  # the ingest aborts its staging folder on the way out

    signal.signal(signal.SIGTERM, stop)
    os.nice(19)
    # One thread for torch, read when (and only if) something new needs embedding and torch is imported.
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"
    try:
        embedder = PausingEmbedder(make_embedder(config), paused)
        conn.send(_result(sync_once(config, embedder), embedder.waited))
    except RagError as exc:
        conn.send(SyncResult(error=str(exc)))
    except Exception as exc:  # noqa: BLE001 - reported to the server's log, the next sync tries again
        conn.send(SyncResult(error=f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _default_embedder(config: Config):
    from rag.models.factories import make_embedder

    return make_embedder(config)


@dataclass
class BackgroundSync:
    """Syncs the configured sources every `config.sync_every`, each time in a fresh child process.

    `make_embedder` must be picklable (a module-level function or class): the child imports it anew.
    """

    config: Config
    busy: Busy
    on_result: Callable[[SyncResult], None] = lambda result: None
    make_embedder: Callable = _default_embedder
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _process: multiprocessing.Process | None = None

    @property
    def every(self) -> float:
        return every_seconds(self.config.sync_every)

    def start(self) -> BackgroundSync:
        source_inputs(self.config)  # no sources: say so now, not in half an hour
        self._thread = threading.Thread(target=self._loop, name="rag-sync", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                result = self.run_once()
            except Exception as exc:  # noqa: BLE001 - a sync that cannot start is reported; the next one tries
                result = SyncResult(error=f"the sync could not run: {exc}")
            if not self._stop.is_set():
                self.on_result(result)
            self._stop.wait(self.every)

    def run_once(self) -> SyncResult:
        """One sync in a child process; waits for it (the server goes on answering meanwhile)."""
        context = multiprocessing.get_context("spawn")
        receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_child, name="rag-sync-child", daemon=True,
                                        args=(self.config, self.make_embedder, self.busy.shared_event(), send))
        self._process.start()
        send.close()
        try:
            result = receive.recv()
        except EOFError:
            result = SyncResult(error=f"the sync process ended with exit code {self._process.exitcode}")
        self._process.join()
        return result

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        process = self._process
        if process is not None and process.is_alive():
            process.terminate()  # SIGTERM: its ingest removes the staging folder; the index stays whole
            process.join(timeout)
        if self._thread is not None:
            self._thread.join(timeout)


def log_result(result: SyncResult) -> None:
    """How a server reports a background sync: one log line per source."""
    if result.error:
        log.warning("sync failed: %s", result.error)
        return
    for line in result.lines:
        log.info("sync %s", line)
    for source, reason in result.skipped:
        log.info("sync skipped %s: %s", source, reason)
    log.info("sync done: %s (embedding paused %.1f s for answers)", result.summary, result.paused_s)


def start_sync(config: Config, service, on_result: Callable | None = None):
    """The background sync of `service`'s index when config.sync_every is set (else None), already running."""
    if not config.sync_every:
        return None
    return BackgroundSync(config, service.busy, on_result or log_result).start()
