"""The benchmark registry: the contract every registered benchmark meets, and a new one registered here that gets
its `rag eval NAME` command, runs, and gets its report section with no other change."""

from __future__ import annotations

import json
import re

import click
import pytest
from click.testing import CliRunner

import rag.models.embedder
from rag.cli import main
from rag.evaluation import benchmarks
from rag.evaluation.benchmarks import Benchmark, Plan, Target
from rag.evaluation.gold import EvalQuestion
from rag.evaluation.report import render_report, render_results_md
from rag.evaluation.runner import run_eval
from rag.models.factories import register_generator, unregister
from tests.fakes import FakeEmbedder
from tests.shared import ScriptedAssistant, q, quoting, scripted_generator


def run(*args):
    return CliRunner().invoke(main, ["eval", *map(str, args)], catch_exceptions=False)


def scripted_results(name: str) -> dict:
    """A finished run of three questions (one right, one rightly declined, one wrong) filed under `name`."""
    questions = [q("a", "Who spoke?", [["Kirby"]]), q("b", "pilots?", [], "unanswerable", ()),
                 q("c", "Who else spoke?", [["Smith"]])]
    results = run_eval(questions, ScriptedAssistant())
    results["meta"] = {"benchmark": name, "date": "2026-01-01T00:00:00", "machine": {"cpu_count": 2}}
    return results


# ------------------------------------------------------------------------------------------ the contract


@pytest.fixture(params=benchmarks.names())
def benchmark(request) -> Benchmark:
    return benchmarks.get(request.param)


def test_every_benchmark_has_a_command(benchmark):
    listed = run("--help")
    assert re.search(rf"^  {benchmark.name}\s", listed.output, re.MULTILINE), listed.output
    helped = run(benchmark.name, "--help")
    assert helped.exit_code == 0 and f" eval {benchmark.name} [OPTIONS]" in helped.output
    for shared in ("--model", "--sweep", "--limit", "--out", "--progress"):
        assert shared in helped.output
    missing_out = run(benchmark.name) if benchmark.name != "gold" else run("gold", "--gold", "x.jsonl", "--index", "i")
    assert missing_out.exit_code == 2 and "Give --out DIR" in missing_out.output


def test_every_benchmark_has_targets(benchmark):
    assert benchmark.targets
    metrics = scripted_results(benchmark.name)["configurations"][0]["metrics"]
    for target in benchmark.targets:
        assert target.op in (">=", "<", "<=", "==") and target.unit in ("rate", "seconds", "count")
        assert target.met(metrics) in (True, False, None)  # reads the metrics of any run without failing


def test_every_benchmark_has_a_report_section(benchmark, tmp_path):
    results = scripted_results(benchmark.name)
    assert benchmark.section(results)
    report = render_report(results)
    assert report.startswith(f"# Evaluation report: {benchmark.title or benchmark.name}")
    assert f"\n## {benchmark.heading}\n" in report and "\n## Targets\n" in report
    assert report.index("## Summary") < report.index("## Targets") < report.index(f"## {benchmark.heading}")
    results_md = render_results_md([("run", results)])
    assert f"\n### {benchmark.heading}\n" in results_md and "\n### Targets\n" in results_md


def test_the_registry_refuses_names_it_cannot_give_a_command():
    for bad in ("results", "calibrate", "Two Words", ""):
        with pytest.raises(ValueError, match="cannot name a benchmark"):
            benchmarks.register(Benchmark(bad, "?", lambda r: Plan([]), (), "?", lambda r: None))


def test_a_replaced_built_in_comes_back_when_unregistered():
    original = benchmarks.get("gold")
    benchmarks.register(Benchmark("gold", "Replaced.", lambda r: Plan([]), (), "Replaced", lambda r: "x"))
    try:
        assert benchmarks.get("gold").heading == "Replaced"
    finally:
        benchmarks.unregister("gold")
    assert benchmarks.get("gold") is original
    assert benchmarks.get("nonesuch") is None


# ------------------------------------------------------------------------------------------ a new benchmark


