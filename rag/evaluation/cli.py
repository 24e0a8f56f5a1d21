"""The `rag eval` commands: gold Q&A, RealTimeQA, negative rejection, calibration, and RESULTS.md from runs.

Imported by `rag --help`, so only click and the standard library are imported here at module level; the
evaluation package, the models, numpy and matplotlib load inside the commands.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rag.cli_types import INDEX_LOCATION, K_RANGE, RagGroup
from rag.config import REPO_ROOT

DEFAULT_REALTIMEQA = REPO_ROOT.parent / "shared" / "bench" / "realtimeqa"
DEFAULT_SEEDS = REPO_ROOT.parent / "shared" / "corpus" / "seeds"
DEFAULT_GOLD = REPO_ROOT / "eval" / "gold" / "seeds.jsonl"


def _log(message: str) -> None:
    """A line on stderr that leaves a running progress bar intact."""
    from tqdm import tqdm

    tqdm.write(message, file=sys.stderr)


class _Bars:
    """Progress on stderr (only the CLI draws it): files while an index is built, then questions as they are asked."""

    def __init__(self, enabled: bool | None):
        self.enabled = enabled  # None: only when stderr is a terminal, as `rag ingest` does
        self.files = self.questions = None
        self.total_questions = 0

    def _bar(self, **kwargs):
        from tqdm import tqdm

        return tqdm(file=sys.stderr, dynamic_ncols=True, disable=None if self.enabled is None else not self.enabled,
                    **kwargs)

    def on_file(self, done: int, total: int) -> None:
        if self.files is None:
            self.files = self._bar(total=total or None, unit="file", desc="Indexing")
        self.files.update(done - self.files.n)

    def on_question(self, name: str) -> None:
        if self.files is not None:
            self.files.close()
        if self.questions is None:
            self.questions = self._bar(total=self.total_questions, unit="q", desc="Asking")
        self.questions.set_description(f"Asking [{name}]", refresh=False)
        self.questions.update(1)

    def close(self) -> None:
        for bar in (self.files, self.questions):
            if bar is not None:
                bar.close()


def _common(func):
    """The options shared by the gold and RealTimeQA evaluations."""
    options = [
        click.option("--model", help="LLM: qwen2.5-coder-1.5b (default), qwen2.5-coder-0.5b, smollm2-135m, or a .gguf "
                                     "path."),
        click.option("-k", "k", type=K_RANGE, help="Articles the evidence may come from (default 4)."),
        click.option("--sweep", "sweeps", multiple=True, metavar="KEY=V1,V2",
                     help="Run every value (several --sweep: every combination). Keys: k, candidates, "
                          "evidence_tokens, max_sentences, fetch_k, rrf_k, dense_weight, bm25_weight, "
                          "max_answer_tokens, temperature, calibration, model, chunk_tokens, overlap (the last two "
                          "need a corpus)."),
        click.option("--limit", type=click.IntRange(min=1), help="Only the first N questions."),
        click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Folder for results.json, report.md, the plots (and indexes built from a corpus)."),
        click.option("--progress/--no-progress", default=None,
                     help="Progress bars on stderr (default: when stderr is a terminal)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _configurations(sweeps: tuple[str, ...], allow_index_keys: bool) -> list[dict]:
    from rag.evaluation.sweeps import SweepError, configurations

    try:
        configs = configurations(sweeps, allow_index_keys=allow_index_keys)
    except SweepError as exc:
        raise click.BadParameter(str(exc), param_hint="--sweep") from None
    _check_ranges(configs)
    _check_models([c["model"] for c in configs if "model" in c])
    return configs


def _check_ranges(configs: list[dict]) -> None:
    """A swept value out of range (k=0, a negative overlap) is a usage error before anything runs."""
    from dataclasses import fields, replace

    from rag.config import Config, check
    from rag.errors import ConfigError

    settings = {f.name for f in fields(Config)}
    for values in configs:
        try:
            check(replace(Config(), **{name: v for name, v in values.items() if name in settings}))
        except ConfigError as exc:
            raise click.BadParameter(str(exc), param_hint="--sweep") from None


def _check_models(names: list[str]) -> None:
    """Fail before any question is asked, not after the first configurations ran."""
    from rag.models.factories import known_model
    from rag.models.registry import LLMS

    for name in dict.fromkeys(names):
        if not known_model(name):
            raise click.BadParameter(f"unknown model {name!r}: use one of {', '.join(LLMS)} or a path to a .gguf "
                                     "file.", param_hint="--sweep/--model")


def _base_config(model: str | None, k: int | None, index_dir: str | None = None):
    from rag.config import load_config

    flags = {"model": model, "k": k, "index_dir": index_dir}
    return load_config({name: value for name, value in flags.items() if value is not None})


def _run(questions: list, configs: list[dict], factory, progress: bool | None) -> dict:
    """Build the indexes, then ask every question under every configuration, with progress bars."""
    from rag.evaluation.runner import run_eval

    bars = _Bars(progress)
    bars.total_questions = len(questions) * len(configs)
    factory.on_file = bars.on_file
    try:
        factory.prepare(configs)
        return run_eval(questions, None, configs, make_assistant=factory, on_question=bars.on_question, log=_log)
    finally:
        bars.close()


def _finish(results: dict, out_dir: Path) -> None:
    from rag.evaluation.runner import summary_line
    from rag.evaluation.runs import write_results

    paths = write_results(results, out_dir)
    for entry in results["configurations"]:
        click.echo(summary_line(entry))
    click.echo("Wrote " + ", ".join(str(p) for p in paths))


@click.group("eval", cls=RagGroup, invoke_without_command=True, no_args_is_help=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--gold", type=click.Path(dir_okay=False, path_type=Path),
              help="Gold Q&A JSONL (id, question, answers, kind, docs), e.g. eval/gold/seeds.jsonl.")
@click.option("--index", "index_dir", type=INDEX_LOCATION, envvar="RAG_INDEX",
              help="Ask over this existing index (a folder or a postgresql:// URL; default $RAG_INDEX).")
@click.option("--corpus", type=click.Path(exists=True, path_type=Path),
              help="Build (or update) an index of these articles under OUT/index-ct<N>-ov<M> and ask over it.")
@_common
@click.pass_context
def eval_group(ctx, gold, index_dir, corpus, model, k, sweeps, limit, out_dir, progress) -> None:
    """Measure answer accuracy against gold Q&A and the RealTimeQA benchmark.

    \b
    Gold Q&A:   rag eval --gold eval/gold/seeds.jsonl --corpus ../shared/corpus/seeds --out eval/runs/seeds
    RealTimeQA: rag eval realtimeqa --out eval/runs/realtimeqa
    RESULTS.md: rag eval results eval/runs/seeds eval/runs/realtimeqa --out eval/RESULTS.md

    Every question goes through the same path as `rag ask`. OUT gets results.json, report.md and PNG plots.
    """
    if ctx.invoked_subcommand is not None:
        given = [name for name, value in (("--gold", gold), ("--index", index_dir), ("--corpus", corpus),
                                          ("--model", model), ("-k", k), ("--sweep", sweeps), ("--limit", limit),
                                          ("--out", out_dir)) if value]
        if given:
            raise click.UsageError(f"{', '.join(given)} go after `{ctx.invoked_subcommand}`, not before it.")
        return
    if gold is None:
        raise click.UsageError("Give --gold FILE (or a subcommand: realtimeqa, results).")
    if corpus is not None and ctx.get_parameter_source("index_dir") == click.core.ParameterSource.ENVIRONMENT:
        index_dir = None  # --corpus builds its own index; $RAG_INDEX only stands in for a missing --index
    if (index_dir is None) == (corpus is None):
        raise click.UsageError("Give exactly one of --index DIR (an existing index) or --corpus DIR (articles to "
                               "index under OUT).")
    if out_dir is None:
        raise click.UsageError("Give --out DIR for the results.")
    configs = _configurations(sweeps, allow_index_keys=corpus is not None)
    if model:
        _check_models([model])

    from rag.evaluation.builds import AssistantFactory
    from rag.evaluation.gold import load_gold
    from rag.evaluation.runs import make_meta

    questions = load_gold(gold, limit)
    base = _base_config(model, k, index_dir)
    factory = AssistantFactory(base, out_dir=out_dir, corpus=[corpus] if corpus else None, log=_log)
    results = _run(questions, configs, factory, progress)
    kinds: dict[str, int] = {}
    for q in questions:
        kinds[q.kind] = kinds.get(q.kind, 0) + 1
    results["meta"] = make_meta("gold", gold=str(gold), corpus=str(corpus) if corpus else None,
                                index=", ".join(factory.built_indexes()) or base.index_dir,
                                questions=f"{len(questions)} (" + ", ".join(f"{n} {kind}" for kind, n in
                                                                         sorted(kinds.items())) + ")")
    _finish(results, out_dir)


@eval_group.command("realtimeqa")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_REALTIMEQA,
              show_default=True, help="Folder of the weekly RealTimeQA files (YYYYMMDD_qa/gold/gcs.jsonl).")
@click.option("--weeks", multiple=True, metavar="YYYYMMDD[,YYYYMMDD...]",
              help="Only these weeks (default: every complete week in --data).")
@click.option("--mode", type=click.Choice(["open", "choice"]), default="open", show_default=True,
              help="open: the question alone; choice: the four choices appended to it.")
@click.option("--until-question-date/--no-until-question-date", default=True, show_default=True,
              help="Search only articles published on or before the day the question was asked.")
@click.option("--index-root", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for corpus.jsonl and the index (default: OUT). Give several runs the same one to build "
                   "the index once.")
@_common
def realtimeqa_command(data, weeks, mode, until_question_date, index_root, model, k, sweeps, limit, out_dir,
                       progress) -> None:
    """Ask the RealTimeQA questions that have gold articles over an index of the weeks' articles.

    The corpus (every gold and search-result article of the weeks) is written to corpus.jsonl and indexed under
    index-ct<N>-ov<M>-<corpus hash>, both in --index-root (default OUT), which later runs reuse. An answer is
    right when it contains the right choice's text.
    """
    if out_dir is None:
        raise click.UsageError("Give --out DIR for the corpus, the index and the results.")
    configs = _configurations(sweeps, allow_index_keys=True)
    if model:
        _check_models([model])

    from rag.evaluation import realtimeqa
    from rag.evaluation.gold import realtimeqa_questions
    from rag.evaluation.runs import make_meta

    chosen = _chosen_weeks(data, weeks)
    articles, raw_questions = realtimeqa.load(data, chosen, limit)
    if not raw_questions:
        raise click.UsageError("These weeks have no question with a gold article.")
    questions = realtimeqa_questions(raw_questions, mode, until_question_date)
    (index_root or out_dir).mkdir(parents=True, exist_ok=True)
    realtimeqa.write_gold(raw_questions, (index_root or out_dir) / "gold.jsonl")  # to ask again with `rag eval --gold`
    results, corpus, factory = _run_over_articles(articles, [], questions, "corpus.jsonl", index_root or out_dir,
                                                  configs, model, k, progress)
    results["meta"] = make_meta("realtimeqa", data=str(data), weeks=chosen or realtimeqa.list_weeks(data), mode=mode,
                                until_question_date=until_question_date, corpus=str(corpus),
                                index=", ".join(factory.built_indexes()),
                                questions=f"{len(questions)} with gold articles",
                                articles=len(articles))
    _finish(results, out_dir)


def _chosen_weeks(data: Path, weeks: tuple[str, ...]) -> list[str] | None:
    from rag.evaluation import realtimeqa

    available = realtimeqa.list_weeks(data)
    chosen = [w.strip() for spec in weeks for w in spec.split(",") if w.strip()] or None
    missing = [w for w in chosen or [] if w not in available]
    if missing:
        raise click.BadParameter(f"{', '.join(missing)} not in {data}; weeks there: {', '.join(available)}",
                                 param_hint="--weeks")
    return chosen


def _run_over_articles(articles: list, extra_paths: list[Path], questions: list, corpus_name: str,
                       index_root: Path, configs: list[dict], model: str | None, k: int | None, progress):
    """Write the articles as a JSONL corpus in index_root, index it (with extra_paths) once, ask the questions."""
    from rag.evaluation.builds import AssistantFactory, write_corpus_file

    index_root.mkdir(parents=True, exist_ok=True)
    corpus, fingerprint = write_corpus_file(articles, index_root, corpus_name)
    _log(f"{len(articles)} articles ({sum(len(a.text) for a in articles) / 1e6:.1f} M characters) in {corpus}"
         + "".join(f" + {p}" for p in extra_paths) + f"; {len(questions)} questions")
    factory = AssistantFactory(_base_config(model, k), out_dir=index_root, corpus=[corpus, *extra_paths],
                               index_suffix=fingerprint, log=_log, skip_ingest_if_built=True)
    return _run(questions, configs, factory, progress), corpus, factory


@eval_group.command("rejection")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_REALTIMEQA,
              show_default=True, help="Folder of the weekly RealTimeQA files.")
@click.option("--weeks", multiple=True, metavar="YYYYMMDD[,YYYYMMDD...]", help="Only these weeks (default: all).")
@click.option("--gold", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_GOLD, show_default=True,
              help="Its unanswerable questions are added, asked over the same corpus plus --seeds.")
@click.option("--seeds", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_SEEDS, show_default=True,
              help="The sample corpus, added to the corpus for the gold file's unanswerable questions.")
@click.option("--max-share", type=click.FloatRange(0, 1), default=0.01, show_default=True,
              help="A question is kept only if its answer is in at most this share of the articles.")
@click.option("--index-root", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the corpus and the index (default: OUT); share it with `rag eval realtimeqa` to reuse "
                   "its embeddings.")
@_common
def rejection_command(data, weeks, gold, seeds, max_share, index_root, model, k, sweeps, limit, out_dir,
                      progress) -> None:
    """Negative rejection: questions whose answer was removed from the corpus; every honest reply abstains.

    From RealTimeQA's weeks, the questions whose answer is specific enough to screen the corpus with; every
    article holding one of their answers (or listed as their gold article) is removed. The gold file's
    unanswerable questions are added. Reports the rejection rate and the answers that hold the removed answer
    anyway (answered from the model's memory).
    """
    if out_dir is None:
        raise click.UsageError("Give --out DIR for the results.")
    configs = _configurations(sweeps, allow_index_keys=True)
    if model:
        _check_models([model])
    from rag.evaluation import realtimeqa, rejection
    from rag.evaluation.gold import load_gold
    from rag.evaluation.runs import make_meta

    articles, raw_questions = realtimeqa.load(data, _chosen_weeks(data, weeks))
    screened = rejection.build(articles, raw_questions, max_share)
    questions = rejection.as_eval_questions(screened)
    extra = []
    if gold and gold.is_file() and seeds and seeds.is_dir():
        questions += [q for q in load_gold(gold) if q.kind == "unanswerable"]
        extra = [seeds]
    questions = questions[:limit] if limit else questions
    results, corpus, factory = _run_over_articles(screened.articles, extra, questions, "rejection-corpus.jsonl",
                                                  index_root or out_dir, configs, model, k, progress)
    results["meta"] = make_meta("rejection", data=str(data), corpus=str(corpus), index=", ".join(factory.built_indexes()),
                                questions=f"{len(questions)} ({len(screened.questions)} RealTimeQA with the answer "
                                          f"removed, {len(questions) - len(screened.questions)} unanswerable gold)",
                                articles=f"{len(screened.articles)} ({screened.removed} removed)",
                                skipped=len(screened.skipped))
    _finish(results, out_dir)


@eval_group.command("calibrate")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              default=REPO_ROOT / "rag" / "calibration.json", show_default=True,
              help="The calibration file to write (the package's own by default).")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("eval/runs/calibration"), show_default=True,
              help="Folder for the precision/recall plot and table.")
@click.option("--target", type=click.FloatRange(0.5, 1.0), default=0.9, show_default=True,
              help="Abstention precision the threshold must reach on held-out folds.")
def calibrate_command(run_dirs, out_path, report_dir, target) -> None:
    """Fit the confidence model on finished runs (RUN_DIR...: their first configuration) and pick its threshold.

    Every answered question of the runs is an example (right or not); the threshold is chosen on held-out
    folds for the highest abstention recall whose precision reaches --target (out of reach: the most recall that
    keeps 95% of the right answers).
    """
    from rag.evaluation.calibrate import calibrate
    from rag.evaluation.runs import load_results
    from rag.evaluation.calibration_report import write_calibration_report

    records, names = [], []
    for run_dir in run_dirs:
        results = load_results(run_dir)
        records += results["configurations"][0]["records"]
        names.append(Path(run_dir).name)
    try:
        model, points = calibrate(records, ", ".join(names), target)
    except ValueError as exc:
        raise click.UsageError(f"Cannot calibrate on {', '.join(names)}: {exc}.") from None
    out_path.write_text(model.to_json(), encoding="utf-8")
    written = write_calibration_report(model, points, report_dir)
    chosen = next(p for p in points if p["threshold"] == model.threshold)
    click.echo(f"Threshold {model.threshold:.3f}: held-out abstention precision {chosen['precision']:.3f}, recall "
               f"{chosen['recall']:.3f}, right answers kept {chosen['answered_right']:.3f}")
    click.echo(f"Wrote {out_path}, " + ", ".join(str(p) for p in written))


@eval_group.command("results")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("eval/RESULTS.md"),
              show_default=True, help="Markdown file to write.")
@click.option("--notes", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A Markdown file of notes (what was tried, what fell short) placed after the summary.")
def results_command(run_dirs, out_path, notes) -> None:
    """Assemble RESULTS.md from the results.json of finished runs (RUN_DIR... in the order given)."""
    from rag.evaluation.runs import load_results
    from rag.evaluation.report import render_results_md

    runs = [(Path(d).name if Path(d).is_dir() else Path(d).parent.name, load_results(d)) for d in run_dirs]
    command = "rag eval results " + " ".join(str(d) for d in run_dirs) + f" --out {out_path}" + \
        (f" --notes {notes}" if notes else "")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    text = notes.read_text(encoding="utf-8").strip() if notes else ""
    out_path.write_text(render_results_md(runs, command, text), encoding="utf-8")
    click.echo(f"Wrote {out_path} from {len(runs)} run(s).")


if __name__ == "__main__":  # pragma: no cover
    eval_group(sys.argv[1:])
