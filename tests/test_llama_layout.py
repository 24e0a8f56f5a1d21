"""Whether llama.cpp repacks the weights at load: the setting decided per CPU, and the load done that way."""

from __future__ import annotations

import pytest

from rag.config import load_config
from rag.errors import ConfigError
from rag.models.llama_layout import repack_here, repack_weights, weights_layout

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

    def weights(flags, setting):
        report = LlamaReport("Some CPU", 2, flags, "0.3.36", None, None, "CPU : AVX2 = 1 | REPACK = 1 |", 0, 3,
                             llama_repack=setting)
        return next(line for line in report_lines(report) if line.lstrip().startswith("weights"))

    assert weights(AVX512, "auto").split(None, 1)[1] == "not repacked at load (llama_repack = auto: AVX-512 CPU)"
    assert weights(AVX2, "auto").split(None, 1)[1] == "repacked for the AVX2 kernels at load (llama_repack = auto)"
    assert weights(AVX2, "off").split(None, 1)[1] == "not repacked at load (llama_repack = off)"
