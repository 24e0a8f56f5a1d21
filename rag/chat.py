"""What the chat does, without Gradio: one shared model, streamed answers with follow-ups, and uploads.

One `ChatService` serves every browser tab and every `rag serve` request. It holds one Assistant (index,
embedder) and one model behind `SharedGenerator`, so two people asking at once queue on the model instead of
loading a second copy. Its answers are the pipeline's typed events (rag.types.Event) with Status, Rewrite and
Failed added for the chat.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator, Sequence

from rag.answer.assistant import Assistant
from rag.answer.followup import load_template, rewrite
from rag.answer.retrieve import Filters
from rag.config import Config
from rag.errors import IndexMissingError, RagError
from rag.files import sha256_file
from rag.index_watch import IndexWatch
from rag.ingest.pipeline import IngestReport, ingest
from rag.models.factories import is_model_url, make_embedder, make_generator
from rag.models.generator import Generator
from rag.models.registry import LLMS
from rag.models.shared import SharedGenerator
from rag.store import index_exists, is_url, open_store
from rag.store.factory import display_location
from rag.sync import Busy
from rag.timeline.build import MAX_ARTICLES, Timeline, build_timeline
from rag.types import Document, Event, Failed, Retrieved, Status

log = logging.getLogger(__name__)

UPLOADS = "uploads"  # inside the index folder: kept by `rag ingest --prune`, which only drops missing files


def model_installed(name: str) -> bool:
    """Whether a registry model's package is there, without importing or assembling anything."""
    return LLMS[name].installed()


def model_choices(current: str) -> list[tuple[str, str]]:
    """(label, value) for the model menu: the registry's LLMs, plus the configured one if it is a path."""
    choices = [(name if model_installed(name) else f"{name} (not installed)", name) for name in LLMS]
    if is_model_url(current):
        choices.append((f"{current} (model server)", current))
    elif current not in LLMS:
        choices.append((Path(current).name, current))
    return choices


@dataclass
class Upload:
    """An uploaded file: its name in the browser and where it was kept."""

    name: str
    path: Path
    duplicate: bool = False  # the same bytes were already in the uploads folder


def safe_name(name: str) -> str:
    """A file name without folders, odd characters or a leading dot (hidden files are skipped by ingest)."""
    stem = re.sub(r"[^\w.\-]+", "_", Path(name).name).lstrip("._")
    return stem or "upload"


