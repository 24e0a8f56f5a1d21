"""Crossed negatives (`rag eval crossed`): the questions of one dev set asked over the other's articles, with every
article that holds their answer screened out (rejection.screen), so that declining is the only honest reply.

Three parts, each over a corpus of its own:

- seeds-on-rtqa: the sample corpus's answerable gold questions (kinds single, time, multi, conflict) over every
  RealTimeQA article of the chosen weeks; asked as the gold file asks them (no asked-on date);
- rtqa-on-seeds: the RealTimeQA questions (those with gold articles) over the sample corpus, asked on their own
  date as `rag eval realtimeqa` asks them;
- other-weeks: the questions of each week W over the articles of the other weeks, asked on their own date. An
  article belongs to W when any of W's files lists it; only articles dated on or before W's last question date
  (and undated ones, which the asked-on filter keeps too) go into W's corpus, since the asked-on filter would hide
  the others anyway: in effect the older weeks plus the older search results of later weeks, the same kind of
  news without the story asked about. One corpus (and index) per week.

A question is kept only when every alias of its answer can screen its part's corpus (rejection.screenable: long
enough, in at most max_share of the articles); a question whose answer is in too many articles is skipped. No
model or index here: this module only decides what is asked over what.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rag.evaluation import realtimeqa, rejection
from rag.evaluation.gold import EvalQuestion, realtimeqa_questions
from rag.evaluation.metrics import doc_key

PARTS = ("seeds-on-rtqa", "rtqa-on-seeds", "other-weeks")
ANSWERABLE = ("single", "time", "multi", "conflict")  # the gold kinds that have an answer in the sample corpus


def kind(part: str) -> str:
    """The `kind` of a part's records, e.g. "crossed-other-weeks"."""
    return f"crossed-{part}"


@dataclass(frozen=True)
class SeedFile:
    """An article of the sample corpus as the screening reads it."""

    path: Path
    key: str  # metrics.doc_key: the file's name, as the gold file's `docs` name it
    text: str


@dataclass
class Part:
    """The questions of one part (one week, for other-weeks) and the corpus they are asked over."""

    name: str  # one of PARTS
    label: str  # the name, with the week for other-weeks
    questions: list[EvalQuestion]  # each to be declined; id "<question id>@<part>"
    withheld: dict[str, tuple[str, ...]]  # question id -> every alias screened out of the corpus
    articles: list[Any] | None = None  # RealTimeQA articles left (written as a JSONL corpus)
    files: list[SeedFile] | None = None  # sample-corpus files left
    before: int = 0  # articles in the corpus before screening
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (question id, why)

    @property
    def size(self) -> int:
        return len(self.articles if self.articles is not None else self.files or [])

    @property
    def removed(self) -> int:
        return self.before - self.size

    def summary(self) -> dict[str, Any]:
        return {"part": self.label, "kind": kind(self.name), "questions": len(self.questions),
                "skipped": len(self.skipped), "articles": self.size, "removed": self.removed}


def _askable(part: Part) -> Part:
    """A part whose corpus is empty (e.g. other-weeks with a single week) asks nothing: over no article every
    question is declined before anything is scored, which teaches the confidence model nothing."""
    if part.size or not part.questions:
        return part
    skipped = part.skipped + [(q.id.split("@")[0], "its corpus is empty") for q in part.questions]
    return replace(part, questions=[], withheld={}, skipped=skipped)


def read_seeds(folder: Path) -> list[SeedFile]:
    """The sample corpus's files, read as `rag ingest` reads them (title and text)."""
    from rag.ingest.readers import iter_files, read_file

    files = []
    for path in iter_files([folder]):
        raws = read_file(path, skipped=[])
        text = " ".join(f"{raw.title or ''} {raw.text}" for raw in raws)
        files.append(SeedFile(path, doc_key(str(path)), text))
    return files


class _Texts:
    """RealTimeQA articles prepared for screening once (most of its time), then screened in several subsets."""

    def __init__(self, articles: list[Any]):
        self.by_url = {a.url: rejection.prepared(f"{a.title} {a.text}") for a in articles}

    def screen(self, articles: list[Any], questions: list[rejection.Answered], max_share: float
               ) -> rejection.Screening:
        return rejection.screen([self.by_url[a.url] for a in articles], [a.url for a in articles], questions,
                                max_share)


def _declined(item: EvalQuestion, part: str, aliases: tuple[str, ...]) -> EvalQuestion:
    """The question as one to decline: no answer groups or expected documents, its answer kept aside."""
    return replace(item, id=f"{item.id}@{part}", kind=kind(part), answers=[], docs=[], choices=[],
                   answer_index=None, withheld=aliases[0] if aliases else None)


def _aliases(item: EvalQuestion) -> tuple[str, ...]:
    return tuple(dict.fromkeys(alias for group in item.answers for alias in group))


