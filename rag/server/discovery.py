"""How `rag ask` finds a running `rag serve`: one small JSON file per server under the cache folder, or RAG_SERVER.

A file names the server's URL, process id, index and model; no secret is written (the API key stays in the
server's memory and the client's environment).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.config import Config
from rag.store.factory import is_url

FOLDER = "servers"


@dataclass(frozen=True)
class ServerInfo:
    """What a running server tells its clients about itself."""

    url: str
    pid: int
    index_id: str  # a digest of the index location: a postgresql:// URL may hold a password
    model: str
    embedder: str
    key_required: bool = False


def index_id(location: str) -> str:
    """The same digest for every spelling of one index folder (relative, absolute, through links)."""
    normal = location if is_url(location) else str(Path(location).expanduser().resolve())
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()[:24]


def describe(config: Config, url: str, key_required: bool) -> ServerInfo:
    return ServerInfo(url, os.getpid(), index_id(config.index_dir), config.model, config.embedder, key_required)


def _folder(config: Config) -> Path:
    return Path(config.cache_dir) / FOLDER


def publish(config: Config, info: ServerInfo) -> Path:
    """Write the server's file (readable by this user only); returns its path for `withdraw`."""
    folder = _folder(config)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{info.pid}.json"
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(asdict(info)), encoding="utf-8")
    partial.chmod(0o600)
    os.replace(partial, path)
    return path


def withdraw(path: Path) -> None:
    path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    return True


def _read(path: Path) -> ServerInfo | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ServerInfo(**data)
    except (OSError, ValueError, TypeError):
        return None


def running_servers(config: Config) -> list[ServerInfo]:
    """The servers whose files are there and whose process still runs; files of dead ones are removed."""
    folder = _folder(config)
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        info = _read(path)
        if info is None or not _alive(info.pid):
            path.unlink(missing_ok=True)  # left by a server that was killed
            continue
        found.append(info)
    return found


def find_server(config: Config) -> ServerInfo | None:
    """A running server that answers from the index, model and embedder this config names, if there is one."""
    wanted = index_id(config.index_dir)
    for info in running_servers(config):
        if (info.index_id, info.model, info.embedder) == (wanted, config.model, config.embedder):
            return info
    return None
