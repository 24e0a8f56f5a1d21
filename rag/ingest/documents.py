"""Turn a raw article into a clean Document with its title, outlet, date and author."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from rag.errors import UnsupportedFileError
from rag.ingest.clean import clean_lines
from rag.ingest.metadata import extract, parse_date
from rag.ingest.readers import RawArticle
from rag.types import Document

_MIN_WORDS = 20  # less than this is a stub or an error page, not an article


def doc_id_for(source: str) -> str:
    """A stable id from where the article came from, so re-ingesting replaces rather than duplicates."""
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:16]


def _fallback_title(body: list[str], source: str) -> str:
    if body:
        first = re.sub(r"^[A-Z][A-Za-z ,]+\s*[—–-]\s*", "", body[0])  # drop a dateline like "ERBIL, Region - "
        sentence = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0]
        return sentence if len(sentence) <= 120 else sentence[:117].rsplit(" ", 1)[0] + "…"
    return Path(source.split("#")[0]).stem


def to_document(raw: RawArticle) -> Document:
    """Clean the text, read its metadata (what the file format says wins over what the text suggests)."""
    meta = extract(raw.text, clean_lines(raw.text.splitlines()), raw.url)
    body = meta.body
    if raw.title:
        body = [line for line in body if line.strip() != raw.title.strip()]
    text = "\n\n".join(body)
    if len(text.split()) < _MIN_WORDS:
        raise UnsupportedFileError(f"too little article text after cleaning ({len(text.split())} words)")
    title = raw.title or meta.title or _fallback_title(body, raw.source)
    date = (parse_date(raw.date) if raw.date else None) or meta.date
    identity = raw.url or raw.source
    content = "\x1f".join([title, raw.outlet or meta.outlet or "", date or "", raw.author or meta.author or "", text])
    return Document(
        doc_id=doc_id_for(identity), source=raw.source, title=title, text=text,
        outlet=raw.outlet or meta.outlet, date=date, author=raw.author or meta.author, url=raw.url,
        content_hash=hashlib.sha256(content.encode("utf-8")).hexdigest())