def seeds_on_rtqa(gold: list[EvalQuestion], articles: list[Any], texts: _Texts, max_share: float) -> Part:
    """The sample corpus's answerable questions over the RealTimeQA articles, screened."""
    asked = [q for q in gold if q.kind in ANSWERABLE and q.answers]
    screening = texts.screen(articles, [rejection.Answered(q.id, _aliases(q), tuple(q.docs)) for q in asked],
                             max_share)
    kept = [asked[i] for i in screening.kept]
    return _askable(Part(
        "seeds-on-rtqa", "seeds-on-rtqa", [_declined(q, "seeds-on-rtqa", _aliases(q)) for q in kept],
        {f"{q.id}@seeds-on-rtqa": _aliases(q) for q in kept}, articles=[articles[i] for i in screening.left],
        before=len(articles), skipped=screening.skipped))


def _rtqa_part(name: str, label: str, questions: list[Any], screening: rejection.Screening) -> tuple[
        list[EvalQuestion], dict[str, tuple[str, ...]]]:
    kept = [questions[i] for i in screening.kept]
    items = realtimeqa_questions(kept, "open", until_question_date=True)  # asked on their own date
    return ([_declined(item, name, (q.answer,)) for item, q in zip(items, kept)],
            {f"{q.id}@{name}": (q.answer,) for q in kept})


def rtqa_on_seeds(questions: list[Any], seeds: list[SeedFile], max_share: float) -> Part:
    """The RealTimeQA questions over the sample corpus, screened."""
    screening = rejection.screen([rejection.prepared(f.text) for f in seeds], [f.key for f in seeds],
                                 [rejection.Answered(q.id, (q.answer,), tuple(q.gold_urls)) for q in questions],
                                 max_share)
    items, withheld = _rtqa_part("rtqa-on-seeds", "rtqa-on-seeds", questions, screening)
    return _askable(Part("rtqa-on-seeds", "rtqa-on-seeds", items, withheld, files=[seeds[i] for i in screening.left],
                         before=len(seeds), skipped=screening.skipped))


def other_weeks(data: Path, weeks: list[str], articles: list[Any], texts: _Texts, max_share: float) -> list[Part]:
    """For each week, its questions over the other weeks' articles dated up to its last question, screened."""
    loaded = {week: realtimeqa.load_week(data, week) for week in weeks}
    parts = []
    for week in weeks:
        own, questions = loaded[week]
        if not questions:
            continue
        own_urls = {a.url for a in own}
        last = max(q.question_date for q in questions)
        corpus = [a for a in articles if a.url not in own_urls and (a.date is None or a.date <= last)]
        screening = texts.screen(corpus, [rejection.Answered(q.id, (q.answer,), tuple(q.gold_urls))
                                          for q in questions], max_share)
        items, withheld = _rtqa_part("other-weeks", f"other-weeks {week}", questions, screening)
        parts.append(_askable(Part("other-weeks", f"other-weeks {week}", items, withheld,
                                   articles=[corpus[i] for i in screening.left], before=len(corpus),
                                   skipped=screening.skipped)))
    return parts


def build(parts: tuple[str, ...], data: Path, weeks: list[str] | None, gold: list[EvalQuestion] | None,
          seeds: list[SeedFile] | None, max_share: float = rejection.MAX_SHARE) -> list[Part]:
    """Every chosen part, in the order of PARTS (other-weeks as one Part per week)."""
    chosen = weeks or realtimeqa.list_weeks(data)
    articles, questions = realtimeqa.load(data, chosen)
    texts = _Texts(articles) if {"seeds-on-rtqa", "other-weeks"} & set(parts) else None
    made: list[Part] = []
    if "seeds-on-rtqa" in parts:
        made.append(seeds_on_rtqa(gold or [], articles, texts, max_share))
    if "rtqa-on-seeds" in parts:
        made.append(rtqa_on_seeds(questions, seeds or [], max_share))
    if "other-weeks" in parts:
        made.extend(other_weeks(data, chosen, articles, texts, max_share))
    return made


def limit(parts: list[Part], n: int | None) -> list[Part]:
    """The first n questions taken in turn from each part (other-weeks counting as one, week after week), so a
    short run still asks over every kind of corpus; the corpora stay as screened for all the questions."""
    if n is None:
        return parts
    queues: dict[str, list[str]] = {}
    for part in parts:
        queues.setdefault(part.name, []).extend(q.id for q in part.questions)
    taken: set[str] = set()
    while len(taken) < n and any(queues.values()):
        for queue in queues.values():
            if queue and len(taken) < n:
                taken.add(queue.pop(0))
    return [replace(part, questions=[q for q in part.questions if q.id in taken]) for part in parts]


def seeds_corpus(part: Part, folder: Path, root: Path) -> tuple[Path, str]:
    """The sample corpus left after screening, and a fingerprint of it: the folder itself when nothing was
    removed, else a copy of the files left in root/crossed-seeds."""
    if part.removed:
        target = root / "crossed-seeds"
        target.mkdir(parents=True, exist_ok=True)
        wanted = {f.path.name: f.path for f in part.files or []}
        for stale in target.iterdir():
            if stale.name not in wanted:
                stale.unlink()
        for name, path in wanted.items():
            copy = target / name
            if not copy.is_file() or copy.read_bytes() != path.read_bytes():
                shutil.copyfile(path, copy)
        folder = target
    digest = hashlib.sha256()
    for f in sorted(part.files or [], key=lambda f: f.path.name):
        digest.update(f.path.name.encode("utf-8") + b"\0" + f.path.read_bytes() + b"\0")
    return folder, digest.hexdigest()[:12]