class ChatService:
    """The app's one Assistant and model, shared by every session."""

    def __init__(self, config: Config, assistant: Assistant | None = None,
                 loader: Callable[[Config], Generator] = make_generator, embedder=None):
        self.config = config
        self.generator = SharedGenerator(config, loader)
        if assistant is None:
            assistant = Assistant(config, embedder=embedder or make_embedder(config), generator=self.generator)
        self.assistant = assistant
        self.rewrite_template = load_template(config.prompts_dir)
        self._ingest_lock = threading.Lock()
        self.watch = IndexWatch(self)  # a sync or `rag ingest` elsewhere: the next answer reads the new index
        self.busy = Busy()  # held while an answer is written: a background sync's embedding waits for it

    # -- the index ------------------------------------------------------------------------------------------

    @property
    def index_dir(self) -> Path:
        return Path(self.config.index_dir)

    @property
    def index_label(self) -> str:
        """The index as shown to people: a URL's password is hidden."""
        return display_location(self.config.index_dir)

    @property
    def uploads_dir(self) -> Path:
        if is_url(self.config.index_dir):  # a database index keeps its uploaded files in the cache folder
            return Path(self.config.cache_dir) / UPLOADS
        return self.index_dir / UPLOADS

    @property
    def uploads_allowed(self) -> bool:
        return self.config.ui_allow_uploads

    def has_index(self) -> bool:
        return index_exists(self.config.index_dir)

    def documents(self) -> list[Document]:
        if not self.has_index():
            return []
        try:
            return self.assistant.index.documents()
        except IndexMissingError:
            return []

    def outlets(self) -> list[str]:
        return sorted({d.outlet for d in self.documents() if d.outlet}, key=str.lower)

    def warm_up(self, model: bool = True) -> None:
        """Load the embedder and index now (and the model unless model=False) so no question waits for them."""
        try:
            self.assistant.embedder.embed(["warm up"])
            if self.has_index():
                self.assistant.index.warm_up()
        except RagError as exc:
            log.warning("warm-up: %s", exc)
        if model:
            self.warm_up_model()

    def warm_up_model(self) -> None:
        try:
            self.generator.use()
        except RagError as exc:
            log.warning("loading the model: %s", exc)  # the first question shows the error in the chat

    # -- asking ---------------------------------------------------------------------------------------------

    def ask(self, question: str, history: Sequence[tuple[str, str]] = (), model: str | None = None,
            k: int | None = None, filters: Filters | None = None) -> Iterator[Event]:
        """Stream one answer: status, the rewritten question, tokens as they come, then done (or error).

        It runs in the caller's thread on top of `Assistant.stream`; closing this iterator (the person left
        or pressed Stop) closes the assistant's stream too, which stops the generation and frees the model.
        """
        if not question.strip():
            yield Failed("Type a question first.")
            return
        if not self.has_index():
            yield Failed(f"No articles are indexed yet (index: {self.index_label}). "
                                 "Add some with “Add articles” in the panel, or run: rag ingest PATH --index "
                                 f"{self.index_label}")
            return
        self.watch.check()
        try:
            with self.busy.holding():
                yield from self._answer(question, history, model, k, filters)
        except RagError as exc:
            yield Failed(str(exc))
        except Exception as exc:  # noqa: BLE001 - shown in the chat rather than breaking the page
            log.exception("answering %r failed", question)
            yield Failed(f"Something went wrong: {exc}")

    def _answer(self, question: str, history: Sequence[tuple[str, str]], model: str | None, k: int | None,
                filters: Filters | None) -> Iterator[Event]:
        if self.generator.loaded != (model or self.generator.name):
            yield Status(f"Loading {model or self.generator.name}…")
        self.generator.use(model)
        if history:
            yield Status("Reading the conversation…")
        step = rewrite(history, question, self.generator, self.rewrite_template)
        yield step
        yield Status("Searching the articles…")
        overrides = {"k": int(k)} if k else {}
        for event in self.assistant.stream(step.question, filters, **overrides):
            if isinstance(event, Retrieved):
                yield Status(f"Reading the best sentences of {len(event.passages)} articles…")
            yield event

    def timeline(self, query: str, filters: Filters | None = None, max_articles: int = MAX_ARTICLES) -> Timeline:
        """The story's events in date order (rag.timeline): retrieval and grouping only, no model."""
        if not query.strip():
            raise RagError("Name a story first, e.g. “US strikes on Iran-backed militias”.")
        if not self.has_index():
            raise RagError(f"No articles are indexed yet (index: {self.index_label}): run rag ingest PATH --index "
                           f"{self.index_label}")
        self.watch.check()
        return build_timeline(self.assistant.index, self.assistant.embedder, query, filters, max_articles)

    # -- adding articles ------------------------------------------------------------------------------------

    def save_uploads(self, paths: Sequence[str | Path]) -> list[Upload]:
        """Copy uploaded files (Gradio keeps them in a temp folder) to <index>/uploads/, never overwriting.

        A file whose bytes are already there is not copied again (re-uploading changes nothing); a new file
        whose name is taken gets a numbered name.
        """
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        known = {sha256_file(p): p for p in self.uploads_dir.iterdir() if p.is_file()}
        saved = []
        for given in paths:
            source = Path(given)
            digest = sha256_file(source)
            if digest in known:
                saved.append(Upload(source.name, known[digest].resolve(), duplicate=True))
                continue
            name = safe_name(source.name)
            stem, suffix = Path(name).stem, Path(name).suffix
            target, number = self.uploads_dir / name, 1
            while target.exists():
                number += 1
                target = self.uploads_dir / f"{stem}-{number}{suffix}"
            shutil.copyfile(source, target)
            known[digest] = target
            saved.append(Upload(source.name, target.resolve()))
        return saved

    def add_files(self, paths: Sequence[str | Path], on_file: Callable[[int, int, Path], None] | None = None
                  ) -> tuple[list[Upload], IngestReport]:
        """Keep the uploaded files and ingest them like `rag ingest` does; answerable right after.

        Refused unless uploads are on (`rag ui --allow-uploads`): the page hides the upload box then, but a
        request can still be sent by hand.
        """
        if not self.uploads_allowed:
            raise RagError("Adding articles from the chat is off. Start the chat with `rag ui --allow-uploads` "
                           "(or set ui_allow_uploads = true in rag.toml), or add them with `rag ingest`.")
        with self._ingest_lock:
            uploads = self.save_uploads(paths)
            config = self.config
            if self.has_index():
                store = open_store(self.config.index_dir, cache_dir=self.config.cache_dir)
                manifest = store.manifest  # the index's own chunking, whatever the flags say
                store.close()
                config = replace(config, chunk_tokens=manifest.chunk_tokens, overlap=manifest.overlap)
            count = {"done": 0, "total": len(uploads)}

            def file_done(path: Path) -> None:
                count["done"] += 1
                if on_file:
                    on_file(count["done"], count["total"], path)

            report = ingest([u.path for u in uploads], config, self.assistant.embedder, on_file=file_done,
                            total=lambda n: count.update(total=n))
            failed_files = {source for source, _ in report.failed}
            for upload in uploads:
                if str(upload.path) in failed_files and not upload.duplicate:
                    upload.path.unlink(missing_ok=True)  # nothing in it could be read: don't keep it
            self.assistant.reload_index()
            return uploads, report
