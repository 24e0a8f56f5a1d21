"""Index locations: a folder path or a scheme:// URL, and how to show one without its password."""

from __future__ import annotations

import re

_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.IGNORECASE)


def scheme_of(location: str) -> str:
    """'' for a folder path, else the URL scheme in lower case."""
    match = _SCHEME.match(str(location))
    return match[1].lower() if match else ""


def is_url(location: str) -> bool:
    return scheme_of(location) != ""


def display_location(location: str) -> str:
    """The location as shown to people and in reports: a URL's password is replaced by ***."""
    location = str(location)
    if not is_url(location):
        return location
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(location)
    if not parts.password:
        return location
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
