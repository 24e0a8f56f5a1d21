"""The index store: one interface (base), backends chosen by location (factory): a folder or a postgresql:// URL."""

from importlib import import_module

_EXPORTS = {"Filters": "base", "HybridQuery": "base", "Manifest": "base", "Ranked": "base", "Store": "base",
            "StoreWriter": "base", "index_exists": "factory", "is_url": "factory", "open_store": "factory",
            "open_writer": "factory", "register_backend": "factory"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    # Lazy, so that `rag --help` (which registers `rag db` from rag.store.cli) does not import NumPy.
    if name in _EXPORTS:
        return getattr(import_module(f"rag.store.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'rag.store' has no attribute {name!r}")
