"""The `rag eval` commands: --sweep parsing, option errors, and whole runs with fake models."""

import json
import subprocess
import sys
from dataclasses import replace

import pytest
from click.testing import CliRunner

import rag.models.embedder
from rag.answer.confidence import Calibration
from rag.cli import main
from rag.evaluation.sweeps import SweepError, configurations, parse_sweep
from rag.models.factories import register_generator, unregister
from tests.fakes import FakeEmbedder
from tests.shared import quoting, scripted, scripted_generator, write_corpus, write_gold

LONG = ("Officials confirmed the news on Monday, and the company said more details would follow in the coming "
        "weeks as production starts. ")


def run(*args):
    return CliRunner().invoke(main, ["eval", *map(str, args)], catch_exceptions=False)


# ------------------------------------------------------------------------------------------- --sweep


def test_parse_sweep_coerces_values_to_the_setting_type():
    assert parse_sweep("k=2,4,8") == ("k", [2, 4, 8])
    assert parse_sweep("dense-weight=0.5, 1") == ("dense_weight", [0.5, 1.0])
    assert parse_sweep("model=smollm2-135m,qwen2.5-coder-0.5b") == ("model", ["smollm2-135m", "qwen2.5-coder-0.5b"])
    assert parse_sweep("k=2,2") == ("k", [2])


@pytest.mark.parametrize("spec, message", [
    ("k", "write KEY=V1,V2"),
    ("k=", "empty value"),
    ("k=2,,4", "empty value"),
    ("k=two", "'two' is not a valid int for k"),
    ("n_ctx=2048", "cannot sweep 'n_ctx'"),
    ("bogus=1", "cannot sweep 'bogus'; choose from model, chunk_tokens"),
])
def test_parse_sweep_rejects_bad_specs_clearly(spec, message):
    with pytest.raises(SweepError, match=message):
        parse_sweep(spec)


def test_configurations_are_the_product_with_models_and_chunking_outermost():
    assert configurations([]) == [{}]
    assert configurations(["k=2,4", "model=a,b"]) == [
        {"model": "a", "k": 2}, {"model": "a", "k": 4}, {"model": "b", "k": 2}, {"model": "b", "k": 4}]
    assert len(configurations(["k=1,2", "chunk_tokens=100,200", "temperature=0,0.5"])) == 8


def test_configurations_refuse_repeated_keys_chunking_without_corpus_and_bad_overlap():
    with pytest.raises(SweepError, match="given twice"):
        configurations(["k=1", "k=2"])
    with pytest.raises(SweepError, match="needs --corpus"):
        configurations(["overlap=10,20"], allow_index_keys=False)
    with pytest.raises(SweepError, match="overlap 60 must be smaller than chunk_tokens 50"):
        configurations(["chunk_tokens=50,100", "overlap=60"])


