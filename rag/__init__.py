"""Local question answering over news articles, with cited passages and no network."""

from rag.errors import RagError
from rag.types import Answer, Chunk, Citation, Document, Hit

__all__ = ["Answer", "Chunk", "Citation", "Document", "Hit", "RagError"]
__version__ = "0.1.0"
