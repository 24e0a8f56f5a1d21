"""Decide what an ingest does with each document: add, update, keep unchanged, or drop as a duplicate.

A duplicate is the same id met twice (a repeated path or URL) or the same content under another id (the same
article in two folders). Content already in the index under another id counts as a duplicate only while that
copy stays: if its file is gone, or it changes later in the same ingest, the new copy is kept instead, so
nothing is lost. That can only be known at the end, so such documents wait ("later") until then.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rag.types import Document


@dataclass(frozen=True)
class Verdict:
    """kind: added, updated, unchanged, duplicate or later. A duplicate names the `first` copy's source;
    `stale` says its own id holds older content in the index, which must go (the first copy keeps it)."""

    kind: str
    first: str = ""
    stale: bool = False


def source_exists(source: str) -> bool:
    """Whether the file a document came from is still there (a JSONL record's source is file#line)."""
    return Path(source.split("#")[0]).exists()


class Deduplicator:
    """Remembers the documents one ingest has met, against what the index already holds."""

    def __init__(self, indexed: dict[str, str], sources: dict[str, str],
                 exists: Callable[[str], bool] = source_exists):
        self._indexed = indexed  # doc id -> content hash, as in the index
        self._sources = sources  # doc id -> source, as in the index
        self._exists = exists
        self._indexed_ids_by_hash: dict[str, list[str]] = defaultdict(list)
        for doc_id, content in indexed.items():
            self._indexed_ids_by_hash[content].append(doc_id)
        self.met: dict[str, str] = {}  # doc id met in this ingest -> its source
        self._kept: dict[str, str] = {}  # content hash kept in this ingest -> source of the copy kept

    @property
    def indexed_ids(self) -> set[str]:
        return set(self._indexed)

    def keep_known(self, doc_id: str, source: str) -> None:
        """An indexed document met without being read (an unchanged feed's entry): it stays as it is."""
        self.met[doc_id] = source
        if doc_id in self._indexed:
            self._kept[self._indexed[doc_id]] = source

    def judge(self, doc: Document, final: bool = False) -> Verdict:
        """What to do with `doc`; `final` for a document that waited ("later") until every file was read."""
        if doc.doc_id in self.met:
            return Verdict("duplicate", self.met[doc.doc_id])
        if doc.content_hash in self._kept:
            return self._duplicate(doc, self._kept[doc.content_hash])
        if self._indexed.get(doc.doc_id) == doc.content_hash:
            return self._keep(doc, "unchanged")
        twins = [t for t in self._indexed_ids_by_hash.get(doc.content_hash, []) if t != doc.doc_id]
        if not final and any(t not in self.met for t in twins):
            return Verdict("later")  # an indexed twin not met yet: it may still change or turn out gone
        staying = [t for t in twins if t not in self.met and self._exists(self._sources.get(t, ""))]
        if staying:
            return self._duplicate(doc, self._sources[staying[0]])
        return self._keep(doc, "updated" if doc.doc_id in self._indexed else "added")

    def _keep(self, doc: Document, kind: str) -> Verdict:
        self.met[doc.doc_id] = doc.source
        self._kept[doc.content_hash] = doc.source
        return Verdict(kind)

    def _duplicate(self, doc: Document, first: str) -> Verdict:
        self.met[doc.doc_id] = doc.source
        return Verdict("duplicate", first, stale=doc.doc_id in self._indexed)
