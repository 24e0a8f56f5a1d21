"""Polite HTTP for feeds and article pages: a clear User-Agent, time-outs, a per-host pace, a size cap, and a cache
of validators and bodies so that feeds and pages are fetched with conditional GETs (ETag / Last-Modified)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from rag.errors import RagError

USER_AGENT = "rag-news/0.1 (a private news reader that indexes feeds for its owner; polite: one request at a time)"
_CHUNK = 64 * 1024
_TRACKING = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid")


class FetchError(RagError):
    """One URL could not be fetched; the message is the reason shown beside the URL."""


@dataclass(frozen=True)
class Fetched:
    """A response's body with what it is; `fresh` is False when the server said 304 and the cached body is given."""

    url: str  # the URL after redirects
    body: bytes
    content_type: str
    charset: str | None
    fresh: bool = True


def is_web(location: str | Path) -> bool:
    return str(location).lower().startswith(("http://", "https://"))


def canonical_url(url: str) -> str:
    """The URL as an article's identity: no fragment, no tracking parameters, a lower-case host."""
    parts = urlsplit(url.strip())
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not k.lower().startswith(_TRACKING)])
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", query, ""))


class HttpCache:
    """Validators and bodies of earlier responses, one pair of files per URL under `folder` (written atomically)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def _paths(self, url: str) -> tuple[Path, Path]:
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]
        return self.folder / f"{key}.json", self.folder / f"{key}.body"

    def load(self, url: str) -> tuple[dict, bytes] | None:
        meta_path, body_path = self._paths(url)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            return (meta, body_path.read_bytes()) if meta.get("url") == url else None
        except (OSError, ValueError):
            return None

    def validators(self, url: str) -> dict[str, str]:
        """The If-None-Match / If-Modified-Since headers for `url`, from its last response that had them."""
        cached = self.load(url)
        if cached is None:
            return {}
        meta = cached[0]
        headers = {"If-None-Match": meta.get("etag"), "If-Modified-Since": meta.get("last_modified")}
        return {k: v for k, v in headers.items() if v}

    def save(self, url: str, fetched: Fetched, etag: str | None, last_modified: str | None) -> None:
        if not (etag or last_modified):
            return  # nothing to ask the server with next time: keep no copy
        self.folder.mkdir(parents=True, exist_ok=True)
        meta_path, body_path = self._paths(url)
        meta = {"url": url, "final_url": fetched.url, "etag": etag, "last_modified": last_modified,
                "content_type": fetched.content_type, "charset": fetched.charset, "saved": time.time()}
        for path, data in ((body_path, fetched.body), (meta_path, json.dumps(meta).encode("utf-8"))):
            temporary = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
            temporary.write_bytes(data)
            os.replace(temporary, path)


class Fetcher:
    """GETs one URL at a time, never faster than one request per `interval` seconds to the same host."""

    def __init__(self, cache_dir: str | Path, timeout: float = 20.0, interval: float = 1.0,
                 max_bytes: int = 20_000_000):
        import httpx  # lazy: only ingests of URLs need it

        self.cache = HttpCache(Path(cache_dir) / "web")
        self.timeout, self.interval, self.max_bytes = timeout, interval, max_bytes
        self._client = httpx.Client(headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
                                    timeout=httpx.Timeout(timeout), follow_redirects=True, max_redirects=5)
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()
        self.requests = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _pace(self, url: str) -> None:
        host = urlsplit(url).netloc.lower()
        with self._lock:
            wait = self._last.get(host, -1e9) + self.interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last[host] = time.monotonic()

    def get(self, url: str, accept: str = "*/*") -> Fetched:
        """The body of `url` (the cached one on 304); FetchError with the reason on any failure."""
        import httpx

        self._pace(url)
        self.requests += 1
        headers = {"Accept": accept, **self.cache.validators(url)}
        started = time.monotonic()
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                if response.status_code == 304:
                    return self._cached(url)
                if response.status_code >= 400:
                    raise FetchError(f"HTTP {response.status_code} {response.reason_phrase}".rstrip())
                body = self._read(response, started)
                content_type = response.headers.get("content-type", "")
                fetched = Fetched(str(response.url), body, content_type.split(";")[0].strip().lower(),
                                  response.charset_encoding)
                self.cache.save(url, fetched, response.headers.get("etag"), response.headers.get("last-modified"))
                return fetched
        except httpx.TimeoutException as exc:
            raise FetchError(f"timed out after {self.timeout:g} s") from exc
        except httpx.TooManyRedirects as exc:
            raise FetchError("too many redirects") from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot fetch: {exc or type(exc).__name__}") from exc

    def _read(self, response, started: float) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(_too_large(int(declared), self.max_bytes))
        parts, size = [], 0
        for part in response.iter_bytes(_CHUNK):
            size += len(part)
            if size > self.max_bytes:
                raise FetchError(_too_large(size, self.max_bytes, "over"))
            if time.monotonic() - started > self.timeout:  # a page trickling bytes never trips the read time-out
                raise FetchError(f"timed out after {self.timeout:g} s")
            parts.append(part)
        return b"".join(parts)

    def _cached(self, url: str) -> Fetched:
        cached = self.cache.load(url)
        if cached is None:  # a 304 to a request without validators: the server is confused
            raise FetchError("HTTP 304 Not Modified, but no copy is cached")
        meta, body = cached
        return Fetched(meta.get("final_url") or url, body, meta.get("content_type") or "", meta.get("charset"),
                       fresh=False)


def _too_large(size: int, limit: int, how: str = "") -> str:
    amount = f"{how} {size / 1e6:.1f} MB" if how else f"{size / 1e6:.1f} MB"
    return f"page too large: {amount.strip()}, over the {limit / 1e6:g} MB limit (raise max_file_mb to read it)"
