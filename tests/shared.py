"""Test data and helpers several test modules use: answer shapes, evidence groups, seed copies, free ports."""

from __future__ import annotations

import socket
from pathlib import Path

from rag.answer.evidence import EvidenceGroup, Sentence
from rag.types import Document

# What `rag ask --json` prints (rag.types.Answer.to_json), locally and through a server.
JSON_KEYS = {"question", "answer", "abstained", "citations", "passages", "evidence", "confidence", "timings", "model",
             "embedder", "refused", "dangling", "signals"}
PASSAGE_KEYS = {"n", "doc_id", "source", "title", "outlet", "date", "chunk_id", "text"}
TIMING_KEYS = {"retrieve_ms", "prompt_tokens", "first_token_ms", "first_quote_ms", "completion_tokens", "total_ms"}

RUDAW = ("The ministry denied its involvement in the airstrikes. Twenty-two militiamen were killed in the strikes, "
         "the Syrian Observatory for Human Rights (SOHR) reported.")
ESTA = "The official said the strikes killed one fighter and wounded four. Kataib Hezbollah later confirmed it."


def evidence_group(doc_id: str, outlet: str, text: str) -> EvidenceGroup:
    """An article's evidence group with every sentence of `text` shown."""
    doc = Document(doc_id, f"{doc_id}.txt", f"{outlet} story", text, outlet=outlet, date="2021-02-27")
    sentences = []
    start = 0
    for part in text.split(". "):
        part = part if part.endswith(".") else part + "."
        begin = text.index(part.rstrip("."), start)
        sentences.append(Sentence(doc_id, begin, begin + len(part), part))
        start = begin + len(part)
    return EvidenceGroup(doc, f"{doc_id}:0", sentences=sentences)


GROUPS = [evidence_group("rudaw", "Rudaw", RUDAW), evidence_group("esta", "ESTA", ESTA)]


def copy_seeds(seeds: Path, target: Path, names: list[str] | None = None) -> Path:
    """Copy the sample articles (or only `names`) into `target`, to ingest and change without touching them."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(seeds.glob("*.txt")):
        if names is None or path.name in names:
            (target / path.name).write_bytes(path.read_bytes())
    return target


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
