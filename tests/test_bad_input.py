"""Bad input keeps what is good: a corpus of awkward files built here, each skipped with its real reason or read."""

from __future__ import annotations

import codecs
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from rag.errors import UnsupportedFileError
from rag.ingest.pipeline import ingest
from rag.ingest.readers import read_file
from rag.store import open_store
from tests.fakes import FakeEmbedder

BODY = ("The city council approved the new budget on Monday after a long debate. "
        "Officials said the plan funds three new schools and repairs the old harbour bridge. ")
ARTICLE = "Council passes budget\n\n" + BODY * 3
OTHER = "Harbour bridge reopens\n\n" + BODY.replace("budget", "bridge plan") * 3


def minimal_pdf(text: str, broken_xref: bool = False) -> bytes:
    """A one-page PDF with `text`; broken_xref shifts every offset, which pypdf repairs with warnings."""
    stream = b"BT /F1 12 Tf 72 720 Td (" + text.encode() + b") Tj ET"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref, shift = len(out), (7 if broken_xref else 0)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % (offset + shift) for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref + shift)
    return out


def _reasons(report) -> dict[str, str]:
    return {Path(source).name: reason for source, reason in report.failed}


# -- encodings -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("codec, bom", [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
                                        ("utf-32-le", codecs.BOM_UTF32_LE), ("utf-8", codecs.BOM_UTF8)])
def test_text_with_a_byte_order_mark_is_decoded(tmp_path, codec, bom):
    path = tmp_path / "story.txt"
    path.write_bytes(bom + "Señora Ruiz — “quoted”\n\n".encode(codec) + ARTICLE.encode(codec))
    [raw] = read_file(path)
    assert raw.text.startswith("Señora Ruiz — “quoted”") and "harbour bridge" in raw.text


def test_utf16_jsonl_with_a_byte_order_mark_is_read_line_by_line(tmp_path):
    path = tmp_path / "feed.jsonl"
    lines = [json.dumps({"title": "Ünïcode", "text": BODY}), json.dumps({"title": "Two", "text": BODY + "Two."})]
    path.write_bytes(codecs.BOM_UTF16_LE + "\n".join(lines).encode("utf-16-le"))
    assert [r.title for r in read_file(path)] == ["Ünïcode", "Two"]


def test_utf16_without_a_byte_order_mark_is_named(tmp_path):
    path = tmp_path / "story.txt"
    path.write_bytes(ARTICLE.encode("utf-16-le"))
    with pytest.raises(UnsupportedFileError, match="looks like UTF-16 text without a byte-order mark"):
        read_file(path)


# -- what a file really is (the reasons themselves: tests/test_readers.py) -----------------------------------

def test_pdf_warnings_do_not_leak_to_stderr(tmp_path, capfd):
    path = tmp_path / "repaired.pdf"
    path.write_bytes(minimal_pdf("The council approved the budget on Monday", broken_xref=True))
    [raw] = read_file(path)
    assert "approved the budget" in raw.text  # pypdf repaired it...
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""  # ...without "incorrect startxref pointer" on stderr


# -- JSONL keeps its good lines --------------------------------------------------------------------------

def test_jsonl_keeps_good_lines_and_reports_bad_ones_by_number(tmp_path, config):
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join([
        json.dumps({"title": "Good one", "text": ARTICLE}),
        '{"title": "broken", "text": "unterminated',
        json.dumps({"title": "No text"}),
        "[1, 2, 3]",
        "",
        json.dumps({"title": "Good two", "text": OTHER}),
    ]) + "\n")
    report = ingest([path], config, FakeEmbedder())
    assert report.added == 2
    assert dict(report.failed) == {
        f"{path}#2": "line 2: not JSON (Unterminated string starting at)",
        f"{path}#3": 'line 3: no "text" field',
        f"{path}#4": "line 4: expected a JSON object",
    }
    assert sorted(d.title for d in open_store(config.index_dir).documents()) == ["Good one", "Good two"]


def test_a_jsonl_of_nothing_but_bad_lines_is_one_failure(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_text("not json\nnor this\n")
    with pytest.raises(UnsupportedFileError, match=r"line 1: not JSON .* \(and 1 more bad lines\)"):
        read_file(path)


# -- monsters --------------------------------------------------------------------------------------------

def test_a_file_over_the_size_limit_is_skipped_before_it_is_read(tmp_path, config, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "huge.txt").write_text("word " * 5000)  # 25 KB, one line
    (corpus / "good.txt").write_text(ARTICLE)
    read = []
    real_read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self.name) or real_read_bytes(self))
    report = ingest([corpus], replace(config, max_file_mb=0.02), FakeEmbedder())
    assert report.added == 1
    assert _reasons(report)["huge.txt"] == ("file too large: 0.0 MB, over the 0.02 MB limit (raise max_file_mb to "
                                            "read it)")
    assert read == ["good.txt"]


def test_a_jsonl_line_over_the_size_limit_is_skipped_and_the_rest_kept(tmp_path, config):
    path = tmp_path / "feed.jsonl"
    path.write_text(json.dumps({"text": "word " * 5000}) + "\n" + json.dumps({"title": "Kept", "text": ARTICLE}))
    report = ingest([path], replace(config, max_file_mb=0.02), FakeEmbedder())
    assert report.added == 1
    assert dict(report.failed) == {f"{path}#1": "line 1: line too large: 0.0 MB, over the 0.02 MB limit (raise "
                                                "max_file_mb to read it)"}


