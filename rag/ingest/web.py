"""Read a URL into raw articles: an RSS/Atom feed's entries (each entry's page fetched and extracted) or one page.

An article's identity is its URL (canonical_url), so a re-run replaces or keeps it. The feed's title, date,
author and name fill in what the page itself lacks. A feed the server says has not changed (304) costs no page
request for the entries already indexed; otherwise each page is asked for with its validators, so an unchanged
page comes back as a 304 and the cached copy is read again (and found unchanged by its content hash).
"""

from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass
from typing import Iterator

from rag.errors import UnsupportedFileError
from rag.ingest.documents import doc_id_for
from rag.ingest.fetch import Fetched, Fetcher, FetchError, canonical_url
from rag.ingest.readers import RawArticle, Skipped, html_article

FEED_OR_PAGE = ("application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, "
                "text/html;q=0.8, */*;q=0.5")
PAGE = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
_FEED_SIGNS = re.compile(rb"<(?:rss|feed|rdf:RDF)\b", re.IGNORECASE)
_PAYWALL = re.compile(r"subscribe (?:now )?to (?:continue|read)|to continue reading|already a subscriber|"
                      r"subscribers? only|sign in to (?:continue|read)|create a free account to|paywall", re.IGNORECASE)
_STUB_WORDS = 150  # a page this short that asks the reader to subscribe is the paywall, not the article


@dataclass(frozen=True)
class Known:
    """An entry of a feed that has not changed whose article the index already holds: nothing was fetched."""

    doc_id: str
    source: str


@dataclass(frozen=True)
class Fallback:
    """What the feed says about an entry, used where the page says nothing."""

    title: str | None = None
    date: str | None = None
    author: str | None = None
    outlet: str | None = None


def _is_feed(fetched: Fetched) -> bool:
    kind = fetched.content_type
    if "html" in kind:
        return bool(_FEED_SIGNS.search(fetched.body[:2048]))  # some servers label feeds text/html
    return "xml" in kind or "rss" in kind or "atom" in kind or bool(_FEED_SIGNS.search(fetched.body[:2048]))


def _decode(fetched: Fetched) -> str:
    for encoding in filter(None, (fetched.charset, "utf-8", "cp1252")):
        try:
            return fetched.body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return fetched.body.decode("utf-8", errors="replace")


def page_article(identity: str, fetched: Fetched, fallback: Fallback = Fallback()) -> RawArticle:
    """The article on an HTML page; UnsupportedFileError says why there is none (not HTML, a paywall stub...)."""
    if "html" not in fetched.content_type and fetched.content_type not in ("", "text/plain"):
        raise UnsupportedFileError(f"not an HTML page ({fetched.content_type})")
    if b"\x00" in fetched.body[:8192]:
        raise UnsupportedFileError("not an HTML page (binary content)")
    page = html_article(identity, _decode(fetched))
    words = len(page.text.split())
    if words < _STUB_WORDS and _PAYWALL.search(page.text):
        raise UnsupportedFileError(f"paywall stub: only {words} words, asking the reader to subscribe")
    return RawArticle(source=identity, text=page.text, title=page.title or fallback.title,
                      outlet=page.outlet or fallback.outlet, date=page.date or fallback.date,
                      author=page.author or fallback.author, url=identity)


def _entry_date(entry) -> str | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    return time.strftime("%Y-%m-%d", time.gmtime(calendar.timegm(parsed)))


def _entries(fetched: Fetched) -> tuple[str | None, list]:
    import feedparser  # lazy: only feeds need it

    parsed = feedparser.parse(fetched.body)
    if not parsed.entries and (parsed.bozo or not parsed.version):
        reason = getattr(parsed, "bozo_exception", None)
        raise UnsupportedFileError(f"not a feed{f': {reason}' if reason else ''}")
    return parsed.feed.get("title") or None, parsed.entries


def read_url(url: str, fetcher: Fetcher, indexed: set[str], skipped: Skipped) -> Iterator[RawArticle | Known]:
    """The articles a feed or page URL gives; a page that fails goes to `skipped` as (URL, reason).

    `indexed`: the doc ids the index holds, so that an unchanged feed's known entries are not fetched again.
    Raises UnsupportedFileError when the URL itself cannot be read.
    """
    try:
        fetched = fetcher.get(url, FEED_OR_PAGE)
    except FetchError as exc:
        raise UnsupportedFileError(str(exc)) from exc
    if not _is_feed(fetched):
        yield page_article(canonical_url(url), fetched)
        return
    outlet, entries = _entries(fetched)
    done: dict[str, RawArticle | Known | None] = {}
    for entry in entries:
        link = entry.get("link")
        if not link:
            skipped.append((f"{url}#{entry.get('id') or entry.get('title') or '?'}", "feed entry without a link"))
            continue
        identity = canonical_url(link)
        if identity in done:  # the same entry twice: the ingest reports the second as a duplicate
            if done[identity] is not None:
                yield done[identity]
            continue
        done[identity] = item = _entry_article(identity, entry, outlet, fetched.fresh, fetcher, indexed, skipped)
        if item is not None:
            yield item


def _entry_article(identity: str, entry, outlet: str | None, feed_changed: bool, fetcher: Fetcher,
                   indexed: set[str], skipped: Skipped) -> RawArticle | Known | None:
    doc_id = doc_id_for(identity)
    if not feed_changed and doc_id in indexed:
        return Known(doc_id, identity)
    fallback = Fallback(title=entry.get("title") or None, date=_entry_date(entry),
                        author=entry.get("author") or None, outlet=outlet)
    try:
        return page_article(identity, fetcher.get(identity, PAGE), fallback)
    except (FetchError, UnsupportedFileError) as exc:
        skipped.append((identity, str(exc)))
        return None
