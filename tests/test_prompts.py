"""Prompt templates: the bundled ones by default, a custom folder overriding some, and shipped in the wheel."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from rag.answer.followup import load_template
from rag.answer.prompting import Templates, bundled_prompts, load_prompt
from rag.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def test_empty_folder_means_the_bundled_templates():
    assert bundled_prompts() == REPO / "prompts"
    assert load_prompt("", "answer.gbnf") == (REPO / "prompts" / "answer.gbnf").read_text().strip()
    assert Templates.load("").grammar.startswith(load_prompt("", "answer.gbnf"))


def test_a_custom_folder_overrides_only_what_it_holds(tmp_path):
    (tmp_path / "rewrite.txt").write_text("Rewrite: {question}\n")
    assert load_template(tmp_path) == "Rewrite: {question}"
    assert load_prompt(tmp_path, "evidence.txt") == load_prompt("", "evidence.txt")  # not in tmp_path


def test_a_template_nowhere_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="prompts_dir"):
        load_prompt(tmp_path, "missing.txt")


def test_a_broken_answer_template_is_refused(tmp_path):
    (tmp_path / "answer.txt").write_text("### user\nNo slots here\n")
    with pytest.raises(ConfigError, match="must hold"):
        Templates.load(tmp_path)


@pytest.mark.integration
def test_the_wheel_ships_the_prompts_and_calibration(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(REPO)], check=True, capture_output=True)
    names = zipfile.ZipFile(next(tmp_path.glob("rag_news-*.whl"))).namelist()
    for name in ("answer.txt", "evidence.txt", "answer.gbnf", "rewrite.txt"):
        assert f"rag/prompts/{name}" in names
    assert "rag/calibration.json" in names


def test_every_package_is_listed_for_the_wheel():
    """pyproject.toml lists the packages by hand (to map prompts/ in): a new subpackage must be added there."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for top in ("rag", "ui") for p in (REPO / top).rglob("__init__.py")}
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages in pyproject.toml"
