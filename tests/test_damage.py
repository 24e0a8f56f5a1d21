"""A damaged embedded index is one clear message naming the generation to fall back to: never a traceback or a
silent load. The matrix: every file of a generation x four kinds of damage, hashed in full and by samples."""

from __future__ import annotations

import shutil
import time
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
    config = Config(index_dir=str(root / "index"), cache_dir=str(root / "cache"))
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


def test_a_file_hashed_sound_is_not_hashed_again_until_it_changes(tmp_path, seeds, monkeypatch):
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(gens, "STABLE_SECONDS", 0.0)  # the build's files count as settled at once
    monkeypatch.setattr(gens, "FULL_HASH_BYTES", 64 << 20)  # (the module's "sampled" fixture may have lowered it)
    _, live = _build(tmp_path, seeds)
    root, gen = tmp_path / "index", tmp_path / "index" / live
    time.sleep(0.05)  # the change below lands on a later tick of the clock than the build's writes
    _, files = gens.read_manifest(root, gen)
    hashed, real = [], gens.full_sha256
    monkeypatch.setattr(gens, "full_sha256", lambda path: hashed.append(path.name) or real(path))
    gens.verify_files(root, gen, files, full=False)
    assert len(hashed) == len(files)  # every file is small: all hashed whole, once
    again = gens.verify_files(root, gen, files, full=False)
    assert len(hashed) == len(files) and all("unchanged since" in line for line in again)
    gens.verify_files(root, gen, files, full=True)  # rag info --check hashes everything, whatever was seen
    assert len(hashed) == 2 * len(files)
    path = gen / "meta.sqlite"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # the same size, so only its times tell
    path.write_bytes(bytes(data))
    with pytest.raises(IndexDamagedError, match="meta.sqlite does not match its checksum"):
        gens.verify_files(root, gen, files, full=False)


def test_hash_stamps_live_in_the_configured_cache_and_go_with_their_generation(tmp_path, seeds, monkeypatch):
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "elsewhere"))  # the Config's cache_dir wins (rag.toml)
    monkeypatch.setattr(gens, "STABLE_SECONDS", 0.0)
    monkeypatch.setattr(gens, "FULL_HASH_BYTES", 64 << 20)
    first, second = _build(tmp_path, seeds)  # the second ingest checked the first before building on it
    root, cache = tmp_path / "index", str(tmp_path / "cache")
    stamps = gens.VerifiedFiles.path_for(root / first, cache)
    assert stamps.is_file() and not (tmp_path / "elsewhere").exists()
    open_store(str(root), cache_dir=cache).close()  # a reader opening the live generation stamps it there too
    assert gens.VerifiedFiles.path_for(root / second, cache).is_file()
    for n in (3, 4):  # a build prunes before it writes, keeping the live generation and the one before
        article = f"Harbour report {n}\n\n" + " ".join(f"The harbour master counted {n * 10 + i} boats on day {i}."
                                                      for i in range(30))
        (tmp_path / "corpus" / f"extra{n}.txt").write_text(article + "\n")
        ingest([tmp_path / "corpus"], Config(index_dir=str(root), cache_dir=cache), FakeEmbedder())
    assert not (root / first).exists() and not stamps.exists()
    assert not (root / second).exists() and not gens.VerifiedFiles.path_for(root / second, cache).exists()
    assert not (tmp_path / "elsewhere").exists()
    assert "fall back to it" in gens.fallback_advice(root)  # a damage message hashes a generation in full...
    assert not (tmp_path / "elsewhere").exists()  # ...and leaves no stamps where no prune would find them


def test_generation_names_sort_in_the_order_they_were_made(monkeypatch):
    """One clock reading per name: made at hh:mm:42.974 and then at hh:mm:42.999, the later sorts last even when
    the clock turns to :43 while a name is being written."""
    readings = iter([1_795_000_000_974_000_000, 1_795_000_000_999_999_999, 1_795_000_001_000_000_500])
    monkeypatch.setattr(gens.time, "time_ns", lambda: next(readings))
    first, second = gens.new_generation_name(), gens.new_generation_name()
    assert sorted([second, first]) == [first, second]
    assert first.endswith("-974000000") and second.endswith("-999999999")
    assert first[:20] == second[:20] == "gen-" + time.strftime("%Y%m%d-%H%M%S", time.gmtime(1_795_000_000)) + "Z"


def test_generations_sort_by_when_they_were_made_across_time_zones_and_name_shapes(tmp_path, monkeypatch):
    """Names in UTC ("…Z-") sort with the older local-time names by the moment they name, not as strings: in
    Berlin (UTC+1 in November) a local 12:30 is 11:30 UTC: after a UTC 11:15, before a UTC 12:00."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        names = ["gen-20261128-120000Z-000000000", "gen-20261128-123000-000000000", "gen-20261128-111500Z-000000005",
                 "gen-old"]
        for name in names:
            (tmp_path / name).mkdir()
        assert [p.name for p in gens.generations(tmp_path)] == [names[3], names[2], names[1], names[0]]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
