"""Which model exactly answers: a GGUF by name and sha256, a model server's model by the id it reports.

A calibration belongs to one model (rag.answer.calibrations); this is what it is matched on. A GGUF's digest is
computed once per file (size and modification time unchanged) and kept under the cache folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from rag.files import sha256_file


@dataclass(frozen=True)
class ModelIdentity:
    """A model as a calibration names it."""

    name: str  # the registry name, the .gguf file's name, or the model server's model id
    sha256: str = ""  # of the GGUF file, when the model is one on this machine

    @property
    def key(self) -> str:
        """What two identities are compared on: the file's digest when known, else the name."""
        return f"sha256:{self.sha256}" if self.sha256 else f"id:{self.name}"


def identity_of(generator) -> ModelIdentity:
    """The generator's identity; one that has none (a test's fake) is known by its name alone."""
    found = getattr(generator, "identity", None)
    return found if isinstance(found, ModelIdentity) else ModelIdentity(str(getattr(generator, "name", "")))


def gguf_identity(name: str, path: Path, cache_dir: str | Path, known_sha256: str = "") -> ModelIdentity:
    """A local GGUF's identity: the registry's digest when it has one (checked when assembled), else the file's."""
    return ModelIdentity(name, known_sha256 or _cached_digest(Path(path), Path(cache_dir)))


def _cached_digest(path: Path, cache_dir: Path) -> str:
    """The file's sha256, read once per (path, size, mtime): hashing a 1 GB model takes seconds."""
    stat = path.stat()
    key = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    store = cache_dir / "model-digests.json"
    try:
        known = json.loads(store.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if key not in known:
        known[key] = sha256_file(path)
        try:
            store.parent.mkdir(parents=True, exist_ok=True)
            partial = store.with_suffix(f".partial-{os.getpid()}")
            partial.write_text(json.dumps(known, indent=1), encoding="utf-8")
            os.replace(partial, store)
        except OSError:
            pass  # a read-only cache only costs the hashing again next time
    return known[key]
