"""Say what a file really is from its first bytes, so a skipped file's reason names it ("looks like a PNG image")."""

from __future__ import annotations

import codecs

# (signature at offset 0, what it is); the first match wins.
_SIGNATURES = [
    (b"%PDF-", "a PDF"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (.docx, .odt, .epub and .xlsx files are ZIP archives)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office file (.doc, .xls)"),
    (b"{\\rtf", "an RTF document"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"BZh", "bzip2-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"%!PS", "a PostScript file"),
    (b"\x7fELF", "a program (ELF)"),
    (b"ID3", "an MP3 file"),
    (b"OggS", "an Ogg audio or video file"),
    (b"SQLite format 3\x00", "an SQLite database"),
]

# Byte-order marks and the codec that reads them; UTF-32 LE starts like UTF-16 LE, so it is tried first.
BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]


def bom_encoding(head: bytes) -> str | None:
    """The codec named by a byte-order mark at the start of `head`, or None."""
    for bom, encoding in BOMS:
        if head.startswith(bom):
            return encoding
    return None


def looks_like(head: bytes) -> str:
    """What the first few KB of a file look like: "a PDF", "a PNG image", "HTML", "text", "binary data"..."""
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            return kind
    if head[4:12] in (b"ftypisom", b"ftypmp42") or head[4:8] == b"ftyp":
        return "an MP4 or other ISO media file"
    if head.startswith(b"RIFF") and head[8:12] in (b"WEBP", b"WAVE", b"AVI "):
        return {b"WEBP": "a WebP image", b"WAVE": "a WAV audio file", b"AVI ": "an AVI video"}[head[8:12]]
    encoding = bom_encoding(head)
    if encoding:
        return f"text ({encoding.replace('-sig', '').upper()} with a byte-order mark)"
    sample = head[:4096]
    odd_zeros, even_zeros = sample[1::2].count(0), sample[0::2].count(0)
    if max(odd_zeros, even_zeros) > len(sample) // 4 and min(odd_zeros, even_zeros) == 0:
        return "UTF-16 text without a byte-order mark"  # every other byte zero: ASCII letters in two bytes
    if b"\x00" in sample:
        return "binary data"
    lowered = sample.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<body" in lowered:
        return "HTML"
    if lowered.startswith((b"{", b"[")):
        return "JSON"
    return "text"
