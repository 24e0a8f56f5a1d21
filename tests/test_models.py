"""Model registry: split GGUFs are assembled once and verified; missing or damaged parts are clear errors."""

from __future__ import annotations

import hashlib
import sys

import pytest

from rag.errors import ModelError
from rag.models.registry import LLMS, SplitGGUF, assemble, embedder_path, llm_path


def _fake_parts(tmp_path, monkeypatch, contents: list[bytes], prefix="fakepart_") -> None:
    for i, data in enumerate(contents, start=1):
        package = tmp_path / "site" / f"{prefix}{i}"
        package.mkdir(parents=True)
        (package / "part.bin").write_bytes(data)
        (package / "__init__.py").write_text(
            "import os\ndef get_part_path():\n    return os.path.join(os.path.dirname(__file__), 'part.bin')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for name in list(sys.modules):
        if name.startswith(prefix):
            del sys.modules[name]


def _spec(contents: list[bytes], sha: str | None = None) -> SplitGGUF:
    joined = b"".join(contents)
    return SplitGGUF(name="fake", module_prefix="fakepart_", parts=len(contents),
                     sha256=sha or hashlib.sha256(joined).hexdigest(), size=len(joined), install_hint="pip install x")


def test_assemble_concatenates_in_order_once(tmp_path, monkeypatch):
    parts = [b"GGUF", b"-part2", b"-part3"]
    _fake_parts(tmp_path, monkeypatch, parts)
    path = assemble(_spec(parts), tmp_path / "cache")
    assert path.read_bytes() == b"GGUF-part2-part3"
    mtime = path.stat().st_mtime_ns
    assert assemble(_spec(parts), tmp_path / "cache").stat().st_mtime_ns == mtime  # reused, not rebuilt


def test_checksum_mismatch_is_refused_and_leaves_nothing(tmp_path, monkeypatch):
    parts = [b"GGUF", b"-damaged"]
    _fake_parts(tmp_path, monkeypatch, parts)
    with pytest.raises(ModelError, match="sha256"):
        assemble(_spec(parts, sha="0" * 64), tmp_path / "cache")
    assert not any((tmp_path / "cache" / "models").iterdir())


def test_missing_part_names_the_install(tmp_path, monkeypatch):
    _fake_parts(tmp_path, monkeypatch, [b"a"])
    spec = SplitGGUF(name="fake", module_prefix="fakepart_", parts=2, sha256="0" * 64, size=2, install_hint="pip HINT")
    with pytest.raises(ModelError, match="Part 2 of 2.*pip HINT"):
        assemble(spec, tmp_path / "cache")


def test_names_and_paths(tmp_path):
    assert set(LLMS) == {"qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "smollm2-135m"}
    gguf = tmp_path / "my.gguf"
    gguf.write_bytes(b"GGUF")
    assert llm_path(str(gguf), tmp_path) == gguf
    with pytest.raises(ModelError, match="Unknown model"):
        llm_path("gpt-17", tmp_path)
    with pytest.raises(ModelError, match="Unknown embedder"):
        embedder_path("nope")
    assert embedder_path(str(tmp_path)) == tmp_path
