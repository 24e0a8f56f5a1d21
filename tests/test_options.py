"""Options are checked before any work: a bad value is a usage error (exit code 2) that names the option."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.config import check, load_config
from rag.errors import ConfigError


def _run(*args, env=None):
    return CliRunner().invoke(main, list(args), env=env)


@pytest.mark.parametrize("args, message", [
    (["ask", "Who?", "-k", "0"], "Invalid value for '-k': 0 is not in the range 1<=x<=50"),
    (["ask", "Who?", "-k", "-5"], "Invalid value for '-k': -5 is not in the range 1<=x<=50"),
    (["ask", "Who?", "-k", "51"], "Invalid value for '-k': 51 is not in the range 1<=x<=50"),
    (["ask", "Who?", "--since", "2021-03-01", "--until", "2021-02-01"],
     "Invalid value for '--since' / '--until': --since 2021-03-01 is after --until 2021-02-01"),
    (["ask", "Who?", "--until", "soon"], "Invalid value for '--until': 'soon' is not a date; use YYYY-MM-DD."),
    (["ingest", ".", "--overlap", "200", "--chunk-tokens", "64"],
     "Invalid value for '--chunk-tokens' / '--overlap': overlap (200) must be smaller than chunk_tokens (64)."),
    (["ingest", ".", "--overlap", "200"], "Invalid value for '--overlap': overlap (200) must be smaller than "
                                          "chunk_tokens (128)."),
    (["ingest", ".", "--overlap", "-1"], "Invalid value for '--overlap': -1 is not in the range x>=0"),
    (["ingest", ".", "--chunk-tokens", "4"], "Invalid value for '--chunk-tokens': 4 is not in the range 16<=x<=2048"),
    (["ui", "--queue-size", "0"], "Invalid value for '--queue-size': 0 is not in the range x>=1"),
    (["ui", "--auth", "nobody"], "Invalid value for '--auth': use USER:PASSWORD, both non-empty."),
])
def test_bad_options_are_usage_errors(tmp_path, args, message):
    result = _run(*args, "--index", str(tmp_path / "index"))
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())  # click wraps long lines
    assert not (tmp_path / "index").exists()  # refused before anything was created


@pytest.mark.parametrize("command", [["ask", "Who?"], ["info"], ["ingest", "."]])
def test_an_index_that_is_a_file_is_refused(tmp_path, command):
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("x")
    result = _run(*command, "--index", str(not_a_folder))
    assert result.exit_code == 2
    assert f"{not_a_folder} is a file, not an index folder" in " ".join(result.output.split())
    assert _run(*command, env={"RAG_INDEX": str(not_a_folder)}).exit_code == 2  # the environment too


def test_an_index_url_passes_the_option_check(tmp_path):
    result = _run("info", "--index", "postgresql://localhost/news")
    assert "is a file" not in result.output and result.exit_code != 2


def test_an_out_of_range_setting_from_the_environment_is_a_config_error(tmp_path):
    result = _run("ask", "Who?", "--index", str(tmp_path), env={"RAG_K": "0"})
    assert result.exit_code == 1
    assert "k must be from 1 to 50, got 0." in result.output


@pytest.mark.parametrize("values, settings", [
    ({"k": 0}, ("k",)), ({"k": 51}, ("k",)), ({"overlap": -1}, ("overlap",)),
    ({"overlap": 128}, ("overlap", "chunk_tokens")), ({"max_file_mb": 0}, ("max_file_mb",)),
    ({"max_chunks": 0}, ("max_chunks",)), ({"ui_queue_size": 0}, ("ui_queue_size",)),
])
def test_config_check_names_the_setting(values, settings):
    with pytest.raises(ConfigError) as caught:
        load_config(values, environ={})
    assert caught.value.settings == settings


def test_config_check_passes_the_defaults_and_reads_yes_no_words():
    assert check(load_config(environ={})) is not None
    assert load_config(environ={"RAG_UI_ALLOW_UPLOADS": "yes"}).ui_allow_uploads is True
    assert load_config(environ={"RAG_UI_ALLOW_UPLOADS": "off"}).ui_allow_uploads is False
    with pytest.raises(ConfigError, match="'ui_allow_uploads' must be bool"):
        load_config(environ={"RAG_UI_ALLOW_UPLOADS": "maybe"})


@pytest.mark.parametrize("args, message", [
    (["-k", "0"], "Invalid value for '-k': 0 is not in the range 1<=x<=50"),
    (["--sweep", "k=0,3"], "Invalid value for --sweep: k must be from 1 to 50, got 0."),
    (["--sweep", "overlap=-4"], "Invalid value for --sweep: overlap must be at least 0, got -4."),
])
def test_eval_options_are_checked_the_same_way(tmp_path, args, message):
    gold = tmp_path / "gold.jsonl"
    gold.write_text("")
    result = _run("eval", "--gold", str(gold), "--corpus", str(tmp_path), "--out", str(tmp_path / "out"), *args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_eval_index_that_is_a_file_is_refused(tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text("")
    result = _run("eval", "--gold", str(gold), "--index", str(gold), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and "is a file, not an index folder" in " ".join(result.output.split())
