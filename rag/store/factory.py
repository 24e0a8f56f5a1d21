"""Chooses the store backend from the index setting: a folder path (embedded) or a URL whose scheme names one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from rag.store.base import Store, StoreWriter, check_embedder
from rag.store.locations import display_location, is_url, scheme_of  # noqa: F401 - part of the factory's face


@dataclass(frozen=True)
class Backend:
    """How to open a reader and a writer for locations of one kind; backends import their libraries lazily."""

    open_store: Callable[..., Store]  # (location, verify, cache_dir) -> Store
    # (location, embedder, dim, chunk_tokens, overlap, on_wait, cache_dir) -> writer
    open_writer: Callable[..., StoreWriter]
    exists: Callable[[str], bool]  # is there an index there (without loading it)?


def _folder() -> Backend:
    from rag.store import folder, folder_writer

    return Backend(folder.FolderStore.open, folder_writer.FolderWriter, folder.index_exists)


def _postgres() -> Backend:
    from rag.store import postgres, postgres_writer

    return Backend(postgres.PostgresStore.open, postgres_writer.PostgresWriter, postgres.index_exists)


_BACKENDS: dict[str, Callable[[], Backend]] = {"": _folder, "postgresql": _postgres, "postgres": _postgres}


def register_backend(scheme: str, make: Callable[[], Backend]) -> None:
    """Make `scheme://...` locations open with this backend (tests register fakes this way)."""
    _BACKENDS[scheme.lower()] = make


def unregister_backend(scheme: str) -> None:
    _BACKENDS.pop(scheme.lower(), None)


def backend_for(location: str) -> Backend:
    from rag.errors import ConfigError

    scheme = scheme_of(location)
    if scheme not in _BACKENDS:
        raise ConfigError(f"--index {location!r}: unknown kind of index {scheme + '://'!r}. Give a folder path or a "
                          f"postgresql:// URL.")
    return _BACKENDS[scheme]()


def open_store(location: str, embedder_name: str | None = None, verify: str = "open",
               cache_dir: str | None = None) -> Store:
    """The index at `location`, checked (verify: "open" = cheap checks, "full" = every byte) and, when an
    embedder name is given, refused if it was built with another one. `cache_dir` (Config.cache_dir): where a
    backend may keep what it learnt about the index (the folder index: which files were hashed sound)."""
    store = backend_for(str(location)).open_store(str(location), verify=verify, cache_dir=cache_dir)
    if embedder_name is not None:
        try:
            check_embedder(store.manifest, store.location, embedder_name)
        except BaseException:
            store.close()
            raise
    return store


def open_writer(location: str, embedder: str, dim: int, chunk_tokens: int, overlap: int,
                on_wait: Callable[[], None] | None = None, cache_dir: str | None = None) -> StoreWriter:
    """A writer for the index at `location` (created when missing). Another writer at work makes this fail,
    or, with `on_wait`, call on_wait() once and wait for it to finish. `cache_dir` as for open_store."""
    return backend_for(str(location)).open_writer(str(location), embedder, dim, chunk_tokens, overlap,
                                                  on_wait=on_wait, cache_dir=cache_dir)


def index_exists(location: str) -> bool:
    """Whether an index was built at `location`, without loading it (the chat's "nothing indexed yet")."""
    return backend_for(str(location)).exists(str(location))
