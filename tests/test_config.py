"""Settings layer as documented: defaults < rag.toml < RAG_* environment < flags."""

from __future__ import annotations

import pytest

from rag.config import Config, load_config
from rag.errors import ConfigError


def test_layers(tmp_path):
    toml = tmp_path / "rag.toml"
    toml.write_text('[rag]\nk = 6\nmodel = "qwen2.5-coder-0.5b"\nevidence_tokens = 700\n')
    env = {"RAG_K": "3", "RAG_INDEX": "/data/idx"}
    config = load_config({"evidence_tokens": 500, "model": None}, toml_path=toml, environ=env)
    assert config.k == 3  # env beats toml
    assert config.model == "qwen2.5-coder-0.5b"  # toml beats default; a None flag is "not given"
    assert config.evidence_tokens == 500  # flag beats toml
    assert config.index_dir == "/data/idx"
    assert config.overlap == Config().overlap


def test_bad_values_are_named(tmp_path):
    with pytest.raises(ConfigError, match="'k' must be int"):
        load_config(environ={"RAG_K": "many"})
    toml = tmp_path / "rag.toml"
    toml.write_text("[rag]\nkk = 1\n")
    with pytest.raises(ConfigError, match="Unknown setting 'kk'"):
        load_config(toml_path=toml, environ={})
    toml.write_text("k = = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(toml_path=toml, environ={})
