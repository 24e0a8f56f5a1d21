"""Ingest: takes files and folders of articles, gives a new index generation of cleaned, chunked, embedded text.

readers (bytes -> raw articles; sniff says what a file really is) -> clean (page clutter, bodies pasted twice)
-> metadata (title, outlet, date, author) -> documents (Document) -> dedupe (copies indexed once) -> chunking
(sentence-bounded Chunks) -> pipeline (embeds and writes through a rag.store writer; `ingest()` is the entry).
"""