def test_a_document_over_the_chunk_limit_is_skipped_with_the_count(tmp_path, config):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "long.txt").write_text("A long report\n\n" + BODY * 40)  # ~1,300 tokens: over a dozen chunks
    (corpus / "vast.txt").write_text("A vast dump\n\n" + "x" * 200_000)  # refused from its length alone
    (corpus / "good.txt").write_text(ARTICLE)
    report = ingest([corpus], replace(config, max_chunks=10), FakeEmbedder())
    assert report.added == 1
    reasons = _reasons(report)
    # long.txt passes the quick estimate (at least 8) and is refused once chunked; vast.txt never gets that far.
    assert reasons["long.txt"].startswith("too long: 1") and "over the limit of 10 per document" in reasons["long.txt"]
    assert reasons["vast.txt"].startswith("too long: at least 241 chunks of 128 tokens")


# -- links and odd files ---------------------------------------------------------------------------------

def test_links_that_cannot_be_followed_are_listed_as_skipped(tmp_path, config):
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "sub" / "good.txt").write_text(ARTICLE)
    (corpus / "loop-a.txt").symlink_to("loop-b.txt")
    (corpus / "loop-b.txt").symlink_to("loop-a.txt")
    (corpus / "dangling.txt").symlink_to("gone.txt")
    (corpus / "sub" / "up").symlink_to("..")  # a folder link back to an ancestor: walking it never ends
    (corpus / "also-sub").symlink_to("sub")  # a second way to the same folder: its file is read once
    os.mkfifo(corpus / "pipe.txt")  # reading it would block forever
    report = ingest([corpus], config, FakeEmbedder())
    assert report.added == 1 and not report.duplicates
    assert _reasons(report) == {
        "loop-a.txt": "symlink loop: following the link never reaches a file or folder",
        "loop-b.txt": "symlink loop: following the link never reaches a file or folder",
        "dangling.txt": "broken link: its target gone.txt does not exist",
        "up": f"symlink loop: the link leads back to {corpus.resolve()}, a folder above it",
        "pipe.txt": "not a regular file (a pipe, socket or device)",
    }


# -- duplicates ------------------------------------------------------------------------------------------

def test_the_same_article_in_two_folders_is_one_document(tmp_path, config):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "story.txt").write_text(ARTICLE)
    (tmp_path / "b" / "other.txt").write_text(OTHER)
    report = ingest([tmp_path / "a", tmp_path / "b"], config, FakeEmbedder())
    assert (report.added, report.failed) == (2, [])
    first, copy = (str((tmp_path / folder / "story.txt").resolve()) for folder in ("a", "b"))
    assert report.duplicates == [(copy, first)]
    assert open_store(config.index_dir).stats().documents == 2
    # Again: nothing changes, and the copy is still named as a duplicate.
    again = ingest([tmp_path / "a", tmp_path / "b"], config, FakeEmbedder())
    assert (again.added, again.unchanged, again.duplicates) == (0, 2, [(copy, first)])


def test_a_copy_of_an_indexed_article_is_a_duplicate_until_the_original_goes(tmp_path, config):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "story.txt").write_text(ARTICLE)
    original, copy = (str((tmp_path / folder / "story.txt").resolve()) for folder in ("a", "b"))
    ingest([tmp_path / "a"], config, FakeEmbedder())
    later = ingest([tmp_path / "b"], config, FakeEmbedder())
    assert (later.added, later.duplicates) == (0, [(copy, original)])
    # The original file is gone: the copy is indexed, so the article is not lost when --prune drops the original.
    Path(original).unlink()
    moved = ingest([tmp_path / "b"], config, FakeEmbedder(), prune=True)
    assert (moved.added, moved.removed, moved.duplicates) == (1, 1, [])
    assert [d.source for d in open_store(config.index_dir).documents()] == [copy]


def test_an_article_edited_to_match_another_leaves_one_document(tmp_path, config):
    (tmp_path / "one.txt").write_text(ARTICLE)
    (tmp_path / "two.txt").write_text(OTHER)
    ingest([tmp_path], config, FakeEmbedder())
    (tmp_path / "two.txt").write_text(ARTICLE)  # now the same article as one.txt
    report = ingest([tmp_path], config, FakeEmbedder())
    assert (report.unchanged, report.removed, len(report.duplicates)) == (1, 1, 1)
    docs = open_store(config.index_dir).documents()
    assert [Path(d.source).name for d in docs] == ["one.txt"]  # two.txt's old text is not left behind


def test_a_copy_waits_while_its_indexed_twin_may_still_change(tmp_path, config):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    (tmp_path / "a" / "story.txt").write_text(ARTICLE)
    ingest([tmp_path / "a"], config, FakeEmbedder())
    (tmp_path / "b" / "copy.txt").write_text(ARTICLE)  # read first, while a/story.txt still holds this text...
    (tmp_path / "a" / "story.txt").write_text(OTHER)  # ...which it no longer does: the copy must be kept
    report = ingest([tmp_path / "b", tmp_path / "a"], config, FakeEmbedder())
    assert (report.added, report.updated, report.duplicates) == (1, 1, [])
    assert sorted(d.title for d in open_store(config.index_dir).documents()) == ["Council passes budget",
                                                                                 "Harbour bridge reopens"]
