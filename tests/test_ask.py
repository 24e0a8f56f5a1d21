"""The ask path with fakes: evidence, the quote grammar, verified quotes, citations, abstention, events, JSON."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag.answer.assistant import Assistant
from rag.answer.confidence import Calibration
from rag.answer.retrieve import Filters
from rag.errors import RagError
from rag.store import open_store
from rag.types import Done, Quoted, Retrieved, Token
from tests.fakes import DENIAL, FakeEmbedder, FakeGenerator, quoted
from tests.shared import JSON_KEYS, PASSAGE_KEYS, TIMING_KEYS

QUESTION = "Who denied the intelligence sharing?"


def _assistant(config, reply=DENIAL, calibration=None) -> Assistant:
    return Assistant(config, embedder=FakeEmbedder(), generator=FakeGenerator(reply), calibration=calibration)


def test_answer_streams_only_the_answer_and_cites_the_verified_quote(seed_index):
    tokens = []
    answer = _assistant(seed_index).ask(QUESTION, on_token=tokens.append)
    assert "".join(tokens).strip() == "Iraq's Ministry of Defense denied it [1]."  # no QUOTE lines streamed
    assert answer.text == "Iraq's Ministry of Defense denied it [1]." and not answer.abstained
    assert [c.n for c in answer.citations] == [1] and answer.citations[0] == answer.passages[0]
    assert answer.evidence[0].quote.startswith("The ministry denied its involvement in the airstrikes")
    assert answer.passages[0].outlet == "Rudaw" and answer.confidence is not None


def test_events_come_in_order(seed_index):
    events = list(_assistant(seed_index).stream(QUESTION))
    assert isinstance(events[0], Retrieved) and events[0].passages
    assert isinstance(events[1], Quoted)  # the verified quote, then the answer's tokens
    assert all(isinstance(e, Token) for e in events[2:-1]) and isinstance(events[-1], Done)
    assert events[-1].revised is False


def test_json_schema(seed_index):
    data = _assistant(seed_index).ask(QUESTION).to_json()
    assert set(data) == JSON_KEYS
    assert set(data["timings"]) == TIMING_KEYS
    assert data["passages"] and all(set(p) == PASSAGE_KEYS for p in data["passages"])
    assert all(set(c) == PASSAGE_KEYS for c in data["citations"])
    assert [p["n"] for p in data["passages"]] == list(range(1, len(data["passages"]) + 1))
    assert data["evidence"] and set(data["evidence"][0]) == {"n", "quote"}
    assert data["model"] == "fake-llm" and data["embedder"] == "fake-embedder"


def test_prompt_shows_numbered_evidence_with_outlet_date_and_the_asked_on_day(seed_index):
    assistant = _assistant(seed_index)
    answer = assistant.ask(QUESTION, asked_on="2021-03-01")
    messages, user = assistant.generator.messages, assistant.generator.messages[-1]["content"]
    assert messages[0]["role"] == "system" and messages[-1]["role"] == "user"
    for p in answer.passages:
        assert f"[{p.n}] {p.title} ({p.outlet or 'unknown outlet'}, {p.date or 'date unknown'})" in user
    assert f"Question (asked on 2021-03-01): {QUESTION}" in user
    assert "{evidence}" not in user and "QUOTE [" in assistant.generator.grammar


def test_evidence_stays_within_its_budget(seed_index):
    assistant = _assistant(seed_index)
    wide = assistant.ask(QUESTION, evidence_tokens=400, max_sentences=20, k=5)
    narrow = assistant.ask(QUESTION, evidence_tokens=30, max_sentences=20, k=5)
    assert sum(len(p.text.split()) for p in narrow.passages) <= 40  # 30 plus the ellipses between sentences
    assert sum(len(p.text.split()) for p in wide.passages) > sum(len(p.text.split()) for p in narrow.passages)


def test_a_made_up_quote_means_no_answer(seed_index):
    reply = quoted("Canberra is the capital of Australia [1].", (1, "The capital of Australia is Canberra"))
    answer = _assistant(seed_index, reply).ask("What is the capital of Australia?")
    assert answer.abstained and answer.citations == [] and answer.evidence == [] and answer.passages


def test_none_is_an_abstention(seed_index):
    answer = _assistant(seed_index, "NONE\n").ask("What were the pilots' names?")
    assert answer.abstained and answer.text == "I cannot find the answer in the provided articles."


def test_low_confidence_becomes_an_abstention_and_says_it_was_revised(seed_index):
    never = Calibration(("quotes",), (0.0,), (1.0,), (0.0,), -5.0, 0.5)  # probability ~0.007 for any answer
    events = list(_assistant(seed_index, calibration=never).stream(QUESTION))
    done = events[-1]
    assert done.answer.abstained and done.revised and done.answer.confidence < 0.5
    assert done.answer.refused == "Iraq's Ministry of Defense denied it [1]."  # kept for the evaluation


def test_dangling_citations_are_dropped(seed_index):
    reply = quoted("Iraq's Ministry of Defense denied it [1][9].", (1, "The ministry denied its involvement"))
    answer = _assistant(seed_index, reply).ask(QUESTION)
    assert answer.dangling == [9] and "[9]" not in answer.text and [c.n for c in answer.citations] == [1]


def test_filters_that_match_nothing_abstain_without_the_model(seed_index):
    generator = FakeGenerator(lambda m: pytest.fail("the model must not be called"))
    assistant = Assistant(seed_index, embedder=FakeEmbedder(), generator=generator)
    answer = assistant.ask("Who denied it?", Filters(outlet="No Such Outlet"))
    assert answer.abstained and answer.passages == []


def test_filters_by_outlet_and_date(seed_index):
    assistant = _assistant(seed_index)
    rudaw = assistant.ask("strikes", Filters(outlet="rudaw"), k=6)
    assert rudaw.passages and {p.outlet for p in rudaw.passages} == {"Rudaw"}
    dated = assistant.ask("strikes", Filters(since="2021-02-01", until="2021-02-28"), k=10)
    assert dated.passages and all(p.date == "2021-02-27" for p in dated.passages)


def test_articles_after_the_asked_on_day_are_never_used_but_undated_ones_are(seed_index):
    answer = _assistant(seed_index).ask("strikes", asked_on="2021-03-01", k=10, max_sentences=30,
                                        evidence_tokens=2000)
    dates = {p.date for p in answer.passages}
    assert dates and all(d is None or d <= "2021-03-01" for d in dates) and None in dates


def test_registered_fakes_come_from_the_factories(seed_index, fake_models):
    from dataclasses import replace

    assistant = Assistant(replace(seed_index, model="fake-llm", embedder="fake-embedder"))
    assert assistant.ask(QUESTION).model == "fake-llm" and fake_models.calls == 1


def test_retrieval_finds_the_denial(seed_index):
    index = open_store(seed_index.index_dir)
    hits = _assistant(seed_index).retriever(seed_index).search("Ministry of Defense denied involvement", 3)
    assert any("Ministry of Defense" in h.chunk.text or "Defence Ministry" in h.chunk.text for h in hits)
    assert all(h.bm25_rank or h.dense_rank for h in hits)
    index.close()


def test_empty_question_is_refused(seed_index):
    with pytest.raises(RagError, match="empty"):
        _assistant(seed_index).ask("   ")


def test_a_date_the_articles_do_not_give_is_refused(seed_index):
    reply = quoted("The ministry denied it on 3 March 2019 [1].", (1, "The ministry denied its involvement"))
    answer = _assistant(seed_index, reply).ask(QUESTION)
    assert answer.abstained and answer.refused and answer.signals.unsupported_dates >= 1


def test_dates_from_the_question_or_a_resolved_weekday_are_not_invented(seed_index):
    reply = quoted("The ministry denied it in March 2020, on Saturday [1].", (1, "The ministry denied its involvement"))
    answers_all = replace(Calibration.load(), threshold=0.0)  # the dates alone decide here
    assistant = _assistant(seed_index, reply, calibration=answers_all)
    answer = assistant.ask("Who denied in March 2020 the intelligence sharing?")
    assert not answer.abstained and answer.signals.unsupported_dates == 0  # March 2020 is the question's own


def test_a_count_the_articles_do_not_give_is_refused(seed_index):
    reply = quoted("The ministry denied it, citing 4,300 documents [1].", (1, "The ministry denied its involvement"))
    answer = _assistant(seed_index, reply).ask(QUESTION)
    assert answer.abstained and answer.refused and answer.signals.unsupported_figures == 1.0


def test_an_answer_that_restates_the_question_is_refused(seed_index):
    reply = quoted("The intelligence sharing was denied [1].", (1, "The ministry denied its involvement"))
    answer = _assistant(seed_index, reply).ask("Who denied the intelligence sharing?")
    assert answer.abstained and answer.refused and answer.signals.adds_nothing == 1.0
