"""Whether llama.cpp repacks the model's weights at load for its AVX2 kernels, by setting and by CPU.

llama.cpp lays Q4_K weights out again at load ("extra buffer types", REPACK in its build features) for kernels
written for AVX2. On an AVX-512 CPU (AMD EPYC, 2 cores, 2026-11-27; the default 1.5B model) that layout reads a
prompt ~30% slower (93 vs 130 tokens/s) and writes a token ~25% faster (34 vs 45 ms a step), and the load takes
0.6 s longer (1.0 vs 0.4 s). An answer reads ~270 new prompt tokens before it writes anything, and its quotes are
checked in batches, so without the repack the first quote comes ~0.5-0.75 s sooner and a cold answer ~0.6 s
sooner, while a warm answer takes about as long (eval/bench_speed.py, eval/NOTES.md). On CPUs without AVX-512 the
repacked kernels are meant to be the fast ones (not measured here), so "auto" keeps llama.cpp's default there.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

CHOICES = ("auto", "on", "off")


def repack_weights(setting: str, cpu_flags: Sequence[str]) -> bool:
    """The `llama_repack` setting decided for a CPU with these /proc/cpuinfo flags ("auto": not on AVX-512)."""
    if setting not in CHOICES:
        raise ValueError(f"llama_repack must be one of {', '.join(CHOICES)}, got {setting!r}")
    if setting == "auto":
        return "avx512f" not in cpu_flags
    return setting == "on"


def repack_here(setting: str) -> bool:
    """The `llama_repack` setting decided for this machine's CPU (/proc/cpuinfo)."""
    from rag.models.llama_build import cpu_description

    return repack_weights(setting, cpu_description()[1])


@contextmanager
def weights_layout(repack: bool) -> Iterator[None]:
    """Models loaded inside load with (or without) the repack. llama-cpp-python's `Llama` takes no argument for
    it, so the default model parameters it starts from are swapped for the duration of the load."""
    import llama_cpp.llama_cpp as low

    if repack:
        yield  # llama.cpp's own default
        return
    original = low.llama_model_default_params

    def without_repack():
        params = original()
        params.use_extra_bufts = False
        return params

    low.llama_model_default_params = without_repack
    try:
        yield
    finally:
        low.llama_model_default_params = original
