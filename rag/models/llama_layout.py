"""Whether llama.cpp repacks the model's weights at load for its AVX2 kernels, by setting and by CPU.

llama.cpp lays Q4_K weights out again at load ("extra buffer types", REPACK in its build features) for kernels
written for AVX2. On an AVX-512 CPU (AMD EPYC, 2 cores, 2026-11-27; the default 1.5B model) that layout reads a
prompt ~30% slower (93 vs 130 tokens/s) and writes a token ~25% faster (34 vs 45 ms a step), and the load takes
0.6 s longer (1.0 vs 0.4 s). An answer reads ~270 new prompt tokens before it writes anything, and its quotes are
checked in batches, so without the repack the first quote comes ~0.5-0.75 s sooner and a cold answer ~0.6 s
sooner, while a warm answer takes about as long (eval/bench_speed.py, eval/NOTES.md). Other CPUs weigh the two
differently (a written token costs the Xeon of issue 20 ~5.5 prompt tokens' time, this EPYC ~3.6, both
repacked), so "auto" goes by this machine's own timings: the probe that checks a build once per model and CPU
(rag.models.llama_probe) times both layouts, and the one a cold answer would take less time with is used. Without
such timings (a probe recorded before they were taken) "auto" goes by the CPU: not repacked on AVX-512,
llama.cpp's default elsewhere.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Mapping, Sequence

from rag.config import REPACK_CHOICES

# A typical answer (eval/RESULTS.md): ~270 new prompt tokens read (the fixed part is restored from a saved state),
# ~85 written, of which ~15 are checked in batches; the model is loaded once per `rag ask`.
ANSWER_PROMPT_TOKENS = 270
ANSWER_STEPS = 70
# Held for the whole of a load in either layout: the swap below is process-wide, so a load on another thread (two
# models in `rag serve`, the chat's workers) must neither see it nor stack a second swap on it and restore that.
_LOAD_LOCK = threading.Lock()


@dataclass(frozen=True)
class LayoutSpeed:
    """One weights layout timed on this machine by the probe: load, prompt reading, one written token."""

    load_s: float
    prompt_tokens_per_s: float
    step_ms: float

    def answer_seconds(self) -> float:
        """What a cold `rag ask` spends on the model in this layout: load, read the prompt, write the answer."""
        return self.load_s + ANSWER_PROMPT_TOKENS / self.prompt_tokens_per_s + ANSWER_STEPS * self.step_ms / 1000


def measured_speeds(probe_detail: str) -> dict[bool, LayoutSpeed] | None:
    """Both layouts' speeds from a probe's report (rag.models.llama_probe), by repacked or not; None when the
    report has no such timings (recorded before they were taken, or a probe that failed)."""
    try:
        layouts = json.loads(probe_detail)["layouts"]
        return {repack: LayoutSpeed(**layouts["on" if repack else "off"]) for repack in (True, False)}
    except (ValueError, TypeError, KeyError):
        return None


def choose_layout(setting: str, cpu_flags: Sequence[str], measured: Mapping[bool, LayoutSpeed] | None = None
                  ) -> tuple[bool, str]:
    """The `llama_repack` setting decided: whether to repack, and why ("" when the setting forces it)."""
    if setting not in REPACK_CHOICES:
        raise ValueError(f"llama_repack must be one of {', '.join(REPACK_CHOICES)}, got {setting!r}")
    if setting != "auto":
        return setting == "on", ""
    if measured:
        repacked, stored = measured[True].answer_seconds(), measured[False].answer_seconds()
        return repacked <= stored, f"measured here, ~{repacked:.1f} s repacked vs ~{stored:.1f} s not"
    if "avx512f" in cpu_flags:
        return False, "AVX-512 CPU"
    return True, ""


def repack_weights(setting: str, cpu_flags: Sequence[str], measured: Mapping[bool, LayoutSpeed] | None = None
                   ) -> bool:
    """The `llama_repack` setting decided for a CPU with these /proc/cpuinfo flags and, for "auto", this machine's
    timings of both layouts if the probe took them (see choose_layout)."""
    return choose_layout(setting, cpu_flags, measured)[0]


def repack_here(setting: str, probe_detail: str = "") -> bool:
    """The `llama_repack` setting decided for this machine: its CPU (/proc/cpuinfo) and the model's probe report."""
    from rag.models.llama_build import cpu_description

    return repack_weights(setting, cpu_description()[1], measured_speeds(probe_detail))


@contextmanager
def weights_layout(repack: bool) -> Iterator[None]:
    """Models loaded inside load with (or without) the repack. llama-cpp-python's `Llama` takes no argument for
    it, so the default model parameters it starts from are swapped for the duration of the load; loads inside
    take turns (one at a time in the process)."""
    import llama_cpp.llama_cpp as low

    with _LOAD_LOCK:
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
