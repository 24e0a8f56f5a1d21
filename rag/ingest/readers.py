"""Read article files (.txt, .md, .html, .pdf, .jsonl) into raw articles, or say why a file cannot be read."""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from rag.errors import IngestError, UnsupportedFileError
from rag.files import json_object
from rag.ingest.sniff import bom_encoding, looks_like

SUPPORTED = (".txt", ".md", ".html", ".htm", ".pdf", ".jsonl")
DEFAULT_MAX_BYTES = 20_000_000
_HEAD = 8192  # bytes looked at to tell text from binary
_BAD_LINES_LISTED = 20  # a .jsonl that is not JSONL at all would otherwise list every line

Skipped = list[tuple[str, str]]  # (file or file#line, reason)


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


# -- finding the files ------------------------------------------------------------------------------------

def _unfollowable(path: Path) -> str | None:
    """Why a symbolic link cannot be followed (dangling, a loop), or None for anything else."""
    if not path.is_symlink():
        return None
    try:
        path.resolve(strict=True)
    except FileNotFoundError:
        return f"broken link: its target {os.readlink(path)} does not exist"
    except (OSError, RuntimeError):  # ELOOP; Python 3.11 raises RuntimeError for some loops
        return "symlink loop: following the link never reaches a file or folder"
    return None


def _walk(folder: Path, ancestors: tuple[Path, ...], met: set[Path], skipped: Skipped) -> Iterator[Path]:
    """The regular files under `folder` in name order; links to folders are followed once, never in a circle."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        skipped.append((str(folder), f"cannot read the folder: {exc.strerror or exc}"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue  # hidden files and folders (.git, editor backups, our own .staging-*)
        path = Path(entry.path)
        why = _unfollowable(path)
        if why:
            skipped.append((str(path), why))
        elif path.is_dir():
            real = path.resolve()
            if real in ancestors:
                skipped.append((str(path), f"symlink loop: the link leads back to {real}, a folder above it"))
            elif real not in met:
                met.add(real)
                yield from _walk(path, ancestors + (real,), met, skipped)
        elif path.is_file():
            yield path.resolve()
        else:
            skipped.append((str(path), "not a regular file (a pipe, socket or device)"))


def iter_files(paths: list[str | Path], skipped: Skipped | None = None,
               yielded: set[Path] | None = None) -> Iterator[Path]:
    """Every file under the given paths, folders walked recursively in name order, hidden files skipped.

    A link that cannot be followed, or something that is not a regular file, is added to `skipped` with the
    reason. A file reached twice (through a link) is given once; `yielded` carries that over several calls.
    """
    skipped = [] if skipped is None else skipped
    yielded = set() if yielded is None else yielded
    for given in paths:
        path = Path(given)
        why = _unfollowable(path)
        if why:
            raise IngestError(f"{path} cannot be read: {why}.")
        if not path.exists():
            raise IngestError(f"{path} does not exist: give a file or a folder of articles.")
        if path.is_dir():
            found = _walk(path, (path.resolve(),), {path.resolve()}, skipped)
        elif path.is_file():
            found = [path.resolve()]
        else:
            raise IngestError(f"{path} is not a regular file (a pipe, socket or device): give articles.")
        for file in found:
            if file not in yielded:
                yielded.add(file)
                yield file


# -- reading one file -------------------------------------------------------------------------------------

def _too_large(size: int, max_bytes: int, what: str = "file") -> str:
    return (f"{what} too large: {size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB limit "
            "(raise max_file_mb to read it)")


def _decode(data: bytes) -> str:
    encoding = bom_encoding(data)
    if encoding in ("utf-16", "utf-32"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise UnsupportedFileError(f"not valid {encoding.upper()} text despite its byte-order mark") from exc
    else:
        if b"\x00" in data[:_HEAD]:
            raise UnsupportedFileError(f"binary file, not text: looks like {looks_like(data[:_HEAD])}")
        text = _decode_8bit(data)
    if not text.strip():
        raise UnsupportedFileError("empty file")
    return text


def _decode_8bit(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Old scrapes are often Windows-1252; cp1252 rejects few bytes, so a failure here means not text.
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise UnsupportedFileError("not UTF-8 or Windows-1252 text") from exc


def html_article(source: str, html: str) -> RawArticle:
    """The article text and metadata of an HTML page, by trafilatura; UnsupportedFileError when it holds none."""
    import trafilatura  # lazy: pulls lxml and friends

    # No extensive date search: it guesses from any year on the page ("Copyright 2024" becomes 2024-01-01), and a
    # wrong date is worse than none (the feed's date, or the text's own, fills in).
    doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False,
                                      date_extraction_params={"extensive_search": False, "original_date": True})
    if doc is None or not (doc.text or "").strip():
        raise UnsupportedFileError("no article text found in the HTML")
    return RawArticle(source=source, text=doc.text, title=doc.title, outlet=doc.sitename,
                      date=doc.date, author=doc.author, url=doc.url)


def _read_html(path: Path, data: bytes) -> list[RawArticle]:
    return [html_article(str(path), _decode(data))]


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[list[str]]:
    """Keep pypdf's warnings (logged and warned) off stderr; the yielded list collects them for the reason."""
    heard: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            heard.append(record.getMessage())

    logger, handler = logging.getLogger("pypdf"), Collect(logging.WARNING)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield heard
        heard.extend(str(w.message) for w in caught)
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _read_pdf(path: Path, data: bytes) -> list[RawArticle]:
    if b"%PDF-" not in data[:1024]:  # readers accept a little junk before the header, nothing more
        raise UnsupportedFileError(f"not a PDF: looks like {looks_like(data[:_HEAD])}")
    from pypdf import PdfReader

    with _quiet_pypdf() as heard:
        try:
            reader = PdfReader(io.BytesIO(data))
            text = "\n".join(page.extract_text() or "" for page in reader.pages)
            title = (reader.metadata.title if reader.metadata else None) or None
        except Exception as exc:  # noqa: BLE001 - pypdf fails on damaged files in many ways; skip, never crash
            detail = "; ".join(dict.fromkeys([str(exc) or type(exc).__name__] + heard))
            raise UnsupportedFileError(f"damaged PDF ({detail})") from exc
    if not text.strip():
        raise UnsupportedFileError("PDF has no extractable text (scanned image?)")
    return [RawArticle(source=str(path), text=text, title=title)]


