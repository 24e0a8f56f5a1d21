"""The crossed-negatives benchmark (`rag eval crossed`): each dev set's questions over the other's articles, and
RealTimeQA's questions of one week over the other weeks' articles, every article holding the answer screened out
(crossed.py), so every honest reply declines. Many negatives of the dev sets' own kinds for the confidence model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from rag.evaluation.bench_realtimeqa import DEFAULT_DATA, chosen_weeks, corpus_file
from rag.evaluation.bench_rejection import DEFAULT_GOLD, DEFAULT_SEEDS
from rag.evaluation.benchmarks import Benchmark, Plan, Request, Target
from rag.evaluation.tables import rate, table

PARTS = ("seeds-on-rtqa", "rtqa-on-seeds", "other-weeks")  # as crossed.PARTS (kept here: no import at --help)
MEMORY_LISTED = 20

# Every alias screened out of each question's corpus, by record id: set by load, read by rescore (the record
# itself carries no answer, since it is one to decline).
_WITHHELD: dict[str, tuple[str, ...]] = {}


def _parts(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(p.strip() for p in value.split(",") if p.strip()))
    unknown = [p for p in chosen if p not in PARTS]
    if unknown or not chosen:
        raise click.BadParameter(f"{', '.join(unknown) or 'nothing'}: give some of {','.join(PARTS)}")
    return chosen


OPTIONS = (
    click.option("--parts", default=",".join(PARTS), show_default=True, callback=_parts,
                 help="Which parts: seeds-on-rtqa (the sample corpus's questions over RealTimeQA's articles), "
                      "rtqa-on-seeds (RealTimeQA's questions over the sample corpus), other-weeks (each week's "
                      "questions over the other weeks' articles)."),
    click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_DATA,
                 show_default=True, help="Folder of the weekly RealTimeQA files."),
    click.option("--weeks", multiple=True, metavar="YYYYMMDD[,YYYYMMDD...]", help="Only these weeks (default: all)."),
    click.option("--gold", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_GOLD,
                 show_default=True, help="The sample corpus's gold Q&A (its answerable questions are asked)."),
    click.option("--seeds", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_SEEDS,
                 show_default=True, help="The sample corpus."),
    click.option("--max-share", type=click.FloatRange(0, 1), default=0.01, show_default=True,
                 help="A question is kept only if every alias of its answer is in at most this share of its "
                      "corpus's articles."),
    click.option("--index-root", type=click.Path(file_okay=False, path_type=Path),
                 help="Folder for the corpora, their indexes and the embedding cache (default: OUT); share it with "
                      "`rag eval realtimeqa` and `rejection` to reuse their embeddings."),
)


def _check_paths(options: dict[str, Any]) -> None:
    """The folders and files the chosen parts read (at load, so `--help` and option errors need none of them)."""
    parts = options["parts"]
    if not options["data"].is_dir():
        raise click.UsageError(f"RealTimeQA folder not found: {options['data']} (--data).")
    if "seeds-on-rtqa" in parts and not options["gold"].is_file():
        raise click.UsageError(f"Gold file not found: {options['gold']} (--gold), needed by seeds-on-rtqa.")
    if "rtqa-on-seeds" in parts and not options["seeds"].is_dir():
        raise click.UsageError(f"Sample corpus not found: {options['seeds']} (--seeds), needed by rtqa-on-seeds.")


def _load(request: Request) -> Plan:
    from rag.evaluation import crossed
    from rag.evaluation.gold import load_gold
    from rag.evaluation.realtimeqa import list_weeks

    o = request.options
    _check_paths(o)
    weeks = chosen_weeks(o["data"], o["weeks"])
    gold = load_gold(o["gold"]) if "seeds-on-rtqa" in o["parts"] else None
    seeds = crossed.read_seeds(o["seeds"]) if "rtqa-on-seeds" in o["parts"] else None
    request.log("Screening the corpora ...")
    built = crossed.build(o["parts"], o["data"], weeks, gold, seeds, o["max_share"])
    parts = crossed.limit(built, request.limit)
    root = o["index_root"] or request.out_dir
    plans, corpora = [], []
    for part in parts:
        _WITHHELD.update(part.withheld)
        if not part.questions:
            continue
        if part.articles is not None:
            name = "crossed-" + part.label.replace(" ", "-") + ".jsonl"
            corpus, fingerprint = corpus_file(part.articles, [], part.questions, name, root,
                                              lambda m, label=part.label: request.log(f"{label}: {m}"))
        else:
            corpus, fingerprint = crossed.seeds_corpus(part, o["seeds"], root)
            request.log(f"{part.label}: {part.size} articles in {corpus}; {len(part.questions)} questions")
        corpora.append(str(corpus))
        plans.append(Plan(part.questions, corpus=(corpus,), index_root=root, index_suffix=fingerprint,
                          reuse_index=True))
    questions = [q for plan in plans for q in plan.questions]
    if not questions:
        raise click.UsageError("No question is left to ask: every one was skipped by the screening (see "
                               "--max-share) or the parts chosen have none.")
    counts, asked = {}, {part.label: len(part.questions) for part in parts}
    for part in parts:
        counts[part.name] = counts.get(part.name, 0) + len(part.questions)
    return Plan(questions, parts=tuple(plans),
                meta={"data": str(o["data"]), "weeks": weeks or list_weeks(o["data"]),
                      "gold": str(o["gold"]) if gold else None,
                      "corpus": ", ".join(corpora),
                      "questions": f"{len(questions)} (" + ", ".join(f"{n} {name}" for name, n in counts.items())
                                   + "), every one to be declined",
                      "crossed": [{**part.summary(), "asked": asked.get(part.label, 0)} for part in built],
                      "max_share": o["max_share"]})


def _rescore(record: dict[str, Any]) -> dict[str, Any]:
    """An answer holding any alias that was screened out came from the model's memory (the runner checked the
    first alias only)."""
    from rag.evaluation.metrics import strip_citations
    from rag.evaluation.scoring import contains

    aliases = _WITHHELD.get(record["id"])
    if aliases is not None:
        record["withheld"] = list(aliases)
        answer = strip_citations(record["answer"])
        record["verdicts"]["from_memory"] = (not record["abstained"]) and any(contains(answer, a) for a in aliases)
    return record


def _part_of(record: dict[str, Any]) -> str:
    return record["kind"].removeprefix("crossed-")


def _declined(records: list[dict]) -> str:
    chosen = [r for r in records if r["verdicts"]["should_abstain"]]
    declined = sum(1 for r in chosen if r["abstained"])
    return f"{rate(declined / len(chosen))} ({declined}/{len(chosen)})" if chosen else "–"


def _memory(records: list[dict]) -> int:
    return sum(1 for r in records if r["verdicts"].get("from_memory"))


def section(results: dict[str, Any]) -> str:
    """Declined per part, the answers holding a screened-out answer, and what each part's corpus was."""
    configs = results["configurations"]
    parts = [p for p in PARTS if any(_part_of(r) == p for c in configs for r in c["records"])]
    rows = []
    for c in configs:
        records = c["records"]
        rows.append([c["name"], _declined(records)]
                    + [_declined([r for r in records if _part_of(r) == p]) for p in parts]
                    + [f"{_memory(records)} (" + ", ".join(str(_memory([r for r in records if _part_of(r) == p]))
                                                          for p in parts) + ")"])
    text = ("Every question here should be declined: its corpus holds no article with its answer (an answer is "
            "wrong, whatever it says). Memory: answers that hold a screened-out answer anyway, in all (per "
            "part).\n\n" + table(["configuration", "declined", *parts, "memory"], rows))
    if configs:
        remembered = [r for r in configs[0]["records"] if r["verdicts"].get("from_memory")]
        if remembered:
            listed = [[r["id"], r["question"][:100], " ".join(r["answer"].split())[:120],
                       " / ".join(r.get("withheld") or [])[:60]] for r in remembered[:MEMORY_LISTED]]
            text += (f"\n\nAnswered from memory ({configs[0]['name']}):\n\n"
                     + table(["id", "question", "answer", "screened out"], listed))
            if len(remembered) > MEMORY_LISTED:
                text += f"\n\n({len(remembered) - MEMORY_LISTED} more in results.json)"
    summary = results.get("meta", {}).get("crossed")
    if summary:
        text += ("\n\nThe corpora: questions kept by the screening (asked in this run: --limit) and skipped (an "
                 "answer too short or in too many articles); articles left and removed:\n\n"
                 + table(["part", "kept", "asked", "skipped", "articles", "removed"],
                         [[s["part"], s["questions"], s.get("asked", s["questions"]), s["skipped"], s["articles"],
                           s["removed"]] for s in summary]))
    return text


BENCHMARK = Benchmark(
    name="crossed",
    title="crossed negatives",
    help="Crossed negatives: each dev set's questions over the other's articles, with their answers screened out; "
         "every honest reply declines.\n\n"
         "seeds-on-rtqa: the sample corpus's answerable gold questions over every RealTimeQA article; "
         "rtqa-on-seeds: RealTimeQA's questions over the sample corpus; other-weeks: each RealTimeQA week's "
         "questions over the other weeks' articles dated up to the week's last question. Every article holding an "
         "alias of a question's answer (or listed as its gold article) is removed; a question whose answer is in "
         "more than --max-share of its corpus is skipped. RealTimeQA questions are asked on their own date. Each "
         "part (each week) is indexed on its own under --index-root, from the embedding cache there. Records are "
         "of kind crossed-<part>.",
    options=OPTIONS,
    load=_load,
    rescore=_rescore,
    targets=(
        Target("rejection rate", lambda m: m.get("rejection_rate"), ">=", 0.90),
        Target("answered from memory (share)", lambda m: (m.get("answered_from_memory") or 0) / max(1, m["n"]),
               "<=", 0.02),
    ),
    heading="Crossed negatives",
    section=section,
)
