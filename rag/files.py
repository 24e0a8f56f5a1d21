"""File helpers shared by ingest, models, evaluation and the UI: JSONL rows and file checksums."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable, Iterator


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in blocks so a 1 GB model does not sit in memory."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def json_object(line: str) -> dict:
    """The JSON object on one line; ValueError says what the line is instead."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from exc
    if not isinstance(row, dict):
        raise ValueError("expected a JSON object")
    return row


def jsonl_objects(lines: Iterable[str], where: str, error: type[Exception]) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; a line that is not a JSON object raises `error`."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json_object(line)
        except ValueError as exc:
            raise error(f"{where}:{number}: {exc}") from exc