def test_cli_bad_sweep_key_is_a_usage_error(tmp_path):
    gold = write_gold(tmp_path / "gold.jsonl")
    result = run("--gold", gold, "--index", tmp_path, "--sweep", "bogus=1", "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "Invalid value for --sweep" in result.output and "cannot sweep 'bogus'" in result.output
    result = run("--gold", gold, "--index", tmp_path, "--sweep", "chunk_tokens=100,200", "--out", tmp_path / "out")
    assert result.exit_code == 2 and "needs --corpus" in result.output
    result = run("--gold", gold, "--index", tmp_path, "--sweep", "model=nonesuch", "--out", tmp_path / "out")
    assert result.exit_code == 2 and "unknown model 'nonesuch'" in result.output


def test_cli_option_errors(tmp_path):
    gold = write_gold(tmp_path / "gold.jsonl")
    assert "Give --gold FILE" in run("--index", tmp_path, "--out", tmp_path).output
    both = run("--gold", gold, "--index", tmp_path, "--corpus", tmp_path, "--out", tmp_path)
    assert both.exit_code == 2 and "exactly one of --index" in both.output
    assert "Give --out DIR" in run("--gold", gold, "--index", tmp_path).output
    misplaced = run("--out", tmp_path, "realtimeqa")
    assert misplaced.exit_code == 2 and "go after `realtimeqa`" in misplaced.output
    assert "realtimeqa" in run().output  # no arguments: the help


def test_cli_gold_file_error_is_one_line_and_exit_1(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    result = run("--gold", bad, "--index", tmp_path, "--out", tmp_path / "out")
    assert result.exit_code == 1 and "bad.jsonl:1: not JSON" in result.output


def test_importing_the_eval_commands_stays_light():
    code = ("import sys, rag.evaluation.cli; heavy = [m for m in ('numpy', 'matplotlib', 'torch', 'llama_cpp', 'tqdm', "
            "'rag.evaluation.runner', 'rag.evaluation.builds') if m in sys.modules]; print(heavy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# ------------------------------------------------------------------------------------------- whole runs


@pytest.fixture
def fake_models(monkeypatch):
    """The commands' real factory, with the embedder and the LLM replaced by fakes."""
    loaded = []

    def load_generator(config):
        loaded.append(config.model)
        return scripted_generator(scripted_rtqa, name=config.model)

    monkeypatch.setattr(rag.models.embedder, "SentenceTransformerEmbedder", lambda name, *a, **kw: FakeEmbedder(name))
    for name in ("qwen2.5-coder-1.5b", "smollm2-135m"):
        register_generator(name, load_generator)
    yield loaded
    for name in ("qwen2.5-coder-1.5b", "smollm2-135m"):
        unregister(name)


def scripted_rtqa(question, prompt):
    if "renewed" in question:
        return quoting(prompt, "Squid", "Squid Game [n].")
    if "city" in question:
        return quoting(prompt, "Paris", "Paris [n].")
    return scripted(question, prompt)


def test_cli_gold_run_with_sweeps_builds_one_index_per_chunking(tmp_path, fake_models):
    corpus = write_corpus(tmp_path / "corpus")
    gold = write_gold(tmp_path / "gold.jsonl")
    out = tmp_path / "run"
    args = ["--gold", gold, "--corpus", corpus, "--sweep", "k=1,4", "--sweep", "chunk-tokens=60,200", "--sweep",
            "model=smollm2-135m", "--limit", "3", "--out", out, "--no-progress"]
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert (out / "index-ct60-ov24" / "CURRENT").is_file() and (out / "index-ct200-ov24" / "CURRENT").is_file()
    assert fake_models == ["smollm2-135m"]  # one model for all four configurations
    saved = json.loads((out / "results.json").read_text())
    assert [c["name"] for c in saved["configurations"]] == [
        "model=smollm2-135m, chunk_tokens=60, k=1", "model=smollm2-135m, chunk_tokens=60, k=4",
        "model=smollm2-135m, chunk_tokens=200, k=1", "model=smollm2-135m, chunk_tokens=200, k=4"]
    assert all(c["metrics"]["n"] == 3 for c in saved["configurations"])
    assert saved["configurations"][2]["config"]["index_dir"].endswith("index-ct200-ov24")
    assert saved["meta"]["benchmark"] == "gold" and saved["meta"]["machine"]["cpu_count"]
    assert "3 (2 single, 1 unanswerable)" == saved["meta"]["questions"]
    assert "accuracy 1.000 (2/2)" in result.output and "report.md" in result.output
    assert (out / "report.md").is_file() and (out / "latency.png").is_file()

    again = run(*args)  # the indexes are reused: nothing new to embed
    assert again.exit_code == 0 and "0 added, 0 updated, 3 unchanged" in again.output


@pytest.fixture
def rtqa_data(tmp_path):
    folder = tmp_path / "realtimeqa"
    folder.mkdir()
    week = "20220617"

    def qa(n, sentence, choices, answer):
        return {"question_id": f"{week}_{n}", "question_date": "2022/06/16", "question_sentence": sentence,
                "choices": choices, "answer": [str(answer)], "evidence": ""}

    rows = {
        "qa": [qa(0, "Which show was renewed?", ["“Game of Thrones”", "“Squid Game”"], 1),
               qa(1, "Which city hosts the summit?", ["Paris", "Bern"], 1)],
        "gold": [{"question_id": f"{week}_0", "search_result": [
                     {"url": "https://www.cnn.com/squid/", "text": "Netflix renewed Squid Game. " + LONG,
                      "publish_date": "2022/06/12"}]},
                 {"question_id": f"{week}_1", "search_result": [
                     {"url": "https://apnews.com/bern", "text": "Bern hosts the summit of the city leaders. " + LONG,
                      "publish_date": "2022/06/15"}]}],
        "gcs": [{"question_id": f"{week}_0", "search_result": [
            {"url": "https://www.bbc.com/later", "title": "Squid Game season two starts filming", "publish_date":
             "2022/06/20", "text": "The renewed show Squid Game starts filming its second season. " + LONG}]}],
    }
    for kind, lines in rows.items():
        (folder / f"{week}_{kind}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    return folder


def test_cli_realtimeqa_run_filters_by_question_date_and_reuses_its_index(tmp_path, rtqa_data, fake_models,
                                                                          monkeypatch):
    # Every scripted answer shown: this is about dates and the index, not the confidence of a scripted model.
    shows_all = tmp_path / "shows-all.json"
    shows_all.write_text(replace(Calibration.load(), threshold=0.0).to_json())
    monkeypatch.setenv("RAG_CALIBRATION", str(shows_all))
    out = tmp_path / "rtqa"
    result = run("realtimeqa", "--data", rtqa_data, "--weeks", "20220617", "--model", "smollm2-135m", "--out", out,
                 "--no-progress")
    assert result.exit_code == 0, result.output
    assert len((out / "corpus.jsonl").read_text().splitlines()) == 3
    saved = json.loads((out / "results.json").read_text())
    (config,) = saved["configurations"]
    assert config["metrics"]["accuracy"] == 0.5 and config["metrics"]["n"] == 2
    shown_dates = {p["date"] for r in config["records"] for p in r["passages"]}
    assert shown_dates and max(shown_dates) <= "2022-06-16"  # the 2022-06-20 article is never shown
    squid = config["records"][0]
    assert squid["docs"] == ["https://www.cnn.com/squid"] and squid["citations"][0]["doc"] == squid["docs"][0]
    assert squid["asked_on"] == "2022-06-16" and squid["verdicts"]["names_wrong_choice"] is False
    assert saved["meta"]["benchmark"] == "realtimeqa" and saved["meta"]["weeks"] == ["20220617"]
    report = (out / "report.md").read_text()
    assert "0.582 of these 110 questions (exact match 0.445)" in report and "This run asked 2 questions" in report
    assert "accuracy >= 0.65 | 0.500 **missed**" in report

    # A run judged by an older judge is judged again from its records, without the model.
    saved["configurations"][0]["records"][0]["verdicts"]["correct"] = False
    (out / "results.json").write_text(json.dumps(saved), encoding="utf-8")
    rejudged = run("rejudge", out)
    assert rejudged.exit_code == 0 and "1 record(s) judged differently" in rejudged.output, rejudged.output
    saved = json.loads((out / "results.json").read_text())
    assert saved["configurations"][0]["records"][0]["verdicts"]["correct"] is True
    assert saved["meta"]["rejudged"]["records_changed"] == 1 and saved["configurations"][0]["metrics"]["correct"] == 1

    out2 = tmp_path / "rtqa-choice"
    again = run("realtimeqa", "--data", rtqa_data, "--mode", "choice", "--no-until-question-date", "--index-root",
                out, "--out", out2, "--no-progress")
    assert again.exit_code == 0, again.output
    assert "Reusing the index" in again.output and not (out2 / "corpus.jsonl").exists()
    records = json.loads((out2 / "results.json").read_text())["configurations"][0]["records"]
    choices = "Choices: (A) “Game of Thrones” (B) “Squid Game”; answer with the choice text."
    assert records[0]["question"].endswith(choices)
    assert "2022-06-20" in {p["date"] for p in records[0]["passages"]}  # no date filter now

    summary = tmp_path / "RESULTS.md"
    done = run("results", out, out2, "--out", summary)
    assert done.exit_code == 0 and "Wrote" in done.output
    text = summary.read_text()
    assert text.startswith("# Results") and "| rtqa | realtimeqa | default |" in text
    assert "## rtqa-choice" in text and "- Mode: choice" in text


def test_cli_realtimeqa_rejects_unknown_weeks(rtqa_data, tmp_path):
    result = run("realtimeqa", "--data", rtqa_data, "--weeks", "20990101", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "20990101 not in" in result.output


def test_cli_results_needs_results_json(tmp_path):
    result = run("results", tmp_path, "--out", tmp_path / "R.md")
    assert result.exit_code == 1 and "No results.json" in result.output


def test_cli_gold_is_also_a_command_of_its_own(tmp_path, fake_models):
    corpus = write_corpus(tmp_path / "corpus")
    gold = write_gold(tmp_path / "gold.jsonl")
    out = tmp_path / "run"
    result = run("gold", "--gold", gold, "--corpus", corpus, "--limit", "2", "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "results.json").read_text())
    assert saved["meta"]["benchmark"] == "gold" and saved["meta"]["questions"] == "2 (2 single)"
    assert saved["configurations"][0]["metrics"]["truthfulness"] == 1.0
    report = (out / "report.md").read_text()
    assert report.startswith("# Evaluation report: gold Q&A") and "## Truthfulness by kind" in report


def test_cli_gold_questions_without_a_date_are_asked_on_one_day_kept_in_each_record(tmp_path, fake_models):
    """The day is in the prompt, so a run is repeatable only with the day it was asked: --asked-on, else today."""
    from datetime import date

    corpus, gold = write_corpus(tmp_path / "corpus"), write_gold(tmp_path / "gold.jsonl")
    for args, day in ((["--asked-on", "2026-11-26"], "2026-11-26"), ([], date.today().isoformat())):
        out = tmp_path / f"run-{day}"
        result = run("gold", "--gold", gold, "--corpus", corpus, "--limit", "2", *args, "--out", out, "--no-progress")
        assert result.exit_code == 0, result.output
        records = json.loads((out / "results.json").read_text())["configurations"][0]["records"]
        assert [r["asked_on"] for r in records] == [day, day]
    bad = run("gold", "--gold", gold, "--corpus", corpus, "--asked-on", "someday", "--out", tmp_path / "x")
    assert bad.exit_code == 2 and "not a date" in bad.output


def test_cli_index_from_the_environment_is_not_a_misplaced_option(tmp_path):
    result = CliRunner().invoke(main, ["eval", "realtimeqa", "--help"], env={"RAG_INDEX": str(tmp_path)})
    assert result.exit_code == 0 and "--index-root" in result.output
    misplaced = CliRunner().invoke(main, ["eval", "--no-progress", "-k", "2", "rejection", "--help"])
    assert misplaced.exit_code == 2 and "-k, --progress go after `rejection`" in misplaced.output
