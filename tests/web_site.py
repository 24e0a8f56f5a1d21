"""A real HTTP server on 127.0.0.1 for the feed tests: pages set per path, ETags answered with 304, requests
recorded. http.server in a thread; nothing it serves comes from outside this machine."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    delay: float = 0.0  # seconds before answering (a slow page)
    etag: bool = True  # send an ETag (and answer If-None-Match with 304)


@dataclass
class Site:
    """What the server serves, and what it was asked."""

    pages: dict[str, Page] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str], int]] = field(default_factory=list)  # (path, headers, status)
    url: str = ""

    def requested(self, path: str) -> list[tuple[dict[str, str], int]]:
        return [(h, s) for p, h, s in self.requests if p == path]


def _handler(site: Site):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            page = site.pages.get(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            if page is None:
                page = Page(b"<html><body>Not found</body></html>", status=404, etag=False)
            if page.delay:
                time.sleep(page.delay)
            tag = '"' + hashlib.sha1(page.body).hexdigest()[:12] + '"'
            if page.etag and page.status == 200 and headers.get("if-none-match") == tag:
                site.requests.append((self.path, headers, 304))
                self.send_response(304)
                self.send_header("ETag", tag)
                self.end_headers()
                return
            site.requests.append((self.path, headers, page.status))
            self.send_response(page.status)
            self.send_header("Content-Type", page.content_type)
            self.send_header("Content-Length", str(len(page.body)))
            if page.etag and page.status == 200:
                self.send_header("ETag", tag)
            self.end_headers()
            try:
                self.wfile.write(page.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on a slow page

        def log_message(self, *args):  # quiet test output
            pass

    return Handler


class Server:
    """`with Server(site) as url:` serves `site` on a free port of 127.0.0.1."""

    def __init__(self, site: Site):
        self.site = site
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
        self.httpd.daemon_threads = True

    def __enter__(self) -> str:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.site.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        return self.site.url

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def article_html(title: str, paragraphs: list[str], *, site_name: str | None = None, date: str | None = None,
                 author: str | None = None) -> bytes:
    """A news page: metadata in the head only where given, the story in <article>, clutter around it."""
    meta = "".join([f'<meta property="og:site_name" content="{site_name}">' if site_name else "",
                    f'<meta property="article:published_time" content="{date}">' if date else "",
                    f'<meta name="author" content="{author}">' if author else ""])
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<!doctype html><html><head><title>{title}</title>{meta}</head><body>"
            f"<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
            f"<article><h1>{title}</h1>{body}</article>"
            f"<footer>Subscribe to our newsletter. Copyright 2024.</footer></body></html>").encode("utf-8")


def rss(title: str, entries: list[tuple[str, str, str | None, str | None]]) -> bytes:
    """An RSS 2.0 feed: entries are (title, link, date YYYY-MM-DD or None, author or None)."""
    items = []
    for item_title, link, day, author in entries:
        when = ""
        if day:
            stamp = datetime.fromisoformat(day).replace(hour=9, tzinfo=timezone.utc)
            when = f"<pubDate>{format_datetime(stamp)}</pubDate>"
        who = f"<author>{author}</author>" if author else ""
        items.append(f"<item><title>{item_title}</title><link>{link}</link><guid>{link}</guid>{when}{who}</item>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>http://127.0.0.1/</link><description>Test feed</description>{''.join(items)}"
            "</channel></rss>").encode("utf-8")
