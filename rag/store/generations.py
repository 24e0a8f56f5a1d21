"""Generations of the embedded index: the CURRENT pointer, manifests with file checksums, the writer lock."""

from __future__ import annotations

import calendar
import contextlib
import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from rag.errors import IndexDamagedError, IndexMismatchError, IngestError
from rag.store.base import Manifest

FORMAT_VERSION = 2  # 2: checksums of every file and the per-chunk filter array (1 had neither)
CURRENT = "CURRENT"  # a one-line file naming the live generation; replaced atomically on commit
MANIFEST = "manifest.json"
# Files up to this size are hashed in full at every open: sha256 runs at ~1.2 GB/s here, so 64 MB costs ~50 ms.
# Larger ones get their size and a hash of three 1 MiB samples (start, middle, end) at open, everything with
# `rag info --check`.
FULL_HASH_BYTES = 64 << 20
_SAMPLE = 1 << 20
# gen-YYYYmmdd-HHMMSS[Z]-<nanoseconds>: "Z" marks UTC; names without it (before 2026-11-28) are in local time.
_GENERATION_NAME = re.compile(r"gen-(\d{8}-\d{6})(Z?)-(\d{9})")
# A file hashed whole and found sound is not hashed again while its size, times and inode stay the same (a stat
# cache as git's): a RealTimeQA-sized index (~130 MB under the limit) then opens ~0.12 s sooner (Intel Xeon).
# Anything that rewrites a file moves its ctime, which no one can set back. A file changed in the last few
# seconds is not remembered: a change within the clock's tick could leave its times as they were (git's "racy"
# files).
STABLE_SECONDS = 3.0


