"""Text from articles reaches the terminal without control characters or escape sequences."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.ingest.pipeline import ingest
from rag.terminal import json_line, printable
from tests.fakes import FakeEmbedder, quoted

BODY = ("The city council approved the new budget on Monday after a long debate. "
        "Officials said the plan funds three new schools and repairs the old harbour bridge. ") * 3
TITLE = "\x1b]0;pwned\x07Council \x1b[2J\x1b[31mpasses\x1b[0m budget\x9b1m"
OUTLET = "Harbour\x1b]8;;http://evil.example\x1b\\ Times\x07\r"


@pytest.mark.parametrize("raw, shown", [
    ("\x1b]0;set the title\x07Headline", "Headline"),  # OSC ended by BEL
    ("\x1b]52;c;Y2xpcGJvYXJk\x1b\\after", "after"),  # OSC ended by ST: a clipboard write
    ("red \x1b[1;31mtext\x1b[0m", "red text"),  # CSI colours
    ("clear\x1b[2J\x1b[H screen", "clear screen"),
    ("\x1bPdevice control\x1b\\done", "done"),  # DCS
    ("8-bit \x9b31mCSI and \x9d0;title\x07OSC", "8-bit CSI and OSC"),
    ("bell\x07, back\x08space, carriage\r return, nul\x00, del\x7f", "bell, backspace, carriage return, nul, del"),
    ("line one\nline\ttwo", "line one\nline\ttwo"),  # newline and tab stay
    ("evil\u202eexe.txt", "evilexe.txt"),  # a right-to-left override would show it reversed
    ("Kurdish: کوردستان, accents: é, emoji: 🗞", "Kurdish: کوردستان, accents: é, emoji: 🗞"),
    ("unterminated \x1b]0;title", "unterminated "),
])
def test_printable_strips_control_characters_and_escape_sequences(raw, shown):
    assert printable(raw) == shown


def test_json_line_keeps_the_data_but_escapes_control_characters():
    text = json_line({"title": TITLE})
    assert not any(ch in text for ch in "\x1b\x07\x9b")
    assert json.loads(text) == {"title": TITLE}  # nothing lost


@pytest.fixture
def hostile_index(tmp_path, config, fake_models):
    """An index whose only article has escape sequences in its title and outlet."""
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({"title": TITLE, "source": OUTLET, "date": "2022-06-12", "text": BODY}) + "\n")
    ingest([feed], config, FakeEmbedder())
    fake_models.reply = quoted("The council \x1b]0;x\x07passed it [1].", (1, "The city council approved the new budget"))
    return config


def _assert_clean(output: str) -> None:
    assert not any(ch in output for ch in "\x1b\x07\x9b\x9d\r"), repr(output)


@pytest.mark.parametrize("flags", [[], ["--no-stream"], ["--json"]])
def test_ask_prints_no_escape_sequences(hostile_index, flags):
    result = CliRunner().invoke(main, ["ask", "What did the council approve?", "--index", hostile_index.index_dir,
                                       "--model", "fake-llm", "--embedder", "fake-embedder", *flags])
    assert result.exit_code == 0, result.output
    _assert_clean(result.output)
    if flags == ["--json"]:
        assert json.loads(result.output)["passages"][0]["title"] == TITLE  # the data itself is intact
    else:
        assert "Council passes budget — Harbour Times, 2022-06-12" in result.output


@pytest.mark.parametrize("flags", [[], ["--json"]])
def test_info_prints_no_escape_sequences(hostile_index, flags):
    result = CliRunner().invoke(main, ["info", "--index", hostile_index.index_dir, *flags])
    assert result.exit_code == 0, result.output
    _assert_clean(result.output)
    if not flags:
        assert "Outlets     Harbour Times (1)" in result.output


def test_ingest_prints_no_escape_sequences_from_file_names_or_reasons(tmp_path, monkeypatch):
    import rag.models.embedder

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("Council passes budget\n\n" + BODY)
    (corpus / "evil\x1b]0;pwned\x07.docx").write_bytes(b"PK")
    feed = corpus / "feed.jsonl"
    feed.write_text(json.dumps({"text": BODY}) + '\n{"title": "\\u001b[2J", "text": "x \x1b[2J"\n')
    monkeypatch.setattr(rag.models.embedder, "SentenceTransformerEmbedder", lambda name, **kw: FakeEmbedder())
    result = CliRunner().invoke(main, ["ingest", str(corpus), "--index", str(tmp_path / "index")])
    assert result.exit_code == 0, result.output
    _assert_clean(result.output)
    assert "corpus/evil.docx: unsupported file type .docx" in result.output
