"""Each input format is read; bad files are skipped with their name and reason, the rest ingested."""

from __future__ import annotations

import json

import pytest

from rag.errors import IngestError, UnsupportedFileError
from rag.ingest.pipeline import ingest
from rag.ingest.readers import iter_files, read_file
from rag.store import open_store
from tests.fakes import FakeEmbedder

BODY = ("The city council approved the new budget on Monday after a long debate. "
        "Officials said the plan funds three new schools and repairs the old harbour bridge. ")

HTML = f"""<html><head><title>Council passes budget - Harbour Times</title>
<meta property="og:site_name" content="Harbour Times"><meta name="author" content="Jane Doe">
<meta property="article:published_time" content="2022-06-12"></head>
<body><nav>Home | World | Sport</nav><article><h1>Council passes budget</h1><p>{BODY}</p><p>{BODY}More.</p></article>
<div class="comments">Post a comment</div></body></html>"""


def test_html_article_text_and_metadata(tmp_path):
    path = tmp_path / "a.html"
    path.write_text(HTML)
    [raw] = read_file(path)
    assert "approved the new budget" in raw.text and "Home | World" not in raw.text
    assert (raw.title, raw.outlet, raw.date) == ("Council passes budget", "Harbour Times", "2022-06-12")


def test_jsonl_one_article_per_line(tmp_path):
    path = tmp_path / "feed.jsonl"
    lines = [{"title": "T1", "text": BODY, "date": "2022/06/12", "url": "https://e.com/1", "source": "E News"},
             {"title": "T2", "text": BODY + "Second."}]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    raws = read_file(path)
    assert [r.title for r in raws] == ["T1", "T2"]
    assert raws[0].outlet == "E News" and raws[0].url == "https://e.com/1" and raws[1].source.endswith("#2")


@pytest.mark.parametrize("name, content, reason", [
    # nothing to read, or a type not read at all
    ("empty.txt", b"   \n", "empty"),
    ("blob.txt", b"\x00\x01\x02binary", "binary"),
    ("photo.jpg", b"\xff\xd8\xff", "unsupported file type .jpg"),
    # the right type, but broken
    ("bad.jsonl", b'{"title": "x"\n', "not JSON"),
    ("notext.jsonl", b'{"title": "x"}\n', "no \\\"text\\\""),
    ("broken.pdf", b"%PDF-1.4 garbage", "PDF"),
    ("damaged.pdf", b"%PDF-1.4\n1 0 obj garbage", "damaged PDF"),
    # named as one thing, really another: the reason says what it is
    ("notes.pdf", b"Council passes budget\n\nThe council approved it.", "not a PDF: looks like text"),
    ("page.pdf", b"<!DOCTYPE html><html><body>x</body></html>", "not a PDF: looks like HTML"),
    ("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file, not text: looks like a PNG image"),
    ("report.md", b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "looks like a ZIP archive"),
    ("feed.jsonl", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", "binary file, not text: looks like gzip"),
])
def test_bad_files_say_why(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnsupportedFileError, match=reason):
        read_file(path)


def test_ingest_skips_bad_files_and_keeps_the_rest(tmp_path, config):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("Council passes budget\n\n" + BODY * 2)
    (corpus / "empty.txt").write_text("")
    (corpus / "image.png").write_bytes(b"\x89PNG")
    (corpus / "stub.txt").write_text("Too short to be an article.")
    (corpus / ".hidden.txt").write_text("ignored")
    report = ingest([corpus], config, FakeEmbedder())
    assert report.added == 1 and not report.nothing_ingested
    reasons = {path.rsplit("/", 1)[-1]: why for path, why in report.failed}
    assert set(reasons) == {"empty.txt", "image.png", "stub.txt"}
    assert "too little article text" in reasons["stub.txt"]
    assert open_store(config.index_dir).stats().documents == 1


def test_nothing_ingestable_is_reported(tmp_path, config):
    (tmp_path / "empty.txt").write_text("")
    report = ingest([tmp_path / "empty.txt"], config, FakeEmbedder())
    assert report.nothing_ingested


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(IngestError, match="does not exist"):
        list(iter_files([tmp_path / "nope"]))
