"""`rag ingest URL`: a real HTTP server on 127.0.0.1 serves a feed and its pages, some broken on purpose (404, a
slow page, a PDF, a paywall stub, an entry listed twice); the real ingest reads them over HTTP. Conditional GET
for the feed and the pages, a re-run that adds only the new entry and replaces the changed page, local files
beside URLs, and no connection beyond this machine."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag.ingest.fetch import USER_AGENT, canonical_url
from rag.ingest.pipeline import ingest
from rag.store import open_store
from tests.fakes import FakeEmbedder
from tests.shared import copy_seeds
from tests.web_site import Page, Server, Site, article_html, rss

WORDS = ("The council approved the new budget after a long debate on Tuesday evening, and the mayor said the money "
         "would go to schools, roads and the harbour, which flooded twice last winter.")


def story(topic: str) -> list[str]:
    return [f"{topic} {WORDS}", f"Residents said {topic.lower()} had been expected for months. {WORDS}",
            f"Opposition members criticised the plan for {topic.lower()}, saying it came too late."]


def build_site(site: Site, url: str, extra: list | None = None) -> None:
    entries = [("Budget passes", f"{url}/news/budget?utm_source=rss", "2024-03-05", "Ann Reporter"),
               ("Harbour works", f"{url}/news/harbour", "2024-03-06", None),
               ("Gone", f"{url}/news/gone", "2024-03-06", None),
               ("Slow", f"{url}/news/slow", "2024-03-06", None),
               ("A PDF", f"{url}/news/report.pdf", "2024-03-06", None),
               ("Locked", f"{url}/news/locked", "2024-03-06", None),
               ("Budget passes again", f"{url}/news/budget", "2024-03-05", None)]  # the same article twice
    site.pages["/feed.xml"] = Page(rss("Harbour Town Gazette", entries + (extra or [])),
                                   "application/rss+xml; charset=utf-8")
    site.pages["/news/budget"] = Page(article_html("Council passes the budget", story("The budget vote")))
    site.pages["/news/harbour"] = Page(article_html("Harbour works begin", story("Harbour works"),
                                                    site_name="The Gazette", date="2024-03-04",
                                                    author="Bo Writer"))
    site.pages["/news/slow"] = Page(article_html("Slow", story("A slow page")), delay=2.5)
    site.pages["/news/report.pdf"] = Page(b"%PDF-1.4 binary", "application/pdf")
    site.pages["/news/locked"] = Page(article_html("Locked", ["Subscribe now to continue reading this story. "
                                                              "Already a subscriber? Sign in."]))


@pytest.fixture
def web(config):
    site = Site()
    with Server(site) as url:
        build_site(site, url)
        yield site, replace(config, fetch_interval=0.0, fetch_timeout=1.0)


def _docs(config) -> dict[str, object]:
    store = open_store(config.index_dir)
    try:
        return {d.url or d.source: d for d in store.documents()}
    finally:
        store.close()


def test_a_feed_is_ingested_with_its_metadata_and_bad_pages_skipped_with_reasons(web, outside_connections):
    site, config = web
    report = ingest([f"{site.url}/feed.xml"], config, FakeEmbedder())
    assert (report.added, report.updated, report.unchanged) == (2, 0, 0)
    reasons = dict(report.failed)
    assert reasons[f"{site.url}/news/gone"].startswith("HTTP 404")
    assert "timed out" in reasons[f"{site.url}/news/slow"]
    assert reasons[f"{site.url}/news/report.pdf"] == "not an HTML page (application/pdf)"
    assert reasons[f"{site.url}/news/locked"].startswith("paywall stub")
    assert [first for _, first in report.duplicates] == [f"{site.url}/news/budget"]  # listed twice, kept once
    docs = _docs(config)
    budget = docs[f"{site.url}/news/budget"]  # tracking parameters are not part of the identity
    # The page has no date, author or site name: the feed's fill them in.
    assert (budget.date, budget.author, budget.outlet) == ("2024-03-05", "Ann Reporter", "Harbour Town Gazette")
    assert budget.title == "Council passes the budget" and "budget vote" in budget.text
    harbour = docs[f"{site.url}/news/harbour"]  # the page's own metadata wins
    assert (harbour.date, harbour.author, harbour.outlet) == ("2024-03-04", "Bo Writer", "The Gazette")
    assert all(h["user-agent"] == USER_AGENT for _, h, _ in site.requests)
    assert outside_connections == []


def test_a_rerun_asks_with_validators_and_adds_only_the_new_entry(web):
    site, config = web
    feed = f"{site.url}/feed.xml"
    ingest([feed], config, FakeEmbedder())
    pages_before = len(site.requested("/news/budget"))

    again = ingest([feed], config, FakeEmbedder())  # nothing changed: the feed answers 304
    (headers, status), = site.requested("/feed.xml")[-1:]
    assert status == 304 and headers.get("if-none-match")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    assert len(site.requested("/news/budget")) == pages_before  # known entries of an unchanged feed: not fetched

    build_site(site, site.url, extra=[("New pier", f"{site.url}/news/pier", "2024-03-07", None)])
    site.pages["/news/pier"] = Page(article_html("New pier opens", story("The new pier")))
    site.pages["/news/harbour"] = Page(article_html("Harbour works begin", story("Harbour works, now delayed,"),
                                                    site_name="The Gazette", date="2024-03-04"))
    changed = ingest([feed], config, FakeEmbedder())
    assert (changed.added, changed.updated, changed.unchanged) == (1, 1, 1)
    (headers, status), = site.requested("/news/budget")[-1:]
    assert status == 304 and headers.get("if-none-match")  # the unchanged page: conditional GET, cached copy read
    assert "now delayed" in _docs(config)[f"{site.url}/news/harbour"].text
    assert len(_docs(config)) == 3


def test_a_page_url_and_local_files_in_one_ingest_each_with_its_line(web, seeds, tmp_path):
    site, config = web
    folder = copy_seeds(seeds, tmp_path / "news", ["000_b2984dc87e62d731.txt"])
    page = f"{site.url}/news/harbour"
    report = ingest([folder, page, f"{site.url}/news/gone"], config, FakeEmbedder())
    assert report.added == 2
    assert report.sources[str(folder)].added == 1 and report.sources[page].added == 1
    assert report.sources[f"{site.url}/news/gone"].failed == 1
    pruned = ingest([folder], config, FakeEmbedder(), prune=True)  # web articles are no files: --prune keeps them
    assert pruned.removed == 0 and page in _docs(config)


def test_canonical_urls_drop_fragments_and_tracking():
    assert canonical_url("HTTP://Example.ORG/a?id=3&utm_source=x#top") == "http://example.org/a?id=3"
    assert canonical_url("https://example.org") == "https://example.org/"


def test_rag_ingest_takes_a_url_on_the_command_line(web, fake_models):
    from click.testing import CliRunner

    from rag.cli import main

    site, config = web
    result = CliRunner().invoke(main, ["ingest", f"{site.url}/news/harbour", f"{site.url}/news/gone", "--index",
                                       config.index_dir, "--embedder", "fake-embedder"],
                                env={"RAG_FETCH_INTERVAL": "0", "RAG_CACHE_DIR": config.cache_dir})
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output
    assert f"skipped {site.url}/news/gone: HTTP 404" in result.output


def test_the_same_folder_or_url_given_twice_is_read_once(web, seeds, tmp_path):
    site, config = web
    folder = copy_seeds(seeds, tmp_path / "news", ["000_b2984dc87e62d731.txt"])
    page = f"{site.url}/news/harbour"
    report = ingest([folder, page, folder, page], config, FakeEmbedder())
    assert (report.added, len(report.duplicates)) == (2, 0)
    assert len(site.requested("/news/harbour")) == 1
