"""The RealTimeQA benchmark (`rag eval realtimeqa`): the weeks' questions that have gold articles, over an index
of every gold and search-result article of those weeks."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from rag.config import REPO_ROOT
from rag.evaluation.benchmarks import Benchmark, Plan, Request, Target
from rag.evaluation.tables import rate, table

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "bench" / "realtimeqa"
# Published with RealTimeQA: GPT-3 (davinci) with Google Custom Search, open-ended, on the 110 questions of
# the eleven weeks 2022-06-17 .. 2022-08-26 that have gold articles.
ANCHOR = {"containment": 0.582, "exact_match": 0.445, "questions": 110}

OPTIONS = (
    click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_DATA,
                 show_default=True, help="Folder of the weekly RealTimeQA files (YYYYMMDD_qa/gold/gcs.jsonl)."),
    click.option("--weeks", multiple=True, metavar="YYYYMMDD[,YYYYMMDD...]",
                 help="Only these weeks (default: every complete week in --data)."),
    click.option("--mode", type=click.Choice(["open", "choice"]), default="open", show_default=True,
                 help="open: the question alone; choice: the four choices appended to it."),
    click.option("--until-question-date/--no-until-question-date", default=True, show_default=True,
                 help="Search only articles published on or before the day the question was asked."),
    click.option("--index-root", type=click.Path(file_okay=False, path_type=Path),
                 help="Folder for corpus.jsonl and the index (default: OUT). Give several runs the same one to "
                      "build the index once."),
)


def chosen_weeks(data: Path, weeks: tuple[str, ...]) -> list[str] | None:
    """The weeks of --weeks (None: all), each checked to be in --data."""
    from rag.evaluation import realtimeqa

    available = realtimeqa.list_weeks(data)
    chosen = [w.strip() for spec in weeks for w in spec.split(",") if w.strip()] or None
    missing = [w for w in chosen or [] if w not in available]
    if missing:
        raise click.BadParameter(f"{', '.join(missing)} not in {data}; weeks there: {', '.join(available)}",
                                 param_hint="--weeks")
    return chosen


def corpus_file(articles: list, extra_paths: list[Path], questions: list, name: str, root: Path,
                log: Callable[[str], None]) -> tuple[Path, str]:
    """The articles as a JSONL corpus in root (rewritten only when it changes), and its fingerprint."""
    from rag.evaluation.builds import write_corpus_file

    root.mkdir(parents=True, exist_ok=True)
    corpus, fingerprint = write_corpus_file(articles, root, name)
    log(f"{len(articles)} articles ({sum(len(a.text) for a in articles) / 1e6:.1f} M characters) in {corpus}"
        + "".join(f" + {p}" for p in extra_paths) + f"; {len(questions)} questions")
    return corpus, fingerprint


def _load(request: Request) -> Plan:
    from rag.evaluation import realtimeqa
    from rag.evaluation.gold import realtimeqa_questions

    o = request.options
    chosen = chosen_weeks(o["data"], o["weeks"])
    articles, raw_questions = realtimeqa.load(o["data"], chosen, request.limit)
    if not raw_questions:
        raise click.UsageError("These weeks have no question with a gold article.")
    questions = realtimeqa_questions(raw_questions, o["mode"], o["until_question_date"])
    root = o["index_root"] or request.out_dir
    root.mkdir(parents=True, exist_ok=True)
    realtimeqa.write_gold(raw_questions, root / "gold.jsonl")  # to ask again with `rag eval --gold`
    corpus, fingerprint = corpus_file(articles, [], questions, "corpus.jsonl", root, request.log)
    return Plan(questions, corpus=(corpus,), index_root=root, index_suffix=fingerprint, reuse_index=True,
                meta={"data": str(o["data"]), "weeks": chosen or realtimeqa.list_weeks(o["data"]), "mode": o["mode"],
                      "until_question_date": o["until_question_date"], "corpus": str(corpus),
                      "questions": f"{len(questions)} with gold articles", "articles": len(articles)})


def anchor_text(results: dict) -> str:
    a = ANCHOR
    n = results["configurations"][0]["metrics"]["n"] if results["configurations"] else 0
    text = (f"Anchor: the benchmark's published GPT-3 (davinci) + Google Custom Search open-ended predictions hold "
            f"the right choice in {a['containment']:.3f} of these {a['questions']} questions (exact match "
            f"{a['exact_match']:.3f}); compare it with the containment alone below.")
    if n != a["questions"]:
        text += f" This run asked {n} questions, so compare with care."
    return text


def _containment(metrics: dict) -> float | None:
    """Accuracy had only answers holding the right choice's text as written counted right."""
    if metrics.get("accuracy") is None or "right_by_choice" not in metrics:
        return None
    return metrics["accuracy"] - metrics["right_by_choice"] / metrics["answerable"]


def choice_table(configs: list[dict]) -> str | None:
    """Answers right by the choice they name in other words, and answers that name a wrong choice too."""
    if not any("strict_accuracy" in c["metrics"] for c in configs):
        return None
    rows = [[c["name"], rate(c["metrics"]["accuracy"]), rate(_containment(c["metrics"])),
             c["metrics"].get("right_by_choice", "–"), c["metrics"].get("names_wrong_choice", "–"),
             rate(c["metrics"].get("strict_accuracy"))] for c in configs]
    return table(["configuration", "accuracy", "containment alone", "right by the choice named in other words",
                  "answers naming a wrong choice too", "strict (right, no wrong choice's text)"], rows)


def section(results: dict[str, Any]) -> str:
    choices = choice_table(results["configurations"])
    return anchor_text(results) + (f"\n\nMultiple choice:\n\n{choices}" if choices else "")


BENCHMARK = Benchmark(
    name="realtimeqa",
    title="RealTimeQA",
    help="Ask the RealTimeQA questions that have gold articles over an index of the weeks' articles.\n\n"
         "The corpus (every gold and search-result article of the weeks) is written to corpus.jsonl and indexed "
         "under index-ct<N>-ov<M>-<corpus hash>, both in --index-root (default OUT), which later runs reuse. An "
         "answer is right when it contains the right choice's text, or names that choice and no other in other "
         "words (\"six months\" for \"6\").",
    options=OPTIONS,
    load=_load,
    targets=(
        Target("accuracy", lambda m: m["accuracy"], ">=", 0.65),
        Target("median seconds per answer", lambda m: m["latency_s"]["total"]["p50"], "<", 6.0, "seconds"),
    ),
    heading="RealTimeQA",
    section=section,
)
