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

CHOICES = ("auto", "shipped", "q8_0")
_Q8_0 = 7  # llama.cpp's LLAMA_FTYPE_MOSTLY_Q8_0


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
    return q8_0_copy(source, cache_dir)


def q8_0_copy(source: Path, cache_dir: Path) -> Path:
    """A Q8_0 copy of the GGUF at `source` under cache_dir/models, made once and again only when the source file
    changes (its path, size and modification time are recorded beside the copy)."""
    target = cache_dir / "models" / f"{source.stem}.q8_0.gguf"
    record = target.with_name(target.name + ".source.json")
    stat = source.stat()
    made_from = {"source": str(source.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    try:
        if target.is_file() and json.loads(record.read_text(encoding="utf-8")) == made_from:
            return target
    except (OSError, ValueError):
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        _quantize(source, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    record.write_text(json.dumps(made_from) + "\n", encoding="utf-8")
    return target


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
