"""Load the RealTimeQA benchmark (weekly qa/gold/gcs JSONL files) as articles and questions."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit, urlunsplit

from rag import dates
from rag.errors import RagError
from rag.files import jsonl_objects
from rag.ingest.metadata import outlet_from_url  # noqa: F401 - the benchmark's articles name their outlet by URL

FILE_KINDS = ("qa", "gold", "gcs")
_WEEK_FILE = re.compile(r"^(\d{8})_(qa|gold|gcs)\.jsonl$")
_WRAPPING_QUOTES = "“”\""


class BenchmarkDataError(RagError):
    """The benchmark folder, a week file or one of its lines is missing or malformed."""


@dataclass(frozen=True)
class Article:
    url: str
    title: str
    text: str
    date: str | None
    outlet: str
    authors: tuple[str, ...] = ()

    def to_record(self) -> dict[str, Any]:
        """One line of the project's JSONL ingest format."""
        return {
            "title": self.title,
            "text": self.text,
            "date": self.date,
            "url": self.url,
            "source": self.outlet,
        }


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    question_date: str
    choices: tuple[str, ...]
    answer_index: int
    answer: str
    gold_urls: tuple[str, ...]

    def to_gold(self) -> dict[str, Any]:
        """One line of the project's gold-answer format."""
        return {
            "id": self.id,
            "question": self.question,
            "asked_on": self.question_date,
            "answers": [[self.answer]],
            "kind": "realtimeqa",
            "docs": list(self.gold_urls),
            "choices": list(self.choices),
            "answer_index": self.answer_index,
        }


def normalize_url(url: str) -> str:
    """Drop the fragment and trailing slash so the same page dedupes to one URL."""
    parts = urlsplit(url.strip())
    return urlunsplit(parts._replace(fragment="")).rstrip("/")


def parse_date(value: object) -> str | None:
    """ISO date from a numeric stamp such as "2022/06/12" or "2022-06-12T…"; None for anything else."""
    return dates.parse_date(value, worded=False) if isinstance(value, str) else None


def list_weeks(data_dir: str | Path) -> list[str]:
    """Sorted "YYYYMMDD" weeks that have all three files in the folder."""
    folder = Path(data_dir)
    if not folder.is_dir():
        raise BenchmarkDataError(f"RealTimeQA folder not found: {folder}; pass the folder of weekly files")
    kinds_by_week: dict[str, set[str]] = {}
    for path in folder.iterdir():
        if match := _WEEK_FILE.match(path.name):
            kinds_by_week.setdefault(match[1], set()).add(match[2])
    weeks = sorted(week for week, kinds in kinds_by_week.items() if kinds == set(FILE_KINDS))
    if not weeks:
        raise BenchmarkDataError(f"no complete week (YYYYMMDD_qa/_gold/_gcs.jsonl) in {folder}")
    return weeks


def load_week(data_dir: str | Path, week: str) -> tuple[list[Article], list[Question]]:
    """Deduplicated articles and the questions with gold articles for one week."""
    folder = Path(data_dir)
    qa_rows, gold_rows, gcs_rows = (_read_jsonl(folder / f"{week}_{kind}.jsonl") for kind in FILE_KINDS)
    articles: dict[str, Article] = {}
    gold_results = {row.get("question_id"): row.get("search_result") or [] for row in gold_rows}
    for row in [*gold_rows, *gcs_rows]:
        _add_articles(articles, row.get("search_result") or [])
    questions = []
    for row in qa_rows:
        gold_result = gold_results.get(row.get("question_id"), [])
        if not isinstance(gold_result, list) or not gold_result:
            continue
        # Some gold entries carry only a URL (no text), so they never become articles.
        urls = (raw.get("url") for raw in gold_result if isinstance(raw, dict))
        gold_urls = dict.fromkeys(normalize_url(url) for url in urls if isinstance(url, str))
        loaded_gold_urls = tuple(url for url in gold_urls if url in articles)
        questions.append(_question_from_row(row, loaded_gold_urls))
    return list(articles.values()), questions


