"""Read article files (.txt, .md, .html, .pdf, .jsonl) into raw articles, or say why a file cannot be read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from rag.errors import IngestError, UnsupportedFileError
from rag.files import jsonl_objects

SUPPORTED = (".txt", ".md", ".html", ".htm", ".pdf", ".jsonl")


@dataclass(frozen=True)
class RawArticle:
    """Text as read from a file, plus whatever metadata the format itself carries."""

    source: str
    text: str
    title: str | None = None
    outlet: str | None = None
    date: str | None = None
    author: str | None = None
    url: str | None = None


def iter_files(paths: list[str | Path]) -> Iterator[Path]:
    """Every file under the given paths, folders walked recursively in name order, hidden files skipped."""
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise IngestError(f"{path} does not exist: give a file or a folder of articles.")
        if path.is_file():
            yield path.resolve()
            continue
        for found in sorted(path.rglob("*")):
            relative = found.relative_to(path).parts
            if found.is_file() and not any(part.startswith(".") for part in relative):
                yield found.resolve()


def _decode(path: Path) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise UnsupportedFileError("empty file")
    if b"\x00" in data[:8192]:
        raise UnsupportedFileError("binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Old scrapes are often Windows-1252; cp1252 rejects few bytes, so a failure here means not text.
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise UnsupportedFileError("not UTF-8 or Windows-1252 text") from exc


def _read_html(path: Path) -> list[RawArticle]:
    import trafilatura  # lazy: pulls lxml and friends

    doc = trafilatura.bare_extraction(_decode(path), with_metadata=True, include_comments=False)
    if doc is None or not (doc.text or "").strip():
        raise UnsupportedFileError("no article text found in the HTML")
    return [RawArticle(source=str(path), text=doc.text, title=doc.title, outlet=doc.sitename,
                       date=doc.date, author=doc.author, url=doc.url)]


def _read_pdf(path: Path) -> list[RawArticle]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
        title = (reader.metadata.title if reader.metadata else None) or None
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise UnsupportedFileError(f"unreadable PDF ({exc})") from exc
    if not text.strip():
        raise UnsupportedFileError("PDF has no extractable text (scanned image?)")
    return [RawArticle(source=str(path), text=text, title=title)]


def _read_jsonl(path: Path) -> list[RawArticle]:
    articles = []
    for number, record in jsonl_objects(_decode(path).splitlines(), "line", UnsupportedFileError):
        if not str(record.get("text") or "").strip():
            raise UnsupportedFileError(f"line {number} has no \"text\" field")
        articles.append(RawArticle(
            source=f"{path}#{number}", text=str(record["text"]), title=record.get("title") or None,
            outlet=record.get("source") or record.get("outlet") or None, date=record.get("date") or None,
            author=record.get("author") or None, url=record.get("url") or None))
    if not articles:
        raise UnsupportedFileError("no articles in the JSONL file")
    return articles


def read_file(path: Path) -> list[RawArticle]:
    """The articles in one file; raises UnsupportedFileError with the reason when there are none."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise UnsupportedFileError(f"unsupported file type {suffix or '(none)'}; supported: {', '.join(SUPPORTED)}")
    try:
        if suffix in (".html", ".htm"):
            return _read_html(path)
        if suffix == ".pdf":
            return _read_pdf(path)
        if suffix == ".jsonl":
            return _read_jsonl(path)
        return [RawArticle(source=str(path), text=_decode(path))]
    except OSError as exc:
        raise UnsupportedFileError(f"cannot read: {exc.strerror or exc}") from exc