def sample_sha256(path: Path, size: int) -> str:
    """Hash of the first, middle and last MiB: catches a damaged header, middle or tail without reading GBs."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for offset in sorted({0, max(0, size // 2 - _SAMPLE // 2), max(0, size - _SAMPLE)}):
            f.seek(offset)
            digest.update(f.read(_SAMPLE))
    return digest.hexdigest()


def full_sha256(path: Path) -> str:
    from rag.files import sha256_file

    return sha256_file(path)


def file_record(path: Path) -> dict:
    size = path.stat().st_size
    record = {"size": size, "sha256": full_sha256(path)}
    if size > FULL_HASH_BYTES:
        record["sample_sha256"] = sample_sha256(path, size)
    return record


def _canonical(data: dict) -> str:
    return json.dumps({k: v for k, v in data.items() if k != "checksum"}, sort_keys=True, separators=(",", ":"))


def write_manifest(gen: Path, manifest: Manifest) -> None:
    """manifest.json with the size and hashes of every other file of the generation, and its own checksum."""
    files = {p.relative_to(gen).as_posix(): file_record(p)
             for p in sorted(gen.rglob("*")) if p.is_file() and p.name != MANIFEST}
    data = {**asdict(manifest), "files": files}
    data["checksum"] = hashlib.sha256(_canonical(data).encode()).hexdigest()
    (gen / MANIFEST).write_text(json.dumps(data, indent=2), encoding="utf-8")


def _damaged(root: Path, gen: Path, what: str) -> IndexDamagedError:
    return IndexDamagedError(f"The index at {root} is damaged: {what} (generation {gen.name}). "
                             + fallback_advice(root, exclude=gen.name))


def read_manifest(root: Path, gen: Path) -> tuple[Manifest, dict]:
    """The generation's manifest and its file records; a manifest that is damaged or from another version is
    refused with a message."""
    try:
        data = json.loads((gen / MANIFEST).read_bytes().decode("utf-8"))
        version = data.get("format_version")
    except FileNotFoundError as exc:
        raise _damaged(root, gen, f"{MANIFEST} is missing") from exc
    except (OSError, UnicodeDecodeError, ValueError, AttributeError) as exc:
        raise _damaged(root, gen, f"{MANIFEST} is unreadable ({type(exc).__name__})") from exc
    if version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"The index at {root} has format version {version}, this rag reads version {FORMAT_VERSION}. "
            f"Rebuild it: delete {root} and run `rag ingest` again.")
    if data.get("checksum") != hashlib.sha256(_canonical(data).encode()).hexdigest():
        raise _damaged(root, gen, f"{MANIFEST} does not match its checksum")
    try:
        return Manifest(**{k: data[k] for k in Manifest.__dataclass_fields__}), data["files"]
    except (KeyError, TypeError) as exc:
        raise _damaged(root, gen, f"{MANIFEST} lacks {exc}") from exc


def verify_files(root: Path, gen: Path, files: dict, full: bool, cache_dir: str | None = None,
                 remember: bool = True) -> list[str]:
    """Check every file of a generation against the manifest: size always; the full hash of small files, or of
    all when `full`; sampled hashes of large ones otherwise. A small file already hashed and unchanged since
    (VerifiedFiles, kept under `cache_dir`) is not hashed again unless `full`; `remember=False` writes no new
    stamps. Returns what was checked; raises on damage."""
    checked, verified = [], VerifiedFiles(gen, cache_dir)
    for name, record in files.items():
        path = gen / name
        try:
            stat = path.stat()
        except FileNotFoundError as exc:
            raise _damaged(root, gen, f"{name} is missing") from exc
        if stat.st_size != record["size"]:
            raise _damaged(root, gen, f"{name} has {stat.st_size} bytes, {record['size']} were written")
        if not full and stat.st_size <= FULL_HASH_BYTES and verified.holds(name, stat, record["sha256"]):
            ok, how = True, "sha256 ok before, unchanged since"
        elif full or stat.st_size <= FULL_HASH_BYTES:
            ok, how = full_sha256(path) == record["sha256"], "sha256 ok"
            if ok:
                verified.add(name, stat, record["sha256"])
        else:
            ok, how = sample_sha256(path, stat.st_size) == record.get("sample_sha256"), "sampled sha256 ok"
        if not ok:
            raise _damaged(root, gen, f"{name} does not match its checksum")
        checked.append(f"{name}: {stat.st_size} bytes, {how}")
    if remember:
        verified.save()
    return checked


class VerifiedFiles:
    """The files of one generation hashed whole and found sound, by their stat, kept in the user's cache (a
    read-only index still benefits; a cache that cannot be written only costs the hashing)."""

    def __init__(self, gen: Path, cache_dir: str | None = None):
        self.path = self.path_for(gen, cache_dir)
        try:
            self.stamps = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.stamps = {}
        self.changed = False

    @staticmethod
    def path_for(gen: Path, cache_dir: str | None = None) -> Path:
        """Where the stamps of the generation `gen` are kept (removed with it by prune_generations): under the
        configured `cache_dir`; without one (a caller with no Config), where the environment or the default
        puts the cache."""
        from rag.config import Config

        cache = Path(cache_dir or os.environ.get("RAG_CACHE_DIR") or Config().cache_dir).expanduser()
        key = hashlib.sha256(str(gen.resolve()).encode()).hexdigest()[:24]
        return cache / "verified-index-files" / f"{key}.json"

    @staticmethod
    def _stamp(stat: os.stat_result, sha256: str) -> list:
        return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev, sha256]

    def holds(self, name: str, stat: os.stat_result, sha256: str) -> bool:
        return self.stamps.get(name) == self._stamp(stat, sha256)

    def add(self, name: str, stat: os.stat_result, sha256: str) -> None:
        if time.time() - max(stat.st_mtime_ns, stat.st_ctime_ns) / 1e9 >= STABLE_SECONDS:
            self.stamps[name] = self._stamp(stat, sha256)
            self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(self.stamps), encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError:
            pass  # only the next open's hashing is lost


def read_current(root: Path) -> Path | None:
    """The live generation's folder; None when nothing was ever committed; damaged pointers are refused."""
    pointer = root / CURRENT
    if not pointer.is_file():
        if generations(root):
            raise IndexDamagedError(f"The index at {root} is damaged: {CURRENT} is missing. "
                                    + fallback_advice(root))
        return None
    try:
        name = pointer.read_bytes().decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        name = ""
    gen = root / name
    if not name.startswith("gen-") or "/" in name or not gen.is_dir():
        raise IndexDamagedError(f"The index at {root} is damaged: {CURRENT} does not name a generation. "
                                + fallback_advice(root))
    return gen


