"""A damaged embedded index is one clear message naming the generation to fall back to: never a traceback or a
silent load. The matrix: every file of a generation x four kinds of damage, hashed in full and by samples."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.config import Config
from rag.errors import IndexDamagedError
from rag.ingest.pipeline import ingest
from rag.store import generations as gens
from rag.store import open_store
from tests.fakes import FakeEmbedder

BM25_FILES = ["bm25/params.index.json", "bm25/vocab.index.json", "bm25/data.csc.index.npy",
              "bm25/indices.csc.index.npy", "bm25/indptr.csc.index.npy"]
GENERATION_FILES = ["manifest.json", "meta.sqlite", "vectors.faiss", "chunks.npy", *BM25_FILES]
FILES = [gens.CURRENT, *GENERATION_FILES]
DAMAGE = ["flip_start", "flip_middle", "cut_half", "delete"]


def damage(path: Path, kind: str) -> None:
    if kind == "delete":
        path.unlink()
        return
    data = bytearray(path.read_bytes())
    if kind == "cut_half":
        path.write_bytes(data[: len(data) // 2])
        return
    start = 0 if kind == "flip_start" else len(data) // 2
    for i in range(start, min(start + 16, len(data))):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _build(root: Path, seeds: Path) -> tuple[str, str]:
    """An index with two generations (the live one and the one before); returns their names."""
    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    for path in sorted(seeds.glob("*.txt"))[:3]:
        shutil.copy(path, corpus / path.name)
    config = Config(index_dir=str(root / "index"))
    ingest([corpus], config, FakeEmbedder())
    first = (root / "index" / gens.CURRENT).read_text().strip()
    for path in sorted(seeds.glob("*.txt"))[3:]:
        shutil.copy(path, corpus / path.name)
    ingest([corpus], config, FakeEmbedder())
    return first, (root / "index" / gens.CURRENT).read_text().strip()


@pytest.fixture(scope="module", params=["full", "sampled"])
def built(request, tmp_path_factory):
    """Hashed in full (the default for files up to 64 MB) or, with tiny limits, by 16-byte samples as large files
    are at open."""
    seeds = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "seeds"
    if not seeds.is_dir():
        pytest.skip(f"sample corpus not found at {seeds}")
    patch = pytest.MonkeyPatch()
    if request.param == "sampled":
        patch.setattr(gens, "FULL_HASH_BYTES", 64)
        patch.setattr(gens, "_SAMPLE", 16)
    root = tmp_path_factory.mktemp(f"damage-{request.param}")
    names = _build(root, seeds)
    yield root / "index", names
    patch.undo()


@pytest.fixture
def index(built, tmp_path) -> tuple[Path, str, str]:
    source, (previous, live) = built
    target = tmp_path / "index"
    shutil.copytree(source, target)
    return target, previous, live


def test_the_matrix_covers_every_file(index):
    root, _, live = index
    on_disk = {p.relative_to(root / live).as_posix() for p in (root / live).rglob("*") if p.is_file()}
    assert on_disk == set(GENERATION_FILES)


@pytest.mark.parametrize("kind", DAMAGE)
@pytest.mark.parametrize("name", FILES)
def test_damage_is_refused_with_one_clear_message(index, name, kind):
    root, previous, live = index
    damage(root / name if name == gens.CURRENT else root / live / name, kind)
    with pytest.raises(IndexDamagedError) as refused:
        open_store(str(root)).warm_up()
    message = str(refused.value)
    fallback = live if name == gens.CURRENT else previous  # a bad pointer: the live generation itself is fine
    assert f"fall back to it with: echo {fallback} > {root / gens.CURRENT}" in message

    result = CliRunner().invoke(main, ["info", "--index", str(root)])
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    assert "damaged" in result.output and "Traceback" not in result.output

    (root / gens.CURRENT).write_text(fallback + "\n")  # following the advice gives a working index
    store = open_store(str(root), "fake-embedder")
    assert store.stats().generation == fallback and store.check()
    store.close()


def test_ingest_refuses_to_build_on_a_damaged_generation(index, seeds):
    root, previous, live = index
    damage(root / live / "vectors.faiss", "flip_middle")
    with pytest.raises(IndexDamagedError, match=previous):
        ingest([seeds], Config(index_dir=str(root)), FakeEmbedder())
    assert (root / gens.CURRENT).read_text().strip() == live, "nothing was committed"


def test_check_reads_every_byte_that_open_only_samples(tmp_path, seeds, monkeypatch):
    monkeypatch.setattr(gens, "FULL_HASH_BYTES", 64)
    monkeypatch.setattr(gens, "_SAMPLE", 16)
    _, live = _build(tmp_path, seeds)
    root = tmp_path / "index"
    path = root / live / "meta.sqlite"
    data = bytearray(path.read_bytes())
    data[len(data) // 4] ^= 0xFF  # outside the start, middle and end samples
    path.write_bytes(bytes(data))
    assert CliRunner().invoke(main, ["info", "--index", str(root)]).exit_code == 0
    checked = CliRunner().invoke(main, ["info", "--check", "--index", str(root)])
    assert checked.exit_code == 1 and "meta.sqlite does not match its checksum" in checked.output


def test_check_of_a_sound_index_lists_what_it_verified(seed_index):
    result = CliRunner().invoke(main, ["info", "--check", "--index", seed_index.index_dir])
    assert result.exit_code == 0, result.output
    assert "vectors.faiss" in result.output and "sha256 ok" in result.output and "agree" in result.output
