"""The negative-rejection benchmark (`rag eval rejection`): questions whose answer was removed from the corpus,
plus the gold file's unanswerable ones; every honest reply declines (the screening is in rejection.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from rag.config import REPO_ROOT
from rag.evaluation.bench_realtimeqa import DEFAULT_DATA, chosen_weeks, corpus_file
from rag.evaluation.benchmarks import Benchmark, Plan, Request, Target
from rag.evaluation.tables import rate, table

DEFAULT_SEEDS = REPO_ROOT.parent / "shared" / "corpus" / "seeds"
DEFAULT_GOLD = REPO_ROOT / "eval" / "gold" / "seeds.jsonl"

OPTIONS = (
    click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_DATA,
                 show_default=True, help="Folder of the weekly RealTimeQA files."),
    click.option("--weeks", multiple=True, metavar="YYYYMMDD[,YYYYMMDD...]", help="Only these weeks (default: all)."),
    click.option("--gold", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_GOLD,
                 show_default=True, help="Its unanswerable questions are added, asked over the same corpus plus "
                                         "--seeds."),
    click.option("--seeds", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_SEEDS,
                 show_default=True, help="The sample corpus, added to the corpus for the gold file's unanswerable "
                                         "questions."),
    click.option("--max-share", type=click.FloatRange(0, 1), default=0.01, show_default=True,
                 help="A question is kept only if its answer is in at most this share of the articles."),
    click.option("--index-root", type=click.Path(file_okay=False, path_type=Path),
                 help="Folder for the corpus and the index (default: OUT); share it with `rag eval realtimeqa` to "
                      "reuse its embeddings."),
)


def _load(request: Request) -> Plan:
    from rag.evaluation import realtimeqa, rejection
    from rag.evaluation.gold import load_gold

    o = request.options
    articles, raw_questions = realtimeqa.load(o["data"], chosen_weeks(o["data"], o["weeks"]))
    screened = rejection.build(articles, raw_questions, o["max_share"])
    questions = rejection.as_eval_questions(screened)
    extra = []
    if o["gold"] and o["gold"].is_file() and o["seeds"] and o["seeds"].is_dir():
        questions += [q for q in load_gold(o["gold"]) if q.kind == "unanswerable"]
        extra = [o["seeds"]]
    questions = questions[:request.limit] if request.limit else questions
    root = o["index_root"] or request.out_dir
    corpus, fingerprint = corpus_file(screened.articles, extra, questions, "rejection-corpus.jsonl", root,
                                      request.log)
    return Plan(questions, corpus=(corpus, *extra), index_root=root, index_suffix=fingerprint, reuse_index=True,
                meta={"data": str(o["data"]), "corpus": str(corpus),
                      "questions": f"{len(questions)} ({len(screened.questions)} RealTimeQA with the answer "
                                   f"removed, {len(questions) - len(screened.questions)} unanswerable gold)",
                      "articles": f"{len(screened.articles)} ({screened.removed} removed)",
                      "skipped": len(screened.skipped)})


def _declined(records: list[dict], kind: str | None = None) -> str:
    chosen = [r for r in records if r["verdicts"]["should_abstain"] and (kind is None or r["kind"] == kind)]
    declined = sum(1 for r in chosen if r["abstained"])
    return f"{rate(declined / len(chosen))} ({declined}/{len(chosen)})" if chosen else "–"


def section(results: dict[str, Any]) -> str:
    """Declined per source of questions, and the answers that hold the removed answer anyway."""
    rows = [[c["name"], _declined(c["records"]), _declined(c["records"], "rejection"),
             _declined(c["records"], "unanswerable"), c["metrics"].get("answered_from_memory", "–")]
            for c in results["configurations"]]
    return ("Every question here should be declined (an answer is wrong, whatever it says). Memory: answers that "
            "hold the removed answer anyway.\n\n"
            + table(["configuration", "rejection rate", "RealTimeQA, answer removed", "gold unanswerable",
                     "answers holding the removed answer (memory)"], rows))


BENCHMARK = Benchmark(
    name="rejection",
    title="negative rejection",
    help="Negative rejection: questions whose answer was removed from the corpus; every honest reply abstains.\n\n"
         "From RealTimeQA's weeks, the questions whose answer is specific enough to screen the corpus with; every "
         "article holding one of their answers (or listed as their gold article) is removed. The gold file's "
         "unanswerable questions are added. Reports the rejection rate and the answers that hold the removed answer "
         "anyway (answered from the model's memory).",
    options=OPTIONS,
    load=_load,
    targets=(
        Target("rejection rate", lambda m: m.get("rejection_rate"), ">=", 0.90),
        Target("answered from memory (share)", lambda m: (m.get("answered_from_memory") or 0) / max(1, m["n"]),
               "<=", 0.02),
    ),
    heading="Negative rejection",
    section=section,
)
