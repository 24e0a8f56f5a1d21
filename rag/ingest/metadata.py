"""Find an article's title, outlet, publication date and author in its scraped text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from rag.dates import parse_date
from rag.ingest.clean import is_headline

_LABEL = re.compile(r"^(published|updated|posted|date|last updated)\s*(on)?\s*:?\s*", re.IGNORECASE)
_HEAD_LINES = 12  # metadata sits at the top of a page; later dates are events, not publication


@dataclass(frozen=True)
class Metadata:
    """What the text says about itself; None where it does not say."""

    title: str | None
    outlet: str | None
    date: str | None
    author: str | None
    body: list[str]  # the paragraphs with the header lines (title, date, byline, section label) removed


def _is_date_line(line: str) -> bool:
    stripped = _LABEL.sub("", line)
    return parse_date(stripped) is not None and len(stripped.split()) <= 5


def find_date(lines: list[str]) -> str | None:
    """A labelled date, a line that is only a date, or a numeric date stamp near the top."""
    head = lines[:_HEAD_LINES]
    for line in head:
        if _LABEL.match(line) and (found := parse_date(_LABEL.sub("", line))):
            return found
    for line in head:
        if _is_date_line(line):
            return parse_date(line)
    for line in head:
        if found := parse_date(line, worded=False):
            return found
    return None


_OUTLET_SIGNS = [
    re.compile(r"^(?P<o>[A-Z][\w ]{1,30}?) moderates all comments", re.MULTILINE),
    re.compile(r"download the (?P<o>[\w ]{2,30}?) app\b", re.IGNORECASE),
    re.compile(r"^\((?P<o>[\w .]{2,30}?) with (?:AFP|AP|Reuters|REUTERS)", re.MULTILINE),
    re.compile(r"^[A-Z][A-Z .,'-]{2,40}\((?P<o>[A-Za-z0-9 ]{2,20})\)\s*[—–-]", re.MULTILINE),  # SULAIMANI (ESTA) —
    re.compile(r"^-\s*(?P<o>[A-Z][\w ]{2,40}?), \d{4}\s*$", re.MULTILINE),  # - Sputnik International, 1920
]


_SOURCE_LINE = re.compile(r"^\s*(?:source|sources|via|credit)\s*:\s*(?P<o>[^\n]{2,60}?)\s*$",
                          re.IGNORECASE | re.MULTILINE)
_URL_LINE = re.compile(r"^\s*(?:url|link|source|canonical)?\s*:?\s*(?P<u>https?://\S+)\s*$",
                       re.IGNORECASE | re.MULTILINE)
_HOST_PREFIXES = ("www.", "edition.", "amp.", "mobile.", "m.", "news.", "english.")
_OUTLETS = {
    "cnn.com": "CNN", "nytimes.com": "The New York Times", "bbc.com": "BBC", "bbc.co.uk": "BBC",
    "reuters.com": "Reuters", "apnews.com": "AP News", "theguardian.com": "The Guardian",
    "washingtonpost.com": "The Washington Post", "npr.org": "NPR", "usatoday.com": "USA Today",
    "theweek.co.uk": "The Week", "aljazeera.com": "Al Jazeera", "france24.com": "France 24", "rudaw.net": "Rudaw",
    "foxnews.com": "Fox News", "nbcnews.com": "NBC News", "cbsnews.com": "CBS News", "abcnews.go.com": "ABC News",
    "bloomberg.com": "Bloomberg", "wsj.com": "The Wall Street Journal", "ft.com": "Financial Times",
    "politico.com": "Politico", "axios.com": "Axios", "independent.co.uk": "The Independent",
    "telegraph.co.uk": "The Telegraph", "dw.com": "DW", "afp.com": "AFP", "sputniknews.com": "Sputnik",
}


def outlet_from_url(url: str) -> str:
    """A readable outlet name for a well-known host, else the bare domain ("www.example.org" -> "example.org")."""
    host = (urlsplit(url.strip()).hostname or "").lower()
    for domain, name in _OUTLETS.items():
        if host == domain or host.endswith("." + domain):
            return name
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix):
            host = host[len(prefix):]
    return host


def find_outlet(raw_text: str, url: str | None = None) -> str | None:
    """The outlet's name from the page furniture that names it (comment policy, app prompt, dateline), a
    "Source: X" line, or else the article's URL (given, or on a line of its own)."""
    for pattern in _OUTLET_SIGNS:
        if match := pattern.search(raw_text):
            return match["o"].strip()
    if match := _SOURCE_LINE.search(raw_text):
        named = match["o"].strip()
        return outlet_from_url(named) if named.lower().startswith("http") else named
    url = url or ((match := _URL_LINE.search(raw_text)) and match["u"])
    return outlet_from_url(url) or None if url else None


def _looks_like_byline(line: str) -> bool:
    line = re.sub(r"^by\s+", "", line, flags=re.IGNORECASE)
    words = line.split()
    return 2 <= len(words) <= 4 and all(w[:1].isupper() and w.replace("-", "").replace(".", "").isalpha()
                                        for w in words)


def extract(raw_text: str, lines: list[str], url: str | None = None) -> Metadata:
    """Read metadata from the cleaned lines (and the raw page for the outlet) and split off the header."""
    title = date_found = author = None
    body_start = 0
    for i, line in enumerate(lines[:6]):
        if title is None and is_headline(line) and not _is_date_line(line):
            title, body_start = line, i + 1
        elif len(line.split()) == 1 and title is None:
            body_start = i + 1  # a section label such as "Iraq" above the story
        elif _is_date_line(line):
            date_found, body_start = parse_date(_LABEL.sub("", line)), i + 1
        elif title is not None and _looks_like_byline(line) and author is None:
            author, body_start = re.sub(r"^by\s+", "", line, flags=re.IGNORECASE), i + 1
        else:
            break
    date_found = date_found or find_date(raw_text.splitlines())
    return Metadata(title=title, outlet=find_outlet(raw_text, url), date=date_found, author=author,
                    body=lines[body_start:])
