"""`rag eval crossed`: each part's screening on tiny fixture corpora, the limit, and a whole run with fake models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import rag.answer.confidence
import rag.models.embedder
from rag.cli import main
from rag.evaluation import crossed, rejection
from rag.evaluation.bench_crossed import section
from rag.evaluation.gold import load_gold
from rag.models.factories import register_generator, unregister
from tests.fakes import FakeEmbedder
from tests.shared import quoting, scripted_generator

FILLER = ("Officials confirmed the news on Monday, and the company said more details would follow in the coming "
          "weeks as production starts. ")
W1, W2 = "20220617", "20220624"


def run(*args):
    return CliRunner().invoke(main, ["eval", *map(str, args)], catch_exceptions=False)


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _qa(week: str, n: int, sentence: str, choices: list[str], answer: int, date: str) -> dict:
    return {"question_id": f"{week}_{n}", "question_date": date, "question_sentence": sentence, "choices": choices,
            "answer": [str(answer)], "evidence": ""}


def _article(url: str, text: str, date: str, title: str = "") -> dict:
    return {"url": url, "title": title, "text": text + " " + FILLER, "publish_date": date}


@pytest.fixture
def rtqa(tmp_path) -> Path:
    """Two weeks. Week 1 asks about Squid Game and a too-common answer (Florida); week 2 about Bern.

    Week 2's files list an old Squid Game article (it holds week 1's answer), an old unrelated one, and a recent
    one dated after week 1's questions; week 1's list an article naming Bern (week 2's answer) and the Florida
    ones. Every article names Florida, so that answer cannot screen anything."""
    folder = tmp_path / "realtimeqa"
    folder.mkdir()
    _write(folder / f"{W1}_qa.jsonl", [
        _qa(W1, 0, "Which show was renewed?", ["Game of Thrones", "Squid Game"], 1, "2022/06/16"),
        _qa(W1, 1, "Which state had the storm?", ["Florida", "Ohio"], 0, "2022/06/16"),
    ])
    _write(folder / f"{W1}_gold.jsonl", [
        {"question_id": f"{W1}_0", "search_result": [
            _article("https://www.cnn.com/squid", "Netflix renewed Squid Game in Florida.", "2022/06/12")]},
        {"question_id": f"{W1}_1", "search_result": [
            _article("https://www.cnn.com/storm", "A storm hit Florida on Tuesday.", "2022/06/14")]},
    ])
    _write(folder / f"{W1}_gcs.jsonl", [
        {"question_id": f"{W1}_0", "search_result": [
            _article("https://www.bbc.com/bern-trip", "Florida tourists flock to Bern for the summer.", "2022/06/10",
                     "Bern in summer")]},
    ])
    _write(folder / f"{W2}_qa.jsonl", [
        _qa(W2, 0, "Which city hosts the summit?", ["Paris", "Bern"], 1, "2022/06/23"),
    ])
    _write(folder / f"{W2}_gold.jsonl", [
        {"question_id": f"{W2}_0", "search_result": [
            _article("https://apnews.com/summit", "Bern hosts the summit, a Florida senator said.", "2022/06/21")]},
    ])
    _write(folder / f"{W2}_gcs.jsonl", [
        {"question_id": f"{W2}_0", "search_result": [
            _article("https://old.example.com/squid", "Squid Game was a hit in Florida last year.", "2021/10/01",
                     "Squid Game a hit"),
            _article("https://old.example.com/rain", "Rain fell on Florida farms in spring.", "2022/04/02",
                     "Spring rain"),
            _article("https://new.example.com/later", "Florida leaders met again on Monday.", "2022/06/20",
                     "Leaders meet"),
        ]},
    ])
    return folder


@pytest.fixture
def sample(tmp_path) -> tuple[Path, Path]:
    """A three-article sample corpus and its gold file: one answer is also in a RealTimeQA article, one is
    everywhere, one is nowhere else; one question is unanswerable (never asked here)."""
    folder = tmp_path / "seeds"
    folder.mkdir()
    texts = {
        "a.txt": "Ministry denies sharing\n\nThe Defense Ministry denied sharing intelligence. " + FILLER,
        "b.txt": "Festival in Erbil\n\nA lantern festival took place in Erbil, a city near Bern Street. " + FILLER,
        "c.txt": "Spokesman speaks\n\nPentagon spokesman John Kirby spoke about Florida. " + FILLER,
    }
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    gold = tmp_path / "gold.jsonl"
    _write(gold, [
        {"id": "s1", "question": "Who denied the intelligence sharing?",
         "answers": [["Defense Ministry", "Defence Ministry"]], "kind": "single", "docs": ["a.txt"]},
        {"id": "s2", "question": "Which festival took place in Erbil?", "answers": [["lantern festival"]],
         "kind": "time", "docs": ["b.txt"]},
        {"id": "s3", "question": "Which state did Kirby speak about?", "answers": [["Florida"]], "kind": "single",
         "docs": ["c.txt"]},
        {"id": "s4", "question": "What were the names of the pilots?", "answers": [], "kind": "unanswerable"},
    ])
    return folder, gold


def _by_label(parts: list[crossed.Part]) -> dict[str, crossed.Part]:
    return {p.label: p for p in parts}


def test_screening_keeps_a_question_only_when_every_alias_screens():
    texts = [rejection.prepared(t) for t in ["the defense ministry spoke", "rain", "more rain", "sun"]]
    keys = ["a", "b", "c", "d"]
    questions = [rejection.Answered("q1", ("Defense Ministry", "Defence Ministry"), ("d",)),
                 rejection.Answered("q2", ("Ministry of Rain", "rain")), rejection.Answered("q3", ())]
    result = rejection.screen(texts, keys, questions, max_share=0.3)
    assert result.kept == [0] and result.left == [1, 2]  # a holds an alias, d is q1's gold article
    assert [q for q, _ in result.skipped] == ["q2", "q3"] and "'rain' is in 2 of 4" in result.skipped[0][1]


def test_seeds_on_rtqa_removes_the_articles_holding_an_alias(rtqa, sample):
    folder, gold = sample
    parts = crossed.build(("seeds-on-rtqa",), rtqa, None, load_gold(gold), None, max_share=0.5)
    (part,) = parts
    # s1 and s2 screen (their answers are in no RealTimeQA article), s3's Florida is in every one, s4 is not asked.
    assert [q.id for q in part.questions] == ["s1@seeds-on-rtqa", "s2@seeds-on-rtqa"]
    assert part.skipped == [("s3", "answer 'Florida' is in 7 of 7 articles")]
    assert part.before == 7 and part.removed == 0
    first = part.questions[0]
    assert first.kind == "crossed-seeds-on-rtqa" and first.answers == [] and first.docs == []
    assert first.asked_on is None and first.withheld == "Defense Ministry"
    assert part.withheld["s1@seeds-on-rtqa"] == ("Defense Ministry", "Defence Ministry")


def test_seeds_on_rtqa_drops_an_article_with_the_answer(rtqa, sample, tmp_path):
    folder, _ = sample
    gold = tmp_path / "bern.jsonl"
    _write(gold, [{"id": "b1", "question": "Which street is near the festival?", "answers": [["Bern"]],
                   "kind": "single", "docs": ["b.txt"]}])
    (part,) = crossed.build(("seeds-on-rtqa",), rtqa, None, load_gold(gold), None, max_share=0.5)
    assert [q.id for q in part.questions] == ["b1@seeds-on-rtqa"]
    assert {a.url for a in part.articles}.isdisjoint({"https://www.bbc.com/bern-trip", "https://apnews.com/summit"})
    assert part.removed == 2 and part.size == 5


def test_rtqa_on_seeds_screens_the_sample_corpus_and_copies_what_is_left(rtqa, sample, tmp_path):
    folder, _ = sample
    seeds = crossed.read_seeds(folder)
    assert [s.key for s in seeds] == ["a.txt", "b.txt", "c.txt"]
    (part,) = crossed.build(("rtqa-on-seeds",), rtqa, None, None, seeds, max_share=0.5)
    # Bern is in b.txt (1 of 3 articles): screened out; Florida is in c.txt only; Squid Game is nowhere.
    assert [q.id for q in part.questions] == [f"{W1}_0@rtqa-on-seeds", f"{W1}_1@rtqa-on-seeds",
                                              f"{W2}_0@rtqa-on-seeds"]
    assert [f.key for f in part.files] == ["a.txt"] and part.removed == 2
    assert all(q.asked_on for q in part.questions) and part.questions[2].asked_on == "2022-06-23"
    corpus, fingerprint = crossed.seeds_corpus(part, folder, tmp_path / "root")
    assert corpus == tmp_path / "root" / "crossed-seeds" and sorted(p.name for p in corpus.iterdir()) == ["a.txt"]

    strict = crossed.build(("rtqa-on-seeds",), rtqa, None, None, seeds, max_share=0.01)[0]
    assert len(strict.questions) == 1 and strict.removed == 0  # the default share: only answers found nowhere
    same, other = crossed.seeds_corpus(strict, folder, tmp_path / "root")
    assert same == folder and other != fingerprint


def test_other_weeks_asks_each_week_over_the_older_articles_of_the_other_weeks(rtqa):
    parts = _by_label(crossed.build(("other-weeks",), rtqa, None, None, None, max_share=0.5))
    week1, week2 = parts[f"other-weeks {W1}"], parts[f"other-weeks {W2}"]
    # Week 1: week 2's articles dated up to 2022-06-16 (not the summit's nor the 06-20 one), without the old
    # Squid Game article; the Florida question cannot screen.
    assert [q.id for q in week1.questions] == [f"{W1}_0@other-weeks"]
    assert week1.before == 2 and [a.url for a in week1.articles] == ["https://old.example.com/rain"]
    assert week1.skipped[0][0] == f"{W1}_1"
    q = week1.questions[0]
    assert q.kind == "crossed-other-weeks" and q.asked_on == "2022-06-16" and q.withheld == "Squid Game"
    # Week 2: week 1's three articles and week 2's old ones are older than its questions; the Bern one goes.
    urls = {a.url for a in week2.articles}
    assert week2.before == 3 + 0 and "https://www.bbc.com/bern-trip" not in urls
    assert urls == {"https://www.cnn.com/squid", "https://www.cnn.com/storm"}
    assert week2.questions[0].asked_on == "2022-06-23"


def test_limit_takes_questions_from_every_part_in_turn(rtqa, sample):
    folder, gold = sample
    parts = crossed.build(crossed.PARTS, rtqa, None, load_gold(gold), crossed.read_seeds(folder), max_share=0.5)
    taken = crossed.limit(parts, 4)
    ids = [q.id for p in taken for q in p.questions]
    assert ids == ["s1@seeds-on-rtqa", "s2@seeds-on-rtqa", f"{W1}_0@rtqa-on-seeds", f"{W1}_0@other-weeks"]
    assert [p.size for p in taken] == [p.size for p in parts]  # the corpora stay as screened for all
    assert crossed.limit(parts, None) is parts


# ------------------------------------------------------------------------------------------ a whole run


class CountingEmbedder(FakeEmbedder):
    """Remembers every text it embedded."""

    texts: list[str] = []

    def embed(self, texts):
        CountingEmbedder.texts.extend(texts)
        return super().embed(texts)


@pytest.fixture
def fake_models(monkeypatch):
    loaded = []
    CountingEmbedder.texts = []

    def answer(question, prompt):
        if "renewed" in question:  # from memory: the Squid Game articles were all screened out
            return quoting(prompt, "Officials", "Squid Game [n].")
        return "NONE\n"

    def load_generator(config):
        loaded.append(config.model)
        return scripted_generator(answer, name=config.model)

    monkeypatch.setattr(rag.models.embedder, "SentenceTransformerEmbedder",
                        lambda name, *a, **kw: CountingEmbedder(name))
    register_generator("smollm2-135m", load_generator)
    yield loaded
    unregister("smollm2-135m")


def test_crossed_runs_every_part_over_its_own_index_and_reports_them(tmp_path, rtqa, sample, fake_models,
                                                                      monkeypatch):
    folder, gold = sample
    shipped = json.loads((Path(rag.__file__).parent / "calibration.json").read_text())
    (tmp_path / "open.json").write_text(json.dumps({**shipped, "threshold": 0.0}))
    monkeypatch.setenv("RAG_CALIBRATION", str(tmp_path / "open.json"))  # no answer withheld: memory shows
    # An answer from memory meets the question in no shown sentence, which withholds it (rag.answer.meeting): let
    # it through, as a model whose answer slipped past every check, to see the evaluation tell it came from memory.
    monkeypatch.setattr(rag.answer.confidence, "stitched", lambda *args: False)
    out, root = tmp_path / "run", tmp_path / "indexes"
    args = ["crossed", "--data", rtqa, "--seeds", folder, "--gold", gold, "--max-share", "0.5", "--index-root", root,
            "--model", "smollm2-135m", "--no-progress"]
    result = run(*args, "--out", out)
    assert result.exit_code == 0, result.output
    assert fake_models == ["smollm2-135m"]  # one model for every part
    saved = json.loads((out / "results.json").read_text())
    (config,) = saved["configurations"]
    kinds = [r["kind"] for r in config["records"]]
    assert kinds == ["crossed-seeds-on-rtqa"] * 2 + ["crossed-rtqa-on-seeds"] * 3 + ["crossed-other-weeks"] * 2
    assert all(r["verdicts"]["should_abstain"] for r in config["records"])
    # Four corpora (seeds-on-rtqa, the sample corpus left, each week), each indexed under the root.
    assert len(list(root.glob("index-ct128-ov24-*"))) == 4 and (root / "crossed-seeds").is_dir()
    assert sorted(p.name for p in root.glob("crossed-*.jsonl")) == [
        "crossed-other-weeks-20220617.jsonl", "crossed-other-weeks-20220624.jsonl", "crossed-seeds-on-rtqa.jsonl"]
    assert saved["meta"]["questions"] == "7 (2 seeds-on-rtqa, 3 rtqa-on-seeds, 2 other-weeks), every one to be declined"
    assert config["metrics"]["n"] == 7 and len(saved["meta"]["index"].split(", ")) == 4
    # The weeks' corpora are subsets of the seeds-on-rtqa one: their chunks come from the embedding cache.
    chunks = [t for t in CountingEmbedder.texts if "\n" in t]
    assert chunks and len(chunks) == len(set(chunks))

    renewed = [r for r in config["records"] if "renewed" in r["question"]]
    assert len(renewed) == 2 and all(r["withheld"] == ["Squid Game"] for r in renewed)
    assert all(not r["abstained"] and r["verdicts"]["from_memory"] for r in renewed)
    assert config["metrics"]["answered_from_memory"] == 2 and config["metrics"]["rejection_rate"] == 5 / 7

    report = (out / "report.md").read_text()
    assert report.startswith("# Evaluation report: crossed negatives") and "## Crossed negatives" in report
    assert "| configuration | declined | seeds-on-rtqa | rtqa-on-seeds | other-weeks | memory |" in report
    assert "| default | 0.714 (5/7) | 1.000 (2/2) | 0.667 (2/3) | 0.500 (1/2) | 2 (0, 1, 1) |" in report
    assert f"| {W1}_0@other-weeks | Which show was renewed? | Squid Game [1]. | Squid Game |" in report
    assert "| other-weeks 20220617 | 1 | 1 | 1 | 1 | 1 |" in report

    again = run(*args, "--parts", "other-weeks", "--limit", "1", "--out", tmp_path / "again")
    assert again.exit_code == 0, again.output
    assert "Reusing the index" in again.output
    records = json.loads((tmp_path / "again" / "results.json").read_text())["configurations"][0]["records"]
    assert [r["id"] for r in records] == [f"{W1}_0@other-weeks"]


def test_crossed_refuses_unknown_parts_and_missing_data(tmp_path, rtqa):
    bad = run("crossed", "--parts", "seeds-on-rtqa,nonesuch", "--out", tmp_path / "o")
    assert bad.exit_code == 2 and "nonesuch: give some of seeds-on-rtqa,rtqa-on-seeds,other-weeks" in bad.output
    missing = run("crossed", "--data", rtqa, "--seeds", tmp_path / "nowhere", "--parts", "rtqa-on-seeds",
                  "--out", tmp_path / "o")
    assert missing.exit_code == 2 and "Sample corpus not found" in missing.output


def _record(part: str, qid: str, abstained: bool, memory: bool) -> dict:
    return {"id": f"{qid}@{part}", "kind": f"crossed-{part}", "question": f"Question {qid}?", "abstained": abstained,
            "answer": "" if abstained else "Squid Game, surely.", "withheld": ["Squid Game"],
            "verdicts": {"should_abstain": True, "from_memory": memory}}


def test_section_gives_the_decline_rate_per_part_and_the_answers_from_memory():
    records = [_record("seeds-on-rtqa", "s1", True, False), _record("other-weeks", "w1", False, True),
               _record("other-weeks", "w2", True, False)]
    results = {"configurations": [{"name": "default", "records": records}],
               "meta": {"crossed": [{"part": "other-weeks 20220617", "questions": 2, "skipped": 1, "articles": 9,
                                     "removed": 3}]}}
    text = section(results)
    assert "| default | 0.667 (2/3) | 1.000 (1/1) | 0.500 (1/2) | 1 (0, 1) |" in text
    assert "| w1@other-weeks | Question w1? | Squid Game, surely. | Squid Game |" in text
    assert "| other-weeks 20220617 | 2 | 2 | 1 | 9 | 3 |" in text


def test_crossed_sweeps_file_every_part_under_each_configuration(tmp_path, rtqa, fake_models):
    out = tmp_path / "sweep"
    result = run("crossed", "--data", rtqa, "--parts", "other-weeks", "--max-share", "0.5", "--sweep", "k=1,2",
                 "--model", "smollm2-135m", "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    configs = json.loads((out / "results.json").read_text())["configurations"]
    assert [c["name"] for c in configs] == ["k=1", "k=2"] and fake_models == ["smollm2-135m"]
    for config in configs:
        assert [r["id"] for r in config["records"]] == [f"{W1}_0@other-weeks", f"{W2}_0@other-weeks"]
        assert config["metrics"]["n"] == 2 and config["config"]["k"] == int(config["name"][-1])
    assert len(list(out.glob("index-ct128-ov24-*"))) == 2  # one index per week, built once for both


def test_a_week_with_no_other_week_asks_nothing(rtqa):
    (part,) = crossed.build(("other-weeks",), rtqa, [W1], None, None, max_share=0.5)
    assert part.questions == [] and part.size == 0
    assert [why for _, why in part.skipped] == ["its corpus is empty", "its corpus is empty"]