@pytest.fixture
def fake_models(monkeypatch):
    """The real factory, with the embedder and the default LLM replaced by fakes."""

    def answer(question, prompt):
        if "pilots" in question:
            return "NONE\n"
        return quoting(prompt, "ministry denied", "The Ministry of Defense denied it [n].")

    monkeypatch.setattr(rag.models.embedder, "SentenceTransformerEmbedder", lambda name, *a, **kw: FakeEmbedder(name))
    register_generator("qwen2.5-coder-1.5b", lambda config: scripted_generator(answer, name=config.model))
    yield
    unregister("qwen2.5-coder-1.5b")


@pytest.fixture
def tiny(seeds):
    """Two questions over the sample corpus, with an option of its own and a judging of its own."""
    seen = {}

    def load(request):
        seen.update(request.options, limit=request.limit)
        questions = [
            EvalQuestion("t1", "Who denied the intelligence sharing?", "single", [["Ministry of Defense"]],
                         docs=["000_b2984dc87e62d731.txt"]),
            EvalQuestion("t2", "What were the names of the pilots?", "unanswerable", []),
        ]
        return Plan(questions, corpus=(seeds,), meta={"corpus": str(seeds), "questions": "2 tiny ones"})

    def rescore(record):
        record["verdicts"]["tiny_judged"] = True
        return record

    def section(results):
        return "Tiny: " + ", ".join(f"{c['name']} {c['metrics']['outcomes']['right']} right"
                                    for c in results["configurations"])

    benchmarks.register(Benchmark(
        name="tiny", help="Two questions over the sample corpus.", load=load, rescore=rescore,
        options=(click.option("--flavour", type=click.Choice(["plain", "salty"]), default="plain"),),
        targets=(Target("truthfulness", lambda m: m["truthfulness"], ">=", 0.9),), heading="Tiny things",
        section=section))
    yield seen
    benchmarks.unregister("tiny")


def test_a_registered_benchmark_gets_a_command_that_runs_and_reports(tiny, fake_models, tmp_path):
    assert re.search(r"^  tiny\s+Two questions over the sample corpus\.", run("--help").output, re.MULTILINE)
    out = tmp_path / "tiny"
    result = run("tiny", "--flavour", "salty", "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    assert tiny["flavour"] == "salty" and tiny["limit"] is None
    assert "truthfulness 1.000 (coverage 0.500, accuracy of the answered 1.000)" in result.output

    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert saved["meta"]["benchmark"] == "tiny" and saved["meta"]["questions"] == "2 tiny ones"
    assert saved["meta"]["prompts"].startswith("sha256:")
    (config,) = saved["configurations"]
    assert [r["id"] for r in config["records"]] == ["t1", "t2"]
    assert all(r["verdicts"]["tiny_judged"] for r in config["records"])
    assert config["metrics"]["outcomes"] == {"right": 2, "declined": 0, "wrong": 0, "failed": 0}
    assert (out / "index-ct128-ov24" / "CURRENT").is_file() and (out / "risk_coverage.png").is_file()

    report = (out / "report.md").read_text(encoding="utf-8")
    assert report.startswith("# Evaluation report: tiny")
    assert "## Tiny things\n\nTiny: default 2 right" in report
    assert "| truthfulness >= 0.9 | 1.000 met |" in report

    summary = tmp_path / "RESULTS.md"
    assert run("results", out, "--out", summary).exit_code == 0
    text = summary.read_text(encoding="utf-8")
    assert "| tiny | tiny | default |" in text and "### Tiny things" in text

    misplaced = run("--out", out, "tiny")
    assert misplaced.exit_code == 2 and "--out go after `tiny`" in misplaced.output


def test_an_unregistered_benchmark_has_no_command_and_its_runs_still_report():
    assert "No such command 'tiny'" in run("tiny", "--help").output
    report = render_report(scripted_results("tiny"))
    assert report.startswith("# Evaluation report: tiny") and "## Summary" in report and "## Targets" not in report
