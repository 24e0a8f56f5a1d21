"""Calibration belongs to a model: the shipped one to the default GGUF, others fitted per model and found again."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

from rag.answer import calibrations
from rag.answer.assistant import Assistant
from rag.answer.calibrations import DEFAULT_THRESHOLD, choose, conservative, path_for, shipped
from rag.answer.confidence import FEATURES, Calibration
from rag.evaluation.calibrate import calibrate
from rag.models.identity import ModelIdentity, gguf_identity
from rag.models.registry import LLMS
from tests.fakes import DENIAL, FakeEmbedder, FakeGenerator

QWEN = ModelIdentity("qwen2.5-coder-1.5b", LLMS["qwen2.5-coder-1.5b"].sha256)
QUESTION = "Who denied the intelligence sharing?"


def test_the_shipped_calibration_is_the_default_models_and_no_other(tmp_path, caplog):
    calibrations._warned.clear()
    assert choose(QWEN, tmp_path) == calibrations.Chosen(shipped(), True, "shipped")
    renamed = ModelIdentity("my-copy.gguf", QWEN.sha256)  # the same file under another name is the same model
    assert choose(renamed, tmp_path).calibrated
    with caplog.at_level(logging.WARNING, "rag.answer.calibrations"):
        other = choose(ModelIdentity("qwen2.5-coder-1.5b", "0" * 64), tmp_path)  # the name, another file
        choose(ModelIdentity("qwen2.5-coder-1.5b", "0" * 64), tmp_path)
    assert not other.calibrated and other.source == "default"
    assert [r.getMessage() for r in caplog.records].__len__() == 1  # said once
    assert "uncalibrated" in caplog.records[0].getMessage()


def test_the_conservative_default_leaves_the_models_logprobs_out_and_declines_more():
    default = conservative(shipped())
    assert default.threshold == max(shipped().threshold, DEFAULT_THRESHOLD) > shipped().threshold
    weights = dict(zip(default.features, default.weights))
    assert all(weights[f] == 0 for f in calibrations.MODEL_FEATURES if f in weights)
    full = replace(shipped(), features=FEATURES, means=(0.0,) * len(FEATURES), scales=(1.0,) * len(FEATURES),
                   weights=(1.0,) * len(FEATURES))  # a calibration fitted on every signal, the model's among them
    assert sum(w != 0 for w in conservative(full).weights) == len(FEATURES) - 3
    signals = dict(zip(default.features, default.means))
    assert default.probability(signals) == default.probability({**signals, "answer_logprob": -9.0})


def test_a_missing_signal_counts_as_its_mean():
    cal = shipped()
    at_means = dict(zip(cal.features, cal.means))
    assert cal.probability({**at_means, "dense_top": None}) == cal.probability(at_means)
    assert cal.probability({**at_means, "dense_top": 0.0}) < cal.probability(at_means)  # a weak match: less sure


def test_a_models_own_calibration_is_found_under_the_cache(seed_index, tmp_path):
    generator = FakeGenerator(DENIAL, name="served-model")
    assistant = Assistant(seed_index, embedder=FakeEmbedder(), generator=generator)
    assert not assistant.ask(QUESTION).calibrated
    own = path_for(seed_index.cache_dir, ModelIdentity("served-model"))
    own.parent.mkdir(parents=True)
    own.write_text(replace(shipped(), threshold=1.0, model="served-model", model_sha256="").to_json())
    fresh = Assistant(seed_index, embedder=FakeEmbedder(), generator=generator).ask(QUESTION)
    assert fresh.calibrated and fresh.abstained and fresh.refused  # its own file, with its threshold, decided


def _records_without_logprobs(n: int = 80) -> list[dict]:
    """Answers from a server without log-probabilities: right ones are supported by their quotes."""
    records = []
    for i in range(n):
        right = i % 3 != 0
        signals = {f: 0.0 for f in FEATURES} | {"answer_support": 1.0 if right else 0.2 + (i % 5) / 10,
                                                "answer_logprob": None, "answer_median_logprob": None,
                                                "quote_logprob": None}
        records.append({"signals": signals, "abstained": False, "error": None,
                        "verdicts": {"should_abstain": False, "correct": right}})
    return records


def test_calibrate_fits_with_missing_logprobs():
    records = _records_without_logprobs()
    fitted, _ = calibrate(records, "fixture", model="served-model")
    weights = dict(zip(fitted.features, fitted.weights))
    assert weights["answer_support"] > 0 and weights["answer_logprob"] == 0.0
    assert fitted.probability(records[1]["signals"]) > fitted.probability(records[0]["signals"])


def test_eval_calibrate_files_it_under_the_runs_model(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from rag.cli import main

    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    identity = {"name": "SmolLM2-135M-Instruct.Q4_1.gguf", "sha256": "ab" * 32}
    results = {"configurations": [{"name": "default", "model": "/models/SmolLM2-135M-Instruct.Q4_1.gguf",
                                   "model_identity": identity, "records": _records_without_logprobs()}], "meta": {}}
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "results.json").write_text(json.dumps(results))
    result = CliRunner().invoke(main, ["eval", "calibrate", str(tmp_path / "run"), "--report", str(tmp_path / "r")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    path = path_for(tmp_path / "cache", ModelIdentity(**identity))
    assert str(path) in result.output
    saved = Calibration.load(path)
    assert (saved.model, saved.model_sha256) == (identity["name"], identity["sha256"])
    assert choose(ModelIdentity(**identity), tmp_path / "cache").source == str(path)
    assert "keeping at least 90% of the right answers" in saved.fitted_on  # the default floor
    free = CliRunner().invoke(main, ["eval", "calibrate", str(tmp_path / "run"), "--report", str(tmp_path / "r"),
                                     "--keep-right", "0", "--out", str(tmp_path / "free.json")])
    assert free.exit_code == 0, free.output
    assert "keeping" not in Calibration.load(tmp_path / "free.json").fitted_on


def test_a_gguf_is_known_by_its_digest_computed_once(tmp_path):
    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"GGUF" + bytes(1000))
    first = gguf_identity("tiny.gguf", model, tmp_path / "cache")
    assert len(first.sha256) == 64 and (tmp_path / "cache" / "model-digests.json").is_file()
    assert gguf_identity("tiny.gguf", model, tmp_path / "cache") == first
    assert gguf_identity("qwen", model, tmp_path, known_sha256="f" * 64).sha256 == "f" * 64


def test_a_served_gguf_of_this_machine_is_known_by_its_file(tmp_path):
    from rag.models.remote import served_identity

    model = tmp_path / "served.gguf"
    model.write_bytes(b"GGUF" + bytes(100))
    known = served_identity(str(model), tmp_path / "cache")
    assert known.name == str(model) and known == gguf_identity(str(model), model, tmp_path / "cache")
    assert served_identity("gpt-like", tmp_path) == ModelIdentity("gpt-like")
    assert served_identity(str(tmp_path / "elsewhere.gguf"), tmp_path) == ModelIdentity(str(tmp_path / "elsewhere.gguf"))