def load(
    data_dir: str | Path, weeks: list[str] | None = None, limit: int | None = None
) -> tuple[list[Article], list[Question]]:
    """Articles of the chosen weeks (all of them) and their first `limit` questions."""
    if limit is not None and limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")
    articles: dict[str, Article] = {}
    questions: list[Question] = []
    for week in list_weeks(data_dir) if weeks is None else weeks:
        week_articles, week_questions = load_week(data_dir, week)
        for article in week_articles:
            _keep_best(articles, article)
        questions.extend(week_questions)
    return list(articles.values()), questions if limit is None else questions[:limit]


def write_corpus(articles: Iterable[Article], path: str | Path) -> None:
    _write_jsonl((article.to_record() for article in articles), Path(path))


def write_gold(questions: Iterable[Question], path: str | Path) -> None:
    _write_jsonl((question.to_gold() for question in questions), Path(path))


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise BenchmarkDataError(f"RealTimeQA file not found: {path}; check the week name and the folder")
    with path.open(encoding="utf-8") as lines:
        return [row for _, row in jsonl_objects(lines, str(path), BenchmarkDataError)]


def _write_jsonl(records: Iterable[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _add_articles(articles: dict[str, Article], raw_results: list[Any]) -> None:
    for raw in raw_results:
        if isinstance(raw, dict) and (article := _article_from_raw(raw)):
            _keep_best(articles, article)


def _article_from_raw(raw: dict[str, Any]) -> Article | None:
    url, text = raw.get("url"), raw.get("text")
    if not isinstance(url, str) or not url.strip() or not isinstance(text, str) or not text.strip():
        return None
    title = raw.get("title")
    return Article(
        url=normalize_url(url),
        title=title.strip() if isinstance(title, str) else "",
        text=text.strip(),
        date=parse_date(raw.get("publish_date")),
        outlet=outlet_from_url(url),
        authors=_authors(raw.get("authors")),
    )


def _authors(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return ()
    return tuple(name.strip() for name in value if isinstance(name, str) and name.strip())


def _keep_best(articles: dict[str, Article], candidate: Article) -> None:
    """Keep the longer text per URL, filling title/date/authors from the other copy."""
    current = articles.get(candidate.url)
    if current is None:
        articles[candidate.url] = candidate
        return
    longer_text = len(candidate.text) > len(current.text)
    best, other = (candidate, current) if longer_text else (current, candidate)
    # Gold copies have no title, search copies do: don't lose it when the gold text wins.
    articles[candidate.url] = dataclasses.replace(
        best,
        title=best.title or other.title,
        date=best.date or other.date,
        authors=best.authors or other.authors,
    )


def _question_from_row(row: dict[str, Any], gold_urls: tuple[str, ...]) -> Question:
    question_id = str(row.get("question_id"))
    try:
        choices = list(row["choices"])
        # Some weeks pad the choice list with empty strings up to five.
        while choices and not str(choices[-1]).strip():
            choices.pop()
        answer_index = int(row["answer"][0])
        answer_choice = str(choices[answer_index])
        sentence = str(row["question_sentence"]).strip()
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise BenchmarkDataError(f"question {question_id}: malformed qa line ({error!r})") from error
    asked_on = parse_date(row.get("question_date"))
    if asked_on is None or answer_index < 0:
        raise BenchmarkDataError(f"question {question_id}: bad question_date or answer index")
    return Question(
        id=question_id,
        question=sentence,
        question_date=asked_on,
        choices=tuple(str(choice) for choice in choices),
        answer_index=answer_index,
        answer=_strip_wrapping_quotes(answer_choice),
        gold_urls=gold_urls,
    )


def _strip_wrapping_quotes(text: str) -> str:
    """“Squid Game” → Squid Game, but keep inner quotes as in Dwayne "The Rock" Johnson."""
    text = text.strip()
    if len(text) >= 2 and text[0] in _WRAPPING_QUOTES and text[-1] in _WRAPPING_QUOTES:
        return text[1:-1].strip()
    return text
