"""Title, outlet, date and author found in scraped article text."""

from __future__ import annotations

import pytest

from rag.ingest.documents import to_document
from rag.ingest.metadata import find_date, parse_date
from rag.ingest.readers import RawArticle, read_file


@pytest.mark.parametrize("text, expected", [
    ("27-02-2021", "2021-02-27"),
    ("27.02.2021", "2021-02-27"),
    ("Published: 2022/06/12", "2022-06-12"),
    ("2022-06-12T10:00:00Z", "2022-06-12"),
    ("June 12, 2022", "2022-06-12"),
    ("12 June 2022", "2022-06-12"),
    ("Sept. 3, 2021", "2021-09-03"),
    ("31-02-2021", None),  # no such day
    ("no date here", None),
])
def test_parse_date(text, expected):
    assert parse_date(text) == expected


def test_find_date_prefers_a_label_and_ignores_dates_in_prose():
    lines = ["Some headline here today", "The strike happened on June 3, 2021 near the border.",
             "Updated: 2021/06/29"]
    assert find_date(lines) == "2021-06-29"
    assert find_date(["Story headline", "The vote was on May 2, 2020 in the capital."]) is None


@pytest.mark.parametrize("name, title, outlet, date, author", [
    ("000_b2984dc87e62d731.txt", "Iraq denies involvement in US airstrikes on Iran-backed militias in Syria",
     "Rudaw", "2021-02-27", "Sura Ali"),
    ("001_2b52cb3e110e3771.txt", "U.S. didn’t use Iraqi information to attack targets in Syria: Pentagon spokesman",
     "ESTA", None, None),
    ("002_5e454381d5abd5c5.txt", "Iraqi MPs Demand Probe of Collusion With US Attack on Anti-Daesh Militias",
     "Sputnik International", "2021-02-27", None),
    ("004_7d62095dcace34a0.txt", "Iraq slams ‘unacceptable’ US strikes on pro-Iran fighters", "France 24", None, None),
])
def test_seed_metadata(seeds, name, title, outlet, date, author):
    doc = to_document(read_file(seeds / name)[0])
    assert (doc.title, doc.outlet, doc.date, doc.author) == (title, outlet, date, author)
    assert not doc.text.startswith(title)  # the header is metadata, not body


def test_article_without_a_title_line_gets_its_first_sentence(seeds):
    doc = to_document(read_file(seeds / "003_249214cac3478a04.txt")[0])
    assert doc.title.startswith("The Iraqi prime minister’s office has condemned airstrikes")
    assert doc.outlet == "Rudaw"
    assert doc.date is None  # the only year in it belongs to a photo caption


def test_format_metadata_wins_over_text_guesses():
    raw = RawArticle(source="x.jsonl#1", text="Headline In The Text Itself\n" + "Word " * 30 + ".",
                     title="Given title", outlet="Given Outlet", date="2022/06/12", url="https://e.com/a")
    doc = to_document(raw)
    assert (doc.title, doc.outlet, doc.date, doc.url) == ("Given title", "Given Outlet", "2022-06-12", "https://e.com/a")


def test_outlet_from_a_source_line_or_the_url():
    from rag.ingest.metadata import find_outlet, outlet_from_url

    assert find_outlet("Body text.\n\nSource: Kurdistan24\n") == "Kurdistan24"
    assert find_outlet("Body text.\nhttps://www.rudaw.net/english/middleeast/iraq/270220211\n") == "Rudaw"
    assert find_outlet("Body text.", url="https://edition.cnn.com/2022/06/12/x") == "CNN"
    assert find_outlet("Body text with no sign of its outlet.") is None
    assert outlet_from_url("https://www.example.org/a") == "example.org"
