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


def test_a_withheld_answer_is_said_to_be_withheld_not_absent(seed_index, fake_models):
    from tests.fakes import quoted

    # The answer restates the question (no word of its own): it streams, then checking withholds it.
    fake_models.reply = quoted("The intelligence sharing was denied [1].",
                               (1, "Iraq’s Ministry of Defense has"))
    result = CliRunner().invoke(main, ["ask", "Who denied the intelligence sharing?", "--index", seed_index.index_dir,
                                       "--model", "fake-llm", "--embedder", "fake-embedder"])
    assert result.exit_code == 0, result.output
    assert "The intelligence sharing was denied [1]." in result.output  # as streamed
    checked = result.output.split("Checked: ")[1]
    assert checked.startswith("withheld, not sure enough that the articles support this answer")
    assert "cannot find" not in checked


def test_help_lists_the_commands():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("ingest", "ask", "info", "eval", "ui"):
        assert command in result.output


def test_streamed_answer_is_followed_by_the_checked_one(seed_index, fake_models):
    from tests.fakes import quoted

    # Two sources whose clauses carry no attribution: checking names who said what, so the text is revised.
    fake_models.reply = quoted("twenty-two militiamen were killed [1]; one fighter was killed [2][8].",
                               (1, "Twenty-two militiamen were killed in the strikes"),
                               (2, "the strikes killed one fighter and wounded four"))
    result = CliRunner().invoke(main, ["ask", "How many people were killed in the February 2021 strikes?", "--index",
                                       seed_index.index_dir, "--model", "fake-llm", "--embedder", "fake-embedder"])
    assert result.exit_code == 0, result.output
    assert "twenty-two militiamen were killed [1]; one fighter was killed [2][8]." in result.output  # as streamed
    assert "Checked: " in result.output and "[8]" not in result.output.split("Checked: ")[1]
    assert "Sources:\n  [1] " in result.output
    assert "      “Twenty-two militiamen were killed in the strikes, the Syrian Observatory" in result.output