def generations(root: Path) -> list[Path]:
    """The generations under `root`, oldest first (by when their names say they were made)."""
    return sorted((p for p in root.glob("gen-*") if p.is_dir()), key=_made_at)


def _made_at(gen: Path) -> tuple[float, int, str]:
    """When a generation was made, read from its name: seconds since the epoch, nanoseconds, and the name
    (a name of another shape sorts first, by name)."""
    match = _GENERATION_NAME.fullmatch(gen.name)
    if not match:
        return (float("-inf"), 0, gen.name)
    stamp = time.strptime(match.group(1), "%Y%m%d-%H%M%S")
    seconds = calendar.timegm(stamp) if match.group(2) else time.mktime(stamp)
    return (seconds, int(match.group(3)), gen.name)


def _is_good(root: Path, gen: Path) -> bool:
    try:
        _, files = read_manifest(root, gen)
        # Hashed in full and remembered nowhere: a damage message has no Config, so its stamps could only go to
        # the environment's cache, where prune_generations (which follows the configured one) never removes them.
        verify_files(root, gen, files, full=True, remember=False)
    except (IndexDamagedError, IndexMismatchError):
        return False
    return True


def fallback_advice(root: Path, exclude: str | None = None) -> str:
    """Names the newest intact generation other than `exclude`, and how to go back to it."""
    for gen in reversed(generations(root)):
        if gen.name != exclude and _is_good(root, gen):
            return (f"The last good generation is {gen.name}; fall back to it with: "
                    f"echo {gen.name} > {root / CURRENT}  (then re-run `rag ingest` to add what came after it).")
    return f"No intact generation is left: delete {root} and run `rag ingest` again to rebuild it."


def write_current(root: Path, gen: Path) -> None:
    pointer = root / f".{CURRENT}.tmp-{os.getpid()}"
    pointer.write_text(gen.name + "\n", encoding="utf-8")
    fsync_file(pointer)
    os.replace(pointer, root / CURRENT)
    fsync_file(root)


def new_generation_name() -> str:
    """gen-YYYYmmdd-HHMMSSZ-<nanoseconds>, in UTC from one reading of the clock: `generations` sorts them in the
    order they were made, which the fallback to the one before relies on. (Two readings once named a generation
    made at hh:mm:42.999 "…42-001…", sorting it before one made at hh:mm:42.974; and local time repeats an hour
    when daylight saving ends.)"""
    now = time.time_ns()
    return f"gen-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(now // 10**9))}Z-{now % 10**9:09d}"


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: Path) -> None:
    for item in path.rglob("*"):
        if item.is_file():
            fsync_file(item)
    fsync_file(path)


def prune_generations(root: Path, keep: set[str], cache_dir: str | None = None) -> None:
    """Drop old generations and leftovers of killed ingests; the one before the live one stays for open readers
    and as the fallback of a damaged one. Only a writer holding the lock calls this, so no other ingest can own
    a staging folder."""
    gens = generations(root)
    keep = keep | {p.name for p in gens[-2:]}
    for path in gens:
        if path.name not in keep:
            with contextlib.suppress(OSError):  # a stamp file left behind only takes a few bytes of the cache
                VerifiedFiles.path_for(path, cache_dir).unlink(missing_ok=True)
            shutil.rmtree(path, ignore_errors=True)
    for leftover in root.glob(".staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in root.glob(f".{CURRENT}.tmp-*"):
        leftover.unlink(missing_ok=True)


def lock(root: Path, on_wait: Callable[[], None] | None = None):
    """One writer at a time: two ingests committing at once would each drop the other's documents.

    Without `on_wait` a busy lock is an error; with it, on_wait() is called and the lock awaited.
    """
    import fcntl

    handle = (root / ".lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        if on_wait is None:
            handle.close()
            raise IngestError(f"Another ingest is writing to {root}; wait for it to finish and run this again "
                              "(or use `rag ingest --wait`).") from exc
        on_wait()
        fcntl.flock(handle, fcntl.LOCK_EX)
    return handle
