"""Who may use the API: anyone on this machine by default; with a key, only requests that bring it."""

from __future__ import annotations

import hmac
import ipaddress

from starlette.requests import Request

from rag.server.errors import ApiError

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    host = host.strip().strip("[]").lower()
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def _given_key(request: Request) -> str | None:
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def check_key(request: Request, api_key: str | None) -> None:
    """Raise 401 unless the request brings `api_key` as `Authorization: Bearer KEY` (compared in constant time)."""
    if not api_key:
        return
    given = _given_key(request)
    if given is None:
        raise ApiError(401, "This server needs an API key: send it as `Authorization: Bearer KEY`.",
                       "authentication_error", "missing_api_key", headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(given.encode("utf-8"), api_key.encode("utf-8")):
        raise ApiError(401, "The API key is not the one this server was started with.", "authentication_error",
                       "invalid_api_key", headers={"WWW-Authenticate": "Bearer"})


def check_exposure(host: str, api_key: str | None) -> None:
    """Refuse to serve on an address other machines can reach unless requests must bring a key."""
    if not is_loopback(host) and not api_key:
        from rag.errors import ConfigError

        raise ConfigError(f"Serving on {host} lets anyone who can reach it read the index and use the model: give "
                          "an API key with --api-key KEY or RAG_API_KEY=KEY (clients send `Authorization: Bearer "
                          "KEY`), or keep the default --host 127.0.0.1.", settings=("host",))
