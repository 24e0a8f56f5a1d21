"""Timelines: event days from relative dates, the lede, grouping reports of one event, ordering, undated articles,
and the sample corpus's story end to end (`rag timeline --json`)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner

from rag.answer.retrieve import Filters
from rag.cli import main
from rag.timeline.build import assemble, timeline
from rag.timeline.dating import consistent, estimate, event_day, mentions
from rag.timeline.grouping import Article, group
from rag.timeline.lede import lede
from rag.types import Document

FILLER = ("Officials gave few other details about the operation, and said an assessment was still going on. "
          "Analysts said the move could shape the talks planned for the weeks ahead.")


def doc(doc_id: str, text: str, outlet: str, published: str | None, title: str | None = None) -> Document:
    return Document(doc_id, f"{doc_id}.txt", title or f"{outlet} report {doc_id}", text, outlet=outlet,
                    date=published)


def article(d: Document, rank: int = 0) -> Article:
    first = lede(d)
    return Article(d, rank, first, event_day(first, d.date), mentions(d.text))


# -- dates ---------------------------------------------------------------------------------------------------

def test_the_event_day_is_the_ledes_relative_date_resolved_against_publication():
    assert event_day("Washington launched airstrikes on the border on Thursday.", "2021-02-27") == "2021-02-25"
    assert event_day("The ministry said yesterday it would respond.", "2021-02-27") == "2021-02-26"
    assert event_day("The talks went on as planned, the ministry said.", "2021-02-27") == "2021-02-27"
    assert event_day("Troops left on Thursday.", None) is None


def test_mentioned_dates_place_an_undated_article_and_rule_out_earlier_events():
    found = mentions("On February 15, a contractor was killed. The strategic dialogue began in June 2020.")
    assert found.yearless == ((2, 15),)
    assert found.latest == (date(2020, 6, 1), False)
    assert consistent(found, date(2021, 2, 25))  # February 15 of that year is before the event
    assert not consistent(mentions("Iraq released him earlier in June."), date(2021, 2, 25))
    assert not consistent(mentions("The alliance met in December 2021."), date(2021, 2, 25))
    # More than half a year after the event's month: last year's December, as a January report means it.
    assert consistent(mentions("Rockets hit the base on December 30."), date(2022, 1, 3))
    assert estimate(mentions("A meeting on 27 January, 2024 and another in December 2021.")) == ("2024-01-27", True)
    assert estimate(mentions("The relationship changed in December 2021.")) == ("2021-12", False)
    assert estimate(mentions("No date here, though a 2015 deal is named and it may rain.")) is None


def test_the_lede_is_the_first_substantive_sentence_without_its_dateline():
    d = doc("a", "Iraq\n\nERBIL, Kurdistan Region — The ministry denied any role in the strikes on the border on "
                 "Thursday. It said more.", "Rudaw", "2021-02-27")
    assert lede(d) == "The ministry denied any role in the strikes on the border on Thursday."
    esta = doc("b", "SULAIMANI (ESTA) — The United States did not use information provided by Iraq to attack "
                    "targets, a spokesman said.", "ESTA", None)
    assert lede(esta).startswith("The United States did not use")


# -- grouping and order --------------------------------------------------------------------------------------

STRIKE = ("US jets struck militia sites at the Abu Kamal crossing on Thursday, killing fighters of Kataib "
          "Hezbollah, the Pentagon said. Spokesman John Kirby said the strikes answered rocket attacks on Erbil. ")
STRIKE_COPY = ("US jets struck militia sites at the Abu Kamal crossing on Thursday, killing fighters of Kataib "
               "Hezbollah, the Pentagon said. Spokesman John Kirby said the strikes answered rocket attacks on "
               "Erbil. ")
DENIAL = ("Iraq's ministry denied on Friday that it shared intelligence before the Abu Kamal strikes on Kataib "
          "Hezbollah, after John Kirby said Baghdad helped. The rocket attack on Erbil on February 15 killed a "
          "contractor. ")
UNDATED_SAME = ("John Kirby said on Saturday that the United States did not use Iraqi information for the Abu "
                "Kamal strikes on Kataib Hezbollah. On February 15 rockets hit Erbil. ")
LATER = ("US jets struck a Kataib Hezbollah depot near Qaim on Sunday in a new raid, after drone attacks in "
         "March on bases. ")
UNDATED_LATER = ("Iraq condemned overnight US strikes on Kataib Hezbollah fighters on Monday. Earlier in June "
                 "a commander was released; drones hit bases since April. ")
ESTIMATED = ("Iraq's government condemned a strike on Kataib Hezbollah in Babil province, blaming the coalition. "
             "The security relationship changed in December 2021 and talks resumed in March 2023. ")


def story() -> list[Document]:
    return [doc("wire1", STRIKE + FILLER, "AP", "2021-02-26"),
            doc("wire2", STRIKE_COPY + FILLER, "ABC", "2021-02-26"),
            doc("denial", DENIAL + FILLER, "Rudaw", "2021-02-27"),
            doc("undated", UNDATED_SAME + FILLER, "ESTA", None),
            doc("later", LATER + FILLER, "France 24", "2021-04-12"),
            doc("undated-later", UNDATED_LATER + FILLER, "Al Jazeera", None),
            doc("estimated", ESTIMATED + FILLER, "Rudaw", None)]


def test_copies_and_same_days_reports_are_one_event_dated_by_what_they_report():
    result = assemble("Kataib Hezbollah strikes", group([article(d, i) for i, d in enumerate(story())]))
    events = result.events
    first = events[0]
    assert first.date == "2021-02-25" and not first.date_estimated  # "on Thursday" in an article of Friday
    assert [s.doc_id for s in first.sources] == ["wire1", "wire2", "denial", "undated"]  # by date, undated last
    assert first.published == "2021-02-26"
    assert "(2021-02-25)" in first.summary  # the relative date resolved in the sentence shown
    assert first.outlets == ["AP", "ABC", "Rudaw", "ESTA"]


def test_events_come_in_date_order_estimated_at_their_bound_and_undated_last():
    result = assemble("Kataib Hezbollah strikes", group([article(d, i) for i, d in enumerate(story())]))
    shown = [(e.date, e.date_estimated, [s.doc_id for s in e.sources]) for e in result.events]
    assert shown == [("2021-02-25", False, ["wire1", "wire2", "denial", "undated"]),
                     ("2021-04-11", False, ["later"]),
                     ("2023-03", True, ["estimated"]),
                     (None, False, ["undated-later"])]
    assert [s.n for e in result.events for s in e.sources] == list(range(1, 8))


def test_reports_of_the_same_days_on_another_story_stay_apart():
    other = doc("other", "Heavy rain flooded the harbour district on Thursday, and fishermen said the storm "
                         "sank boats. " + FILLER, "Local News", "2021-02-26")
    events = group([article(d, i) for i, d in enumerate([story()[0], other])])
    assert len(events) == 2


def test_timeline_json_shape():
    result = assemble("strikes", group([article(d, i) for i, d in enumerate(story()[:2])])).to_json()
    assert set(result) == {"query", "events"}
    assert set(result["events"][0]) == {"date", "date_estimated", "published", "summary", "sources"}
    assert set(result["events"][0]["sources"][0]) == {"n", "doc_id", "source", "title", "outlet", "date", "url"}


# -- the sample corpus ---------------------------------------------------------------------------------------

def _seed_events(config) -> list[dict]:
    from tests.fakes import FakeEmbedder

    return timeline(config, "US strikes on Iran-backed militias", embedder=FakeEmbedder()).to_json()["events"]


def test_seeds_story_february_strike_babil_after_it_june_strikes_undated(seed_index):
    events = _seed_events(seed_index)
    assert len(events) >= 3
    outlets = [sorted(s["outlet"] for s in e["sources"]) for e in events]
    february = events[0]
    assert february["date"] == "2021-02-25" and not february["date_estimated"]
    assert outlets[0] == ["ESTA", "Rudaw", "Sputnik International"]  # undated ESTA joins by content
    babil = next(e for e in events if any("Babil" in s["title"] for s in e["sources"]))
    assert babil["date_estimated"] and babil["date"] > february["date"]
    assert events.index(babil) > 0
    assert events[-1]["date"] is None and outlets[-1] == ["France 24"]  # no year in its text: undated, last
    dated = [e["date"] for e in events if e["date"]]
    assert dated == sorted(dated)


def test_timeline_filters_reach_the_search(seed_index):
    from tests.fakes import FakeEmbedder

    only = timeline(seed_index, "US strikes on Iran-backed militias", Filters(outlet="France 24"),
                    embedder=FakeEmbedder())
    assert [s.outlet for e in only.events for s in e.sources] == ["France 24"]


def test_rag_timeline_json_and_text(seed_index, fake_models):
    runner = CliRunner()
    args = ["timeline", "US strikes on Iran-backed militias", "--index", seed_index.index_dir,
            "--embedder", "fake-embedder"]
    result = runner.invoke(main, args + ["--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["query"] == "US strikes on Iran-backed militias" and len(data["events"]) >= 3
    text = runner.invoke(main, args)
    assert text.exit_code == 0, text.output
    first = text.output.splitlines()[0]
    assert first.startswith("2021-02-25") and "Rudaw [1]" in first and "ESTA [3]" in first
    assert "after 2021-12" in text.output and "undated" in text.output and "Sources:" in text.output
    bad = runner.invoke(main, args + ["--since", "2022-01-01", "--until", "2021-01-01"])
    assert bad.exit_code == 2


# -- the API and the chat's view -----------------------------------------------------------------------------

def test_post_v1_timeline(seed_index, fake_models, outside_connections):
    from dataclasses import replace

    import httpx

    from tests.serve_helpers import serving

    config = replace(seed_index, model="fake-llm", embedder="fake-embedder")
    with serving(config) as served:
        body = {"query": "US strikes on Iran-backed militias"}
        data = httpx.post(f"{served.url}/v1/timeline", json=body, timeout=60).json()
        assert data["query"] == body["query"] and data["events"][0]["date"] == "2021-02-25"
        assert {s["outlet"] for s in data["events"][0]["sources"]} == {"Rudaw", "ESTA", "Sputnik International"}
        only = httpx.post(f"{served.url}/v1/timeline", json={**body, "outlet": "France 24"}, timeout=60).json()
        assert [s["outlet"] for e in only["events"] for s in e["sources"]] == ["France 24"]
        bad = httpx.post(f"{served.url}/v1/timeline", json={**body, "since": "tomorrow-ish"}, timeout=60)
        assert bad.status_code == 400
    assert fake_models.calls == 0  # no model call


def test_the_chat_timeline_view_opens_each_event_on_its_articles(seed_index):
    from rag.chat import ChatService
    from tests.fakes import FakeEmbedder, FakeGenerator
    from ui.app import parse_filters
    from ui.timeline import show_timeline

    service = ChatService(seed_index, embedder=FakeEmbedder(), loader=lambda c: FakeGenerator())
    html = show_timeline(service, parse_filters, "US strikes on Iran-backed militias", "All outlets", "", "")
    assert html.count('class="rag-tl-event"') >= 3
    assert '<span class="rag-tl-date">2021-02-25</span>' in html and "after 2021-12" in html
    assert "ERBIL" in html or "Ministry of Defense" in html  # an event opens on its articles' text
    assert "Name a story" in show_timeline(service, parse_filters, "", None, "", "")
    assert "<script>" not in render_title_escaped()


def render_title_escaped() -> str:
    from rag.timeline.build import Timeline, TimelineEvent, TimelineSource
    from ui.render import timeline_html

    source = TimelineSource(1, "x", "x.txt", "<script>alert(1)</script>", "Out<b>", "2021-01-01", None)
    event = TimelineEvent("2021-01-01", False, "2021-01-01", "<script>", (source,))
    return timeline_html(Timeline("q<script>", (event,)))


@pytest.mark.integration
def test_seeds_timeline_with_minilm(real_index):
    """The acceptance case with the real embedder, through the command line."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "rag.cli", "timeline", "US strikes on Iran-backed militias",
                             "--index", str(real_index), "--json"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    events = json.loads(result.stdout)["events"]
    assert [sorted(s["outlet"] for s in e["sources"]) for e in events] == [
        ["ESTA", "Rudaw", "Sputnik International"], ["Rudaw"], ["France 24"]]
    assert [(e["date"], e["date_estimated"]) for e in events] == [("2021-02-25", False), ("2021-12", True),
                                                                  (None, False)]