def _article_from_record(source: str, record: dict) -> RawArticle:
    if not str(record.get("text") or "").strip():
        raise UnsupportedFileError("no \"text\" field")
    return RawArticle(
        source=source, text=str(record["text"]), title=record.get("title") or None,
        outlet=record.get("source") or record.get("outlet") or None, date=record.get("date") or None,
        author=record.get("author") or None, url=record.get("url") or None)


def _lines(stream: BinaryIO, max_bytes: int) -> Iterator[tuple[int, str | None, str | None]]:
    """(line number, text, None) per line, or (number, None, reason) for a line too long or not text.

    Reads at most max_bytes of a line at a time, so a file that is one enormous line never sits in memory.
    """
    encoding = bom_encoding(stream.read(4))
    stream.seek(0)
    unit = {"utf-16": 2, "utf-32": 4}.get(encoding or "", 1)  # bytes per character, near enough for a limit
    lines = io.TextIOWrapper(stream, encoding=encoding) if unit > 1 else stream
    newline = "\n" if unit > 1 else b"\n"
    read = functools.partial(lines.readline, max_bytes // unit + 1)
    number = 0
    while line := read():
        number += 1
        if len(line) * unit > max_bytes and not line.endswith(newline):
            size = len(line)
            while (rest := read()) and not rest.endswith(newline):
                size += len(rest)  # the rest of the monster line, read and dropped piece by piece
            yield number, None, _too_large((size + len(rest)) * unit, max_bytes, "line")
            continue
        try:
            text = line if isinstance(line, str) else _decode_8bit(line)
            yield number, text.rstrip("\r\n"), None
        except UnsupportedFileError as exc:
            yield number, None, str(exc)


def _parse_lines(path: Path, lines: Iterator[tuple[int, str | None, str | None]], articles: list[RawArticle],
                 bad: Skipped) -> None:
    for number, line, problem in lines:
        source = f"{path}#{number}"
        try:
            if problem:
                raise UnsupportedFileError(problem)
            if not line.strip():
                continue
            try:
                record = json_object(line)
            except ValueError as exc:
                raise UnsupportedFileError(str(exc)) from exc
            articles.append(_article_from_record(source, record))
        except UnsupportedFileError as exc:
            bad.append((source, f"line {number}: {exc}"))


def _read_jsonl(path: Path, max_bytes: int, skipped: Skipped) -> list[RawArticle]:
    """The good lines' articles; each bad line goes to `skipped` as file#line, unless no line is good."""
    articles: list[RawArticle] = []
    bad: Skipped = []
    with path.open("rb") as stream:
        head = stream.read(_HEAD)
        if b"\x00" in head and bom_encoding(head) not in ("utf-16", "utf-32"):
            raise UnsupportedFileError(f"binary file, not text: looks like {looks_like(head)}")
        stream.seek(0)
        try:
            _parse_lines(path, _lines(stream, max_bytes), articles, bad)
        except UnicodeDecodeError as exc:  # a UTF-16/32 file damaged after the lines already read
            bad.append((str(path), f"the rest of the file is not valid {exc.encoding.upper()} text ({exc.reason})"))
    if not articles:
        more = f" (and {len(bad) - 1} more bad lines)" if len(bad) > 1 else ""
        raise UnsupportedFileError(f"no article in the JSONL file: {bad[0][1]}{more}" if bad
                                   else "no articles in the JSONL file")
    skipped.extend(bad[:_BAD_LINES_LISTED])
    if len(bad) > _BAD_LINES_LISTED:
        skipped.append((str(path), f"{len(bad) - _BAD_LINES_LISTED} more bad lines not listed"))
    return articles


def read_file(path: Path, max_bytes: int = DEFAULT_MAX_BYTES, skipped: Skipped | None = None) -> list[RawArticle]:
    """The articles in one file; raises UnsupportedFileError with the reason when there are none.

    A file over `max_bytes` is refused before it is read (in a .jsonl, each line over it is skipped instead).
    Bad lines of a .jsonl that has good ones are added to `skipped` as (file#line, reason).
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise UnsupportedFileError(f"unsupported file type {suffix or '(none)'}; supported: {', '.join(SUPPORTED)}")
    try:
        if suffix == ".jsonl":
            return _read_jsonl(path, max_bytes, [] if skipped is None else skipped)
        size = path.stat().st_size
        if size > max_bytes:
            raise UnsupportedFileError(_too_large(size, max_bytes))
        data = path.read_bytes()
        if suffix in (".html", ".htm"):
            return _read_html(path, data)
        if suffix == ".pdf":
            return _read_pdf(path, data)
        return [RawArticle(source=str(path), text=_decode(data))]
    except OSError as exc:
        raise UnsupportedFileError(f"cannot read: {exc.strerror or exc}") from exc
