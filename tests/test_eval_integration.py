"""`rag eval` with the real tiny models (SmolLM2-135M, MiniLM) on three seed questions over the sample corpus."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.evaluation.plots import PLOTS

SEEDS = Path(__file__).resolve().parents[1].parent / "shared/corpus/seeds"
GOLD = Path(__file__).resolve().parents[1] / "eval/gold/seeds.jsonl"
PICKED = ("seeds-001", "seeds-003", "seeds-085")  # two single-answer questions and one unanswerable


@pytest.mark.integration
def test_rag_eval_on_three_seed_questions_with_smollm2(tmp_path):
    if not SEEDS.is_dir():
        pytest.skip(f"sample corpus not found at {SEEDS}")
    rows = [line for line in GOLD.read_text(encoding="utf-8").splitlines() if json.loads(line)["id"] in PICKED]
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "run"

    result = CliRunner().invoke(main, ["eval", "--gold", str(gold), "--corpus", str(SEEDS), "--model", "smollm2-135m",
                                       "--out", str(out), "--no-progress"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    (config,) = saved["configurations"]
    assert config["model"] == "smollm2-135m" and config["embedder"] == "all-minilm-l6-v2"
    records = config["records"]
    assert [r["id"] for r in records] == list(PICKED)
    seed_files = {p.name for p in SEEDS.iterdir()}
    for record in records:
        assert record["error"] is None
        assert record["passages"] and {p["doc"] for p in record["passages"]} <= seed_files
        assert record["timings"]["total_ms"] > 0
    # Retrieval is deterministic: the question about the Defense Ministry's denial finds an expected article.
    assert records[0]["verdicts"]["retrieval_hit"] is True
    assert config["metrics"]["n"] == 3 and config["metrics"]["answerable"] == 2
    assert (out / "index-ct128-ov24" / "CURRENT").is_file()
    assert "## Overall" in (out / "report.md").read_text(encoding="utf-8")
    assert all((out / name).is_file() for name in PLOTS)
