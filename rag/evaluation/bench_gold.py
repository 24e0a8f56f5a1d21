"""The gold Q&A benchmark (`rag eval --gold FILE`, also `rag eval gold`): a JSONL file of questions with alias
groups and kinds, asked over an existing index or over a corpus indexed under --out."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import click

from rag.cli_types import INDEX_LOCATION
from rag.evaluation.benchmarks import Benchmark, Plan, Request, Target
from rag.evaluation.tables import rate, table
from rag.evaluation.truthfulness import Tally, record_tally

OPTIONS = (
    click.option("--gold", type=click.Path(dir_okay=False, path_type=Path),
                 help="Gold Q&A JSONL (id, question, answers, kind, docs), e.g. eval/gold/seeds.jsonl."),
    click.option("--index", "index_dir", type=INDEX_LOCATION, envvar="RAG_INDEX",
                 help="Ask over this existing index (a folder or a postgresql:// URL; default $RAG_INDEX)."),
    click.option("--corpus", type=click.Path(exists=True, path_type=Path),
                 help="Build (or update) an index of these articles under OUT/index-ct<N>-ov<M> and ask over it."),
)


def _check(ctx: click.Context, options: dict[str, Any]) -> dict[str, Any]:
    if options["gold"] is None:
        raise click.UsageError("Give --gold FILE (or a subcommand: see `rag eval --help`).")
    if options["corpus"] is not None and \
            ctx.get_parameter_source("index_dir") == click.core.ParameterSource.ENVIRONMENT:
        options = {**options, "index_dir": None}  # --corpus builds its own index; $RAG_INDEX only stands in for --index
    if (options["index_dir"] is None) == (options["corpus"] is None):
        raise click.UsageError("Give exactly one of --index DIR (an existing index) or --corpus DIR (articles to "
                               "index under OUT).")
    return options


def _load(request: Request) -> Plan:
    from rag.evaluation.gold import load_gold

    gold, corpus = request.options["gold"], request.options["corpus"]
    questions = load_gold(gold, request.limit)
    kinds = Counter(q.kind for q in questions)
    return Plan(questions, corpus=(corpus,) if corpus else (), index=request.options["index_dir"],
                meta={"gold": str(gold), "corpus": str(corpus) if corpus else None,
                      "questions": f"{len(questions)} (" + ", ".join(f"{n} {kind}" for kind, n in
                                                                     sorted(kinds.items())) + ")"})


def by_kind_table(results: dict) -> str | None:
    """Per question kind: truthfulness, then right/declined/wrong, for each configuration."""
    configs = results["configurations"]
    tallies = []
    for c in configs:
        per_kind: dict[str, Tally] = {}
        for r in c["records"]:
            per_kind[r["kind"]] = per_kind.get(r["kind"], Tally()).plus(record_tally(r))
        tallies.append(per_kind)
    kinds = sorted({kind for per_kind in tallies for kind in per_kind})
    if not kinds:
        return None
    rows = []
    for kind in kinds:
        cells = [per_kind.get(kind) for per_kind in tallies]
        n = next((t.n for t in cells if t), 0)
        rows.append([kind, n] + [f"{rate(t.truthfulness)} ({t.right}/{t.declined}/{t.answered_wrong})" if t else "–"
                                 for t in cells])
    return ("Truthfulness (right − wrong over n) with right / declined / wrong; declining an unanswerable "
            "question is right.\n\n" + table(["kind", "n"] + [c["name"] for c in configs], rows))


BENCHMARK = Benchmark(
    name="gold",
    title="gold Q&A",
    help="Ask the questions of a gold Q&A file over an index (--index) or a corpus indexed under OUT (--corpus).\n\n"
         "Also the plain `rag eval --gold FILE ...`. An answer is right when it holds an alias of every answer "
         "group; a question of kind \"unanswerable\" is right when declined.",
    options=OPTIONS,
    check=_check,
    load=_load,
    builds_index=lambda options: options["corpus"] is not None,
    targets=(
        Target("accuracy on answerable", lambda m: m["accuracy"], ">=", 0.90),
        Target("abstention recall", lambda m: m["abstention_recall"], ">=", 0.80),
        Target("abstention precision", lambda m: m["abstention_precision"], ">=", 0.90),
        Target("citation precision", lambda m: m["citation_precision"], ">=", 0.95),
        Target("dangling citations", lambda m: m["dangling_total"], "==", 0, "count"),
        Target("median seconds per answer", lambda m: m["latency_s"]["total"]["p50"], "<", 6.0, "seconds"),
    ),
    heading="Truthfulness by kind",
    section=by_kind_table,
)
