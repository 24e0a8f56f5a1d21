"""The Ray ingest's stages as plain functions of rows (read a file, chunk a document, embed a batch); no Ray here."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from rag.config import Config
from rag.ingest.pipeline import chunks_or_refusal, embed_chunks, read_documents
from rag.models.embedder import Embedder
from rag.types import Chunk, Document

# Documents and their chunks travel pickled in one bytes column: Arrow has no type for a dataclass, and pickle
# brings them back exactly (the index must equal the single-process one, id for id).


@dataclass(frozen=True)
class Listed(Document):
    """A document as the driver sees it while deduplicating: what the verdict needs, plus its row's `key` and the
    path it was `given` under. Its text stays in Ray's object store until it is chunked and embedded."""

    key: str = ""
    given: str = ""


def file_rows(files: dict[str, list[Path]]) -> list[dict]:
    """One row per file to read, numbered in the order the single-process ingest reads them."""
    listed = [(given, path) for given, paths in files.items() for path in paths]
    return [{"order": n, "given": given, "path": str(path)} for n, (given, path) in enumerate(listed)]


def read_rows(row: dict, config: Config) -> list[dict]:
    """A file's documents, then what could not be read in it, as rows; keys keep the file's order."""
    failed: list[tuple[str, str]] = []
    docs = list(read_documents(Path(row["path"]), config, failed))
    rows = [_row(row, n, doc.doc_id, doc.content_hash, doc.source, "", pickle.dumps(doc))
            for n, doc in enumerate(docs)]
    rows += [_row(row, len(docs) + n, "", "", source, reason, b"") for n, (source, reason) in enumerate(failed)]
    return rows


def _row(file: dict, n: int, doc_id: str, content_hash: str, source: str, failed: str, document: bytes) -> dict:
    return {"key": f"{file['order']:09d}:{n:06d}", "given": file["given"], "doc_id": doc_id,
            "content_hash": content_hash, "source": source, "failed": failed, "document": document}


def listed(row: dict) -> Listed:
    """The driver's view of a document row (no text)."""
    return Listed(doc_id=row["doc_id"], source=row["source"], title="", text="", content_hash=row["content_hash"],
                  key=row["key"], given=row["given"])


def chunk_rows(row: dict, config: Config, keys: frozenset[str]) -> list[dict]:
    """The document chunked, if the driver chose to index it (its key is in `keys`); `refused` says why not."""
    if row["key"] not in keys:
        return []
    doc = pickle.loads(row["document"])
    chunks = chunks_or_refusal(doc, config)
    refused = chunks if isinstance(chunks, str) else ""
    return [{"key": row["key"], "refused": refused, "item": pickle.dumps((doc, [] if refused else chunks))}]


class EmbeddingWorker:
    """One member of the actor pool: holds the embedder (the model loads once per worker) and embeds the chunks
    of a batch of documents in one call."""

    def __init__(self, make_embedder: Callable[[], Embedder]):
        self.embedder = make_embedder()

    def __call__(self, batch: dict) -> dict:
        pending = [pickle.loads(item) for item in batch["item"]]
        vectors = embed_chunks(self.embedder, pending)
        batch["vectors"] = np.array([np.ascontiguousarray(v, dtype=np.float32).tobytes() for v in vectors],
                                    dtype=object)
        return batch


def embedded(item: bytes, vectors: bytes) -> tuple[Document, list[Chunk], np.ndarray]:
    """A document, its chunks and their vectors, back from an embedded row."""
    doc, chunks = pickle.loads(item)
    return doc, chunks, np.frombuffer(vectors, dtype=np.float32).reshape(len(chunks), -1)
