"""Unit tests for rag.evaluation.realtimeqa on a tiny fake benchmark folder."""

import json
import re
from pathlib import Path

import pytest

from rag.errors import RagError
from rag.evaluation.realtimeqa import (
    BenchmarkDataError,
    list_weeks,
    load,
    load_week,
    outlet_from_url,
    parse_date,
    write_corpus,
    write_gold,
)

REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared/bench/realtimeqa"
LONG_TEXT = "Netflix confirmed a second season of the hit show. " * 5


def _qa(question_id, sentence, choices, answer, date="2022/06/16"):
    return {
        "question_id": question_id,
        "question_date": date,
        "question_source": "CNN",
        "question_url": "https://edition.cnn.com/quiz",
        "question_sentence": sentence,
        "choices": choices,
        "answer": [str(answer)],
        "evidence": "",
    }


def _write(folder: Path, name: str, rows: list[dict]) -> None:
    (folder / name).write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    week1, week2 = "20220617", "20220624"
    _write(tmp_path, f"{week1}_qa.jsonl", [
        _qa(f"{week1}_0", "Which show was renewed?", ["“Game of Thrones”", "“Squid Game”"], 1),
        _qa(f"{week1}_1", "Which question has no gold?", ["a", "b"], 0),
        _qa(f"{week1}_2", "Whose gold article has no text?", ["c", "d"], 1),
    ])
    _write(tmp_path, f"{week1}_gold.jsonl", [
        {"question_id": f"{week1}_0", "search_result": [{
            "url": "https://www.cnn.com/2022/06/12/squid-game/", "text": "Short gold text.",
            "authors": ["Ramishah Maruf"], "publish_date": "2022/06/12"}]},
        {"question_id": f"{week1}_1", "search_result": []},
        {"question_id": f"{week1}_2", "search_result": [{"url": "https://gasprices.aaa.com/"}]},
    ])
    _write(tmp_path, f"{week1}_gcs.jsonl", [
        {"question_id": f"{week1}_0", "search_time": "2022/06/17/16:34", "search_result": [
            {"url": "https://www.cnn.com/2022/06/12/squid-game#comments", "title": "Squid Game - CNN",
             "text": LONG_TEXT, "authors": [], "publish_date": None},
            {"url": "https://www.usatoday.com/empty", "title": "Empty", "text": "  \n ",
             "authors": [], "publish_date": "2022/06/13"},
            {"url": "https://www.bbc.co.uk/news/odd-date", "title": "Odd", "text": "Café news.",
             "authors": None, "publish_date": "2022/02/30"},
        ]},
    ])
    _write(tmp_path, f"{week2}_qa.jsonl", [
        _qa(f"{week2}_0", "Which city?", ["Paris", "Rome", "Oslo", "Bern", ""], 3, date="2022/06/23"),
    ])
    _write(tmp_path, f"{week2}_gold.jsonl", [
        {"question_id": f"{week2}_0", "search_result": [
            {"url": "https://apnews.com/bern", "text": "Bern is the capital.", "publish_date": "2022-06-20"}]},
    ])
    _write(tmp_path, f"{week2}_gcs.jsonl", [
        {"question_id": f"{week2}_0", "search_result": [
            {"url": "https://www.cnn.com/2022/06/12/squid-game", "title": "Other copy", "text": "Tiny.",
             "authors": ["Someone"], "publish_date": "2022/06/12"}]},
    ])
    _write(tmp_path, "20220701_qa.jsonl", [])  # incomplete week: no gold/gcs files
    return tmp_path


def test_list_weeks_needs_all_three_files(data_dir):
    assert list_weeks(data_dir) == ["20220617", "20220624"]


