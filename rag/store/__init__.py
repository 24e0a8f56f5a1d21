"""The index store: one interface (base), backends chosen by location (factory): a folder or a postgresql:// URL."""

from rag.store.base import Filters, HybridQuery, Manifest, Ranked, Store, StoreWriter
from rag.store.factory import index_exists, is_url, open_store, open_writer, register_backend

__all__ = ["Filters", "HybridQuery", "Manifest", "Ranked", "Store", "StoreWriter", "index_exists", "is_url",
           "open_store", "open_writer", "register_backend"]
