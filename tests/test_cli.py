"""The command line's errors and exit codes (no models are loaded here)."""

from __future__ import annotations

from click.testing import CliRunner

from rag.cli import main


def test_ask_without_index_says_to_ingest(tmp_path):
    result = CliRunner().invoke(main, ["ask", "Who?", "--index", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "rag ingest" in result.output


def test_index_from_env(tmp_path):
    result = CliRunner().invoke(main, ["info"], env={"RAG_INDEX": str(tmp_path / "from-env")})
    assert result.exit_code == 1 and "from-env" in result.output


def test_empty_question_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["ask", "  ", "--index", str(tmp_path)])
    assert result.exit_code == 2 and "empty" in result.output


def test_bad_date_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["ask", "Who?", "--since", "yesterday", "--index", str(tmp_path)])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output


def test_ingest_of_nothing_usable_fails_with_reasons(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "x.docx").write_bytes(b"PK")
    result = CliRunner().invoke(main, ["ingest", str(tmp_path), "--index", str(tmp_path / "idx")])
    assert result.exit_code == 1
    assert "skipped" in result.output and "empty.txt: empty file" in result.output
    assert "unsupported file type .docx" in result.output


def test_help_lists_the_commands():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("ingest", "ask", "info", "eval", "ui"):
        assert command in result.output


def test_streamed_answer_is_followed_by_the_checked_one(seed_index, monkeypatch):
    import rag.ask
    from tests.fakes import FakeEmbedder, FakeGenerator

    monkeypatch.setattr(rag.ask, "SentenceTransformerEmbedder", lambda name: FakeEmbedder())
    monkeypatch.setattr(rag.ask, "load_generator", lambda config: FakeGenerator("Iraq denied it [1][8]."))
    result = CliRunner().invoke(main, ["ask", "Who denied the intelligence sharing?", "--index", seed_index.index_dir])
    assert result.exit_code == 0, result.output
    assert "Iraq denied it [1][8]." in result.output  # as streamed
    assert "Checked: Iraq denied it [1]." in result.output
    assert "dropped citations to passages that were not shown: [8]" in result.output
    assert "Sources:\n  [1] " in result.output