def test_missing_or_empty_folder_raises_error_naming_it(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(BenchmarkDataError, match="nowhere"):
        list_weeks(missing)
    with pytest.raises(RagError, match=re.escape(str(tmp_path))):
        load(tmp_path)


def test_load_week_with_missing_file_raises(data_dir):
    with pytest.raises(BenchmarkDataError, match="20220701_gold.jsonl"):
        load_week(data_dir, "20220701")


def test_invalid_json_line_reports_file_and_line(data_dir):
    (data_dir / "20220624_gcs.jsonl").write_text('{"question_id": "x", "search_result": []}\n{oops\n')
    with pytest.raises(BenchmarkDataError, match=r"20220624_gcs.jsonl:2"):
        load(data_dir)


def test_articles_deduplicated_by_url_keeping_longest_text(data_dir):
    articles, _ = load(data_dir)
    by_url = {article.url: article for article in articles}
    assert len(articles) == len(by_url) == 3
    squid = by_url["https://www.cnn.com/2022/06/12/squid-game"]
    assert squid.text == LONG_TEXT.strip()
    # Fields missing on the kept copy come from the other copy.
    assert squid.title == "Squid Game - CNN"
    assert squid.date == "2022-06-12"
    assert squid.authors == ("Ramishah Maruf",)


def test_articles_with_blank_or_missing_text_are_skipped(data_dir):
    urls = {article.url for article in load(data_dir)[0]}
    assert "https://www.usatoday.com/empty" not in urls
    assert "https://gasprices.aaa.com" not in urls


def test_article_fields_and_record(data_dir):
    by_url = {article.url: article for article in load(data_dir)[0]}
    bbc = by_url["https://www.bbc.co.uk/news/odd-date"]
    assert (bbc.outlet, bbc.date, bbc.authors) == ("BBC", None, ())
    assert by_url["https://apnews.com/bern"].to_record() == {
        "title": "", "text": "Bern is the capital.", "date": "2022-06-20",
        "url": "https://apnews.com/bern", "source": "AP News",
    }


def test_questions_need_a_gold_list(data_dir):
    _, questions = load(data_dir)
    assert [question.id for question in questions] == ["20220617_0", "20220617_2", "20220624_0"]
    # A gold entry without text is not in the corpus, so it is not claimed as a gold doc.
    assert questions[1].gold_urls == ()


def test_question_text_answer_and_gold_record(data_dir):
    question = load(data_dir)[1][0]
    assert question.question == "Which show was renewed?"  # the day goes to the prompt as asked_on
    assert question.question_date == "2022-06-16"
    assert question.answer == "Squid Game"
    assert question.choices == ("“Game of Thrones”", "“Squid Game”")
    assert question.to_gold() == {
        "id": "20220617_0",
        "question": "Which show was renewed?",
        "asked_on": "2022-06-16",
        "answers": [["Squid Game"]],
        "kind": "realtimeqa",
        "docs": ["https://www.cnn.com/2022/06/12/squid-game"],
        "choices": ["“Game of Thrones”", "“Squid Game”"],
        "answer_index": 1,
    }


def test_padding_empty_choice_is_dropped(data_dir):
    question = load(data_dir, weeks=["20220624"])[1][0]
    assert question.choices == ("Paris", "Rome", "Oslo", "Bern")
    assert question.answer == "Bern"


def test_limit_keeps_first_questions_but_all_articles(data_dir):
    articles, questions = load(data_dir, limit=1)
    assert [question.id for question in questions] == ["20220617_0"]
    assert len(articles) == 3
    with pytest.raises(ValueError):
        load(data_dir, limit=-1)


def test_week_selection(data_dir):
    articles, questions = load(data_dir, weeks=["20220624"])
    assert [question.id for question in questions] == ["20220624_0"]
    assert {article.url for article in articles} == {
        "https://apnews.com/bern", "https://www.cnn.com/2022/06/12/squid-game"}


@pytest.mark.parametrize("url, outlet", [
    ("https://edition.cnn.com/2022/06/12/x.html", "CNN"),
    ("https://e.newsletters.cnn.com/x", "CNN"),
    ("https://www.nytimes.com/2022/x", "The New York Times"),
    ("https://www.bbc.com/news/x", "BBC"),
    ("https://amp.theguardian.com/x", "The Guardian"),
    ("https://www.washingtonpost.com/x", "The Washington Post"),
    ("https://www.npr.org/x", "NPR"),
    ("https://www.reuters.com/x", "Reuters"),
    ("https://www.usatoday.com/story/x", "USA Today"),
    ("https://amp.example.org/x", "example.org"),
    ("https://gasprices.aaa.com/", "gasprices.aaa.com"),
])
def test_outlet_from_url(url, outlet):
    assert outlet_from_url(url) == outlet


@pytest.mark.parametrize("value, iso", [
    ("2022/06/12", "2022-06-12"),
    ("2022-6-2", "2022-06-02"),
    ("2022/06/17/16:34", "2022-06-17"),
    ("2022-06-12T10:00:00Z", "2022-06-12"),
    ("2022/02/30", None),
    ("June 12, 2022", None),
    ("", None),
    (None, None),
    (20220612, None),
])
def test_parse_date(value, iso):
    assert parse_date(value) == iso


def test_write_corpus_and_gold_as_utf8_jsonl(data_dir, tmp_path):
    articles, questions = load(data_dir)
    write_corpus(articles, tmp_path / "out" / "corpus.jsonl")
    write_gold(questions, tmp_path / "out" / "gold.jsonl")
    corpus_text = (tmp_path / "out" / "corpus.jsonl").read_text(encoding="utf-8")
    assert "Café" in corpus_text  # not escaped as \u00e9
    assert [json.loads(line) for line in corpus_text.splitlines()] == [a.to_record() for a in articles]
    gold_lines = (tmp_path / "out" / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in gold_lines] == [q.to_gold() for q in questions]


@pytest.mark.skipif(not REAL_DATA.is_dir(), reason="RealTimeQA data folder not available")
def test_real_benchmark_has_110_questions_with_loaded_gold_articles():
    articles, questions = load(REAL_DATA)
    assert len(questions) == 110
    urls = {article.url for article in articles}
    assert all(url in urls for question in questions for url in question.gold_urls)
    assert len(urls) == len(articles)
