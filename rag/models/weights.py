"""Which weights llama.cpp reads: the GGUF as shipped, or a Q8_0 copy made once where llama.cpp has AMX kernels.

Why: ggml's AMX tile kernels pay for 8-bit weights and not for the shipped Q4_K_M's (its K-quant tile path read
prompts no faster than the AVX-512 one). On the project's 2.1 GHz Intel Xeon with AMX, 2 cores, llama.cpp built
with its AMX kernels (rag.models.llama_build) reads a 300-token prompt at ~140 tokens/s from a Q8_0 copy against
~88 from the Q4_K_M file, and writes a token in ~80 ms against ~92 (eval/NOTES.md). The copy is the same model
re-encoded with 8 bits a weight (each Q4_K value fits one Q8_0 step), 1.8 GB made in ~25 s once; it answers
under the shipped model's identity, so its calibration still applies.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from rag.errors import ModelError

_Q8_0 = 7  # llama.cpp's LLAMA_FTYPE_MOSTLY_Q8_0
# File types of 8 bits a weight or more (F32, F16, Q8_0, BF16): "auto" reads them as they are, since a Q8_0 copy
# would gain nothing (Q8_0) or lose precision the user chose to keep.
_WIDE = frozenset({0, 1, _Q8_0, 32})


def has_amx_kernels() -> bool:
    """Whether llama.cpp runs AMX kernels here: built with them (its own feature list says AMX_INT8 = 1), on a CPU
    that has AMX."""
    from rag.models.llama_build import cpu_description, wants_amx
    from rag.models.llama_probe import system_info

    return "AMX_INT8 = 1" in system_info() and wants_amx(cpu_description()[1])


def weights_for(setting: str, source: Path, cache_dir: Path) -> Path:
    """The GGUF llama.cpp should read for `source` under the `llama_weights` setting."""
    if setting == "shipped" or (setting == "auto" and not has_amx_kernels()):
        return source
    return q8_0_copy(source, cache_dir, kept=_WIDE if setting == "auto" else frozenset({_Q8_0}))


def q8_0_copy(source: Path, cache_dir: Path, kept: frozenset[int] = frozenset({_Q8_0})) -> Path:
    """A Q8_0 copy of the GGUF at `source` under cache_dir/models, made once and again only when the source file
    changes (its path, size, modification time and file type are recorded beside the copy); `source` itself when
    its file type is one of `kept`."""
    target = cache_dir / "models" / f"{source.stem}.q8_0.gguf"
    record = target.with_name(target.name + ".source.json")
    stat = source.stat()
    made_from = {"source": str(source.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    try:
        found = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        found = {}
    recorded = found
    same_source = {key: found.get(key) for key in made_from} == made_from
    if not same_source or "file_type" not in found:
        # A record from before file types were kept was written after its copy: that copy stands.
        copied = same_source and target.is_file()
        recorded = {**made_from, "file_type": _file_type(source), **({"copied": True} if copied else {})}
    keep_source = recorded["file_type"] in kept
    if not keep_source and not (target.is_file() and recorded.get("copied")):
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
        try:
            _quantize(source, partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        recorded = {**recorded, "copied": True}
    if recorded != found:  # written only when it changed: this runs at every model load
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(recorded) + "\n", encoding="utf-8")
    return source if keep_source else target


def _file_type(source: Path) -> int:
    """The GGUF's `general.file_type` (llama.cpp's LLAMA_FTYPE_*), read by loading its vocabulary only (~0.5 s)."""
    import ctypes

    import llama_cpp
    from llama_cpp._utils import suppress_stdout_stderr

    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    with suppress_stdout_stderr(disable=False):
        model = llama_cpp.llama_model_load_from_file(str(source).encode(), params)
    if not model:
        raise ModelError(f"llama.cpp could not read {source} as a GGUF model; check the file, or use it as shipped "
                         "with llama_weights = \"shipped\" in rag.toml (or RAG_LLAMA_WEIGHTS=shipped).")
    try:
        value = ctypes.create_string_buffer(32)
        found = llama_cpp.llama_model_meta_val_str(model, b"general.file_type", value, len(value))
        return int(value.value) if found > 0 else -1  # unknown: copied, as before file types were read
    finally:
        llama_cpp.llama_model_free(model)


def _quantize(source: Path, target: Path) -> None:
    """llama.cpp's own requantization of `source` to Q8_0 (every tensor it quantizes; the rest as it is)."""
    import ctypes

    import llama_cpp
    from llama_cpp._utils import suppress_stdout_stderr

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = _Q8_0
    params.allow_requantize = True
    params.nthread = os.cpu_count() or 1
    with suppress_stdout_stderr(disable=False):  # a line per tensor on stderr otherwise, in the middle of an answer
        failed = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), ctypes.byref(params))
    if failed:
        raise ModelError(f"Making a Q8_0 copy of {source} failed (llama.cpp returned {failed}); use the weights as "
                         f"shipped with llama_weights = \"shipped\" in rag.toml (or RAG_LLAMA_WEIGHTS=shipped).")
