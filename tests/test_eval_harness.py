"""The evaluation harness end to end with fakes: run_eval, results.json, report.md and the plots."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from rag.answer.assistant import Assistant
from rag.config import Config
from rag.evaluation.gold import GoldFileError, load_gold, realtimeqa_questions
from rag.evaluation.plots import PLOTS
from rag.evaluation.report import render_results_md, targets_table
from rag.evaluation.runner import run_eval
from rag.evaluation.runs import write_results
from rag.evaluation.sweeps import SweepError
from rag.ingest.pipeline import ingest
from rag.store import open_store
from tests.fakes import FakeEmbedder
from tests.shared import ARTICLES, GOLD, ScriptedAssistant, q, scripted, scripted_generator, write_corpus, write_gold


@pytest.fixture
def assistant(tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    embedder = FakeEmbedder()
    config = replace(Config(), index_dir=str(tmp_path / "index"), embedder=embedder.name, model="fake-llm")
    ingest([corpus], config, embedder)
    return Assistant(config, index=open_store(config.index_dir, embedder.name), embedder=embedder,
                     generator=scripted_generator(scripted))


def test_run_eval_passes_ask_settings_as_overrides_and_filters_by_date():
    fake = ScriptedAssistant()
    questions = [q("a", "Who spoke?", [["Kirby"]], until="2021-03-01"), q("b", "pilots?", [], "unanswerable", ())]
    results = run_eval(questions, fake, [{"k": 2}, {"k": 3, "temperature": 0.5}])
    assert [c["name"] for c in results["configurations"]] == ["k=2", "k=3, temperature=0.5"]
    assert fake.calls[0][2] == {"k": 2} and fake.calls[2][2] == {"k": 3, "temperature": 0.5}
    assert fake.calls[0][1].until == "2021-03-01" and fake.calls[1][1] is None
    first = results["configurations"][0]
    assert first["config"]["k"] == 2 and first["model"] == "scripted" and first["embedder"] == "fake-embedder"
    record = first["records"][0]
    assert record["passages"][0]["doc"] == "alpha.txt" and record["citations"][0]["doc"] == "alpha.txt"
    assert record["verdicts"]["correct"] is True and record["timings"]["total_ms"] == 1500.0
    assert first["metrics"]["accuracy"] == 1.0 and first["metrics"]["abstention_recall"] == 1.0


def test_run_eval_records_a_failed_question_and_goes_on():
    results = run_eval([q("a", "boom", [["Kirby"]]), q("b", "Who spoke?", [["Kirby"]])], ScriptedAssistant())
    records = results["configurations"][0]["records"]
    assert records[0]["error"] == "ModelError: prompt too long" and records[0]["verdicts"]["correct"] is False
    assert records[1]["verdicts"]["correct"] is True
    assert results["configurations"][0]["metrics"]["errors"] == 1


def test_run_eval_builds_a_new_assistant_only_when_model_or_chunking_change():
    built = []

    def make(build):
        built.append(build)
        return ScriptedAssistant()

    configs = [{"model": "a", "k": 1}, {"model": "a", "k": 2}, {"model": "b", "k": 1}]
    results = run_eval([q("a", "Who spoke?", [["Kirby"]])], None, configs, make_assistant=make)
    assert built == [{"model": "a"}, {"model": "b"}]
    assert len(results["configurations"]) == 3


def test_run_eval_refuses_a_model_setting_without_a_factory():
    with pytest.raises(SweepError, match="model"):
        run_eval([q("a", "Who spoke?", [["Kirby"]])], ScriptedAssistant(), [{"model": "b"}])


def test_end_to_end_with_the_real_assistant_and_fake_models(assistant, tmp_path):
    questions = load_gold(write_gold(tmp_path / "gold.jsonl"))
    results = run_eval(questions, assistant, [{}, {"k": 1}])
    results["meta"] = {"benchmark": "gold", "date": "2025-01-01T00:00:00", "machine": {"cpu_count": 2,
                       "platform": "Linux-test", "python": "3.11"}, "gold": "gold.jsonl"}
    out = tmp_path / "run"
    written = write_results(results, out)
    assert {p.name for p in written} == {"results.json", "report.md", *PLOTS}

    saved = json.loads((out / "results.json").read_text())
    default, one = saved["configurations"]
    m = default["metrics"]
    assert (m["n"], m["answerable"], m["correct"]) == (4, 3, 2)
    assert m["accuracy"] == pytest.approx(2 / 3)
    assert m["abstention_precision"] == 1.0 and m["abstention_recall"] == 1.0
    assert m["dangling_total"] == 1 and m["dangling_answer_share"] == 0.25
    assert m["recall_at_k"] == 1.0  # three one-chunk articles, four passages allowed: all shown
    assert m["citation_precision"] == 1.0
    assert m["error_analysis"]["generation_error"] == 1 and m["error_analysis"]["retrieval_miss"] == 0
    assert m["by_kind"]["unanswerable"]["accuracy"] == 1.0 and m["by_kind"]["time"]["accuracy"] == 0.0
    assert m["tokens"]["prompt"]["mean"] > 0 and m["latency_s"]["total"]["p50"] is not None
    g1 = default["records"][0]
    assert g1["answer"].startswith("John Kirby") and g1["citations"][0]["doc"] == "alpha.txt"
    assert {p["doc"] for p in g1["passages"]} <= set(ARTICLES) and "alpha.txt" in {p["doc"] for p in g1["passages"]}
    assert set(g1["passages"][0]) == {"n", "doc", "title", "outlet", "date", "chunk_id"}
    assert default["records"][3]["dangling"] == [9]
    assert default["model"] == "fake-llm" and default["embedder"] == "fake-embedder"
    assert all(len(r["passages"]) <= 1 for r in one["records"]) and one["config"]["k"] == 1

    report = (out / "report.md").read_text()
    for heading in ("## Targets", "## Overall", "## Accuracy by kind", "## Error analysis", "## Abstention",
                    "## Latency (seconds)", "## Tokens", "## Plots", "## Wrong answers"):
        assert heading in report
    assert "2 cores (os.cpu_count)" in report and "fake-llm" in report and "fake-embedder" in report
    assert "| default | fake-llm | 4 | 0.667 (2/3) |" in report
    assert "| k=1 |" in report and "g4 | time | generation error" in report
    assert "dangling citations == 0 | 1 **missed**" in report
    for name in PLOTS:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"]({name})" in report

    summary = render_results_md([("seeds", saved)], "rag eval results eval/runs/seeds --out eval/RESULTS.md")
    assert "## Summary" in summary and "## seeds" in summary and "| seeds | gold | default | fake-llm | 4 |" in summary
    rejection = targets_table([{"name": "default", "metrics": {"n": 50, "rejection_rate": 0.92,
                                                                "answered_from_memory": 2}}], "rejection")
    assert "rejection rate >= 0.9 | 0.920 met" in rejection and "<= 0.02 | 0.040 **missed**" in rejection
    noted = render_results_md([("seeds", saved)], notes="## What was tried\n\nShorter answers: worse.")
    assert noted.index("## Summary") < noted.index("## What was tried") < noted.index("## seeds")


def test_load_gold_reads_the_seed_file_and_reports_bad_lines(tmp_path):
    seeds = load_gold(Path(__file__).resolve().parents[1] / "eval/gold/seeds.jsonl")
    assert len(seeds) == 101 and seeds[2].docs == ["000_b2984dc87e62d731.txt"]
    assert sum(1 for s in seeds if s.kind == "unanswerable" and s.answers == []) == 17
    assert len(load_gold(write_gold(tmp_path / "g.jsonl"), limit=2)) == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(GOLD[0]) + "\n" + json.dumps({"id": "x", "question": "?", "answers": "Kirby"}) + "\n")
    with pytest.raises(GoldFileError, match=r"bad.jsonl:2: \"answers\""):
        load_gold(bad)
    with pytest.raises(GoldFileError, match="not found"):
        load_gold(tmp_path / "missing.jsonl")


def test_realtimeqa_questions_open_and_choice():
    from rag.evaluation.realtimeqa import Question

    raw = Question("20220617_0", "Which show was green lit? (asked on 2022/06/16)", "2022-06-16",
                   ("“Game of Thrones”", "“Squid Game”"), 1, "Squid Game", ("https://www.cnn.com/a/",))
    (open_q,) = realtimeqa_questions([raw])
    assert open_q.question == raw.question and open_q.asked_on == "2022-06-16" and open_q.answers == [["Squid Game"]]
    assert open_q.docs == ["https://www.cnn.com/a"]
    (choice,) = realtimeqa_questions([raw], "choice", until_question_date=False)
    assert choice.until is None
    listed = "Choices: (A) “Game of Thrones” (B) “Squid Game”; answer with the choice text."
    assert choice.question.endswith(listed)
