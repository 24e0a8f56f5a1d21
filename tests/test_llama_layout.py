"""Whether llama.cpp repacks the weights at load: the setting decided per CPU, and the load done that way."""

from __future__ import annotations

import json

import pytest

from rag.config import load_config
from rag.errors import ConfigError
from rag.models.llama_layout import (
    LayoutSpeed,
    measured_speeds,
    repack_here,
    repack_weights,
    weights_layout,
)

AVX512 = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni")
AVX2 = ("sse4_2", "avx", "avx2", "fma", "f16c")


def test_auto_leaves_the_repack_off_on_avx512_only():
    assert repack_weights("auto", AVX512) is False
    assert repack_weights("auto", AVX2) is True
    assert repack_weights("auto", ()) is True  # nothing known: llama.cpp's own default
    assert repack_weights("on", AVX512) is True and repack_weights("off", AVX2) is False
    with pytest.raises(ValueError, match="llama_repack"):
        repack_weights("sometimes", AVX2)
    assert repack_here("on") is True and repack_here("off") is False  # this machine's CPU read for "auto" only


# Timed as the probe times them: this AMD EPYC (2026-11-27) and, from issue 20's figures, a 2.1 GHz Xeon whose
# steps are dearer still against its prompt reading (the not-repacked Xeon figures are made up for the test).
EPYC = {True: LayoutSpeed(1.0, 93.0, 33.9), False: LayoutSpeed(0.4, 130.0, 45.0)}
XEON = {True: LayoutSpeed(1.5, 60.0, 91.0), False: LayoutSpeed(0.8, 70.0, 125.0)}


def test_auto_takes_the_layout_a_cold_answer_takes_less_time_with_here():
    assert EPYC[True].answer_seconds() == pytest.approx(1.0 + 270 / 93 + 70 * 0.0339)
    assert repack_weights("auto", AVX512, EPYC) is False  # reads prompts faster, loads sooner
    assert repack_weights("auto", AVX512, XEON) is True  # its dearer steps outweigh the prompt
    assert repack_weights("off", AVX512, XEON) is False and repack_weights("on", AVX2, EPYC) is True


def test_the_probes_report_gives_both_layouts_or_nothing():
    detail = json.dumps({"prompt_tokens": 320,
                         "layouts": {"on": {"load_s": 1.0, "prompt_tokens_per_s": 93.0, "step_ms": 33.9},
                                     "off": {"load_s": 0.4, "prompt_tokens_per_s": 130.0, "step_ms": 45.0}}})
    assert measured_speeds(detail) == EPYC
    assert repack_here("auto", detail) is False and repack_here("on", detail) is True
    # A probe recorded before it timed the layouts, a failed probe's stderr, a damaged report: the CPU decides.
    for untimed in ('{"prompt_tokens": 320, "prompt_tokens_per_s": 52.3}', "Traceback (most recent call last)",
                    '{"layouts": {"on": {"load_s": 1.0}}}', ""):
        assert measured_speeds(untimed) is None
        assert repack_here("auto", untimed) is repack_here("auto")


def test_the_setting_is_checked_with_the_config():
    assert load_config(environ={"RAG_LLAMA_REPACK": "off"}).llama_repack == "off"
    with pytest.raises(ConfigError, match="llama_repack must be one of auto, on, off"):
        load_config(environ={"RAG_LLAMA_REPACK": "no"})


def test_the_load_without_repack_changes_the_defaults_only_for_its_duration():
    import llama_cpp.llama_cpp as low

    original = low.llama_model_default_params
    with weights_layout(False):
        assert low.llama_model_default_params().use_extra_bufts is False
    assert low.llama_model_default_params is original
    assert low.llama_model_default_params().use_extra_bufts is True
    with weights_layout(True):
        assert low.llama_model_default_params is original
    with pytest.raises(RuntimeError), weights_layout(False):
        raise RuntimeError("a load that fails")
    assert low.llama_model_default_params is original


def test_loads_on_other_threads_wait_for_the_swap_and_never_see_it():
    import threading

    import llama_cpp.llama_cpp as low

    original = low.llama_model_default_params
    inside, release, seen = threading.Event(), threading.Event(), []

    def load_without_repack():
        with weights_layout(False):
            inside.set()
            release.wait(5)

    def load_repacked():
        with weights_layout(True):
            seen.append(low.llama_model_default_params().use_extra_bufts)

    first = threading.Thread(target=load_without_repack)
    first.start()
    assert inside.wait(5)
    second = threading.Thread(target=load_repacked)
    second.start()
    second.join(0.2)
    assert second.is_alive() and not seen  # waits for the first load's swap to end
    release.set()
    first.join(5)
    second.join(5)
    assert seen == [True] and low.llama_model_default_params is original


@pytest.mark.integration
def test_a_model_loaded_without_repack_answers_under_the_grammar(tmp_path):
    import re

    from rag.config import Config
    from rag.models.generator import LlamaCppGenerator, Usage
    from rag.models.registry import llm_path

    path = llm_path("smollm2-135m", Config().cache_dir)
    for repack in (False, True):
        generator = LlamaCppGenerator("smollm2-135m", path, n_ctx=2048, threads=1, repack=repack)
        assert generator._llm.model_params.use_extra_bufts is repack
        messages = [{"role": "user", "content": "Storm hits harbour town. The mayor said 12 homes were destroyed. "
                                                "How many homes were destroyed?"}]
        grammar = 'root ::= "QUOTE: " [a-z ]{3,30} "\\n"'
        reply = "".join(generator.stream(messages, 40, 0.0, Usage(), grammar=grammar))
        assert re.fullmatch(r"QUOTE: [a-z ]{3,30}\n", reply)


def test_rag_doctor_says_how_the_weights_are_laid_out():
    from rag.models.doctor import LlamaReport, report_lines
    from rag.models.llama_probe import ProbeResult

    def weights(flags, setting, probes=()):
        report = LlamaReport("Some CPU", 2, flags, "0.3.36", None, None, "CPU : AVX2 = 1 | REPACK = 1 |", 0, 3,
                             probes=list(probes), llama_repack=setting)
        return [line.split(None, 1)[1] for line in report_lines(report) if line.lstrip().startswith("weights")]

    assert weights(AVX512, "auto") == ["not repacked at load (llama_repack = auto: AVX-512 CPU) where a model's "
                                       "probe has not timed both layouts"]
    repacked = "repacked for the CPU kernels (AVX2, or AMX tiles where built with them)"
    assert weights(AVX2, "auto") == [f"{repacked} at load (llama_repack = auto) where a model's "
                                     "probe has not timed both layouts"]
    assert weights(AVX2, "off") == ["not repacked at load (llama_repack = off)"]
    timed = json.dumps({"layouts": {"on": {"load_s": 1.5, "prompt_tokens_per_s": 60.0, "step_ms": 91.0},
                                    "off": {"load_s": 0.8, "prompt_tokens_per_s": 70.0, "step_ms": 125.0}}})
    probes = [("qwen", ProbeResult(True, detail=timed)), ("old", ProbeResult(True, detail='{"prompt_tokens": 320}'))]
    assert weights(AVX512, "auto", probes)[1] == (f"{repacked} at load (llama_repack = auto: "
                                                  "measured here, ~12.4 s repacked vs ~13.4 s not)")
    assert len(weights(AVX512, "auto", probes)) == 2  # the untimed probe adds no line
