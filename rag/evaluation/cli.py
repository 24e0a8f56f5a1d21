"""The `rag eval` group: a command per registered benchmark (benchmarks.py), plus calibrate and results.

`rag eval --gold FILE ...` (options on the group itself) runs the gold benchmark, as `rag eval gold` does.
Imported by `rag --help`, so only click and the standard library are imported here at module level (the
benchmark modules too); the evaluation package, the models, numpy and matplotlib load inside the commands.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rag.cli_types import RagGroup
from rag.evaluation import benchmarks
from rag.evaluation.commands import make_command, run_benchmark, with_options

DEFAULT = "gold"  # the benchmark of `rag eval --gold FILE ...`, with no command named


class BenchmarkGroup(RagGroup):
    """Its commands are the fixed ones and, looked up when asked for, one per registered benchmark."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *benchmarks.names()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        fixed = super().get_command(ctx, name)
        if fixed is not None:
            return fixed
        found = benchmarks.get(name)
        return make_command(found) if found else None


def _misplaced(ctx: click.Context) -> list[str]:
    """The group's own options given on the command line (they belong after the command named)."""
    return [param.opts[0] for param in ctx.command.params
            if ctx.get_parameter_source(param.name) == click.core.ParameterSource.COMMANDLINE]


def _default_options(func):
    return with_options(func, benchmarks.get(DEFAULT))


@click.group("eval", cls=BenchmarkGroup, invoke_without_command=True, no_args_is_help=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@_default_options
def eval_group(**params) -> None:
    """Measure answers: truthfulness, accuracy, abstention, retrieval, citations, latency, on gold Q&A and benchmarks.

    \b
    Gold Q&A:   rag eval --gold eval/gold/seeds.jsonl --corpus ../shared/corpus/seeds --out eval/runs/seeds
    RealTimeQA: rag eval realtimeqa --out eval/runs/realtimeqa
    Rejection:  rag eval rejection --out eval/runs/rejection
    RESULTS.md: rag eval results eval/runs/seeds eval/runs/realtimeqa --out eval/RESULTS.md

    Every question goes through the same path as `rag ask`. OUT gets results.json, report.md and PNG plots.
    The options below are the gold benchmark's (`rag eval gold --help`).
    """
    ctx = click.get_current_context()
    if ctx.invoked_subcommand is not None:
        if given := _misplaced(ctx):
            raise click.UsageError(f"{', '.join(given)} go after `{ctx.invoked_subcommand}`, not before it.")
        return
    run_benchmark(ctx, benchmarks.get(DEFAULT), params)


@eval_group.command("calibrate")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The calibration file to write (default: the model's own under the cache folder, which answers "
                   "by that model use from then on; rag/calibration.json is the one shipped for the default model).")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("eval/runs/calibration"), show_default=True,
              help="Folder for calibration.md and its plots.")
@click.option("--objective", type=click.Choice(["truthfulness", "precision"]), default="truthfulness",
              show_default=True, help="truthfulness: the threshold of the highest held-out truthfulness (right − "
                                      "wrong over all questions); precision: the most abstention recall whose "
                                      "abstention precision reaches --target (the former rule).")
@click.option("--target", type=click.FloatRange(0.5, 1.0), default=0.9, show_default=True,
              help="With --objective precision: the abstention precision to reach on held-out folds.")
@click.option("--keep-right", type=click.FloatRange(0.0, 1.0), default=0.9, show_default=True,
              help="With --objective truthfulness: the share of the right answers the threshold must keep "
                   "answered (held out); 0 lets it decline as many as truthfulness wants.")
@click.option("--folds-by", type=click.Choice(["week", "question", "example"]), default="week", show_default=True,
              help="What each held-out fold keeps together: week (a question from every run it is in, and every "
                   "RealTimeQA question of its week), question (only the same question), example (nothing).")
@click.option("--features", default=None, metavar="NAME,...",
              help="The signals to fit on, comma-separated (default: the retrieval scores, "
                   "rag.evaluation.calibrate.CALIBRATED_FEATURES; 'all' for every signal).")
def calibrate_command(run_dirs, out_path, report_dir, objective, target, keep_right, folds_by, features) -> None:
    """Fit the confidence model on finished runs (RUN_DIR...: their first configuration) and pick its threshold.

    Every answered question of the runs is an example (right or not); the threshold is chosen on five held-out
    folds, by default for the highest truthfulness over all the runs' questions that still keeps 90% of the right
    answers (--keep-right); a question asked in several runs
    (and, by default, every RealTimeQA question of one week) is held out as a whole (--folds-by). The file records
    the model (its GGUF's sha256, or the model server's model id) and the prompt templates the runs' answers came
    from, and is kept for that model: `rag ask` with the model uses it from then on.
    """
    from rag.answer.calibrations import path_for
    from rag.config import load_config
    from rag.evaluation.calibrate import calibrate, provenance, run_identity, signal_names
    from rag.evaluation.calibration_report import write_calibration_report
    from rag.evaluation.runs import load_results, prompt_digest
    from rag.evaluation.signal_effects import effects_report

    runs = [(Path(run_dir).name, load_results(run_dir)) for run_dir in run_dirs]
    records = [r for _, results in runs for r in results["configurations"][0]["records"]]
    names = ", ".join(name for name, _ in runs)
    model_name, prompts, doubts = provenance(runs, prompt_digest())
    identity = run_identity(runs)
    for doubt in doubts:
        click.secho(f"Warning: {doubt}.", fg="yellow", err=True)
    try:
        model, points = calibrate(records, names, target, objective=objective, model=identity.name or model_name,
                                  prompts=prompts, model_sha256=identity.sha256, folds_by=folds_by,
                                  keep_right=keep_right, features=signal_names(features))
    except ValueError as exc:
        raise click.UsageError(f"Cannot calibrate on {names}: {exc}.") from None
    out_path = out_path or path_for(load_config().cache_dir, identity)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(model.to_json(), encoding="utf-8")
    written = write_calibration_report(model, points, report_dir, effects_report(records, folds_by, keep_right))
    p = next(p for p in points if p["threshold"] == model.threshold)
    if model.threshold > max(point["threshold"] for point in points[:-1]):
        click.secho("Warning: this threshold withholds every answer (held out, declining them all is the most "
                    "truthful): with this file `rag ask` declines every question.", fg="yellow", err=True)

    def f(value: float | None) -> str:
        return "–" if value is None else f"{value:.3f}"

    click.echo(f"Threshold {model.threshold:.3f} (held out): truthfulness {f(p['truthfulness'])}, coverage "
               f"{f(p['coverage'])}, accuracy of the answered {f(p['accuracy'])}; abstention precision "
               f"{f(p['precision'])}, recall {f(p['recall'])}, right answers kept {f(p['answered_right'])}")
    click.echo(f"Wrote {out_path}, " + ", ".join(str(p) for p in written))


@eval_group.command("rejudge")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
def rejudge_command(run_dirs) -> None:
    """Judge finished runs' answers again with the current judge (RUN_DIR...: results.json and report.md rewritten).

    No question is asked again: each recorded answer (and each withheld one) is read as `rag eval` reads answers
    today, and the metrics are recomputed, so runs made before a change of the judge compare with new ones.
    """
    from datetime import datetime

    from rag.evaluation.rejudge import rejudge_results
    from rag.evaluation.runs import git_commit, load_results, write_results

    for run_dir in run_dirs:
        results = load_results(run_dir)
        before = [c["metrics"].get("truthfulness") for c in results["configurations"]]
        changed = rejudge_results(results)
        results["meta"]["rejudged"] = {"date": datetime.now().astimezone().isoformat(timespec="seconds"),
                                       "git_commit": git_commit(), "records_changed": changed}
        write_results(results, run_dir)
        after = [c["metrics"].get("truthfulness") for c in results["configurations"]]
        moves = ", ".join(f"{b:.3f} -> {a:.3f}" for b, a in zip(before, after) if a is not None and b is not None)
        click.echo(f"{run_dir}: {changed} record(s) judged differently" + (f"; truthfulness {moves}" if moves else ""))


@eval_group.command("results")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("eval/RESULTS.md"),
              show_default=True, help="Markdown file to write.")
@click.option("--notes", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A Markdown file of notes (what was tried, what fell short) placed after the summary.")
def results_command(run_dirs, out_path, notes) -> None:
    """Assemble RESULTS.md from the results.json of finished runs (RUN_DIR... in the order given)."""
    from rag.evaluation.report import render_results_md
    from rag.evaluation.risk_coverage import write_risk_coverage_plot
    from rag.evaluation.runs import load_results

    runs = [(Path(d).name if Path(d).is_dir() else Path(d).parent.name, load_results(d)) for d in run_dirs]
    command = "rag eval results " + " ".join(str(d) for d in run_dirs) + f" --out {out_path}" + \
        (f" --notes {notes}" if notes else "")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    text = notes.read_text(encoding="utf-8").strip() if notes else ""
    plot = out_path.with_name(out_path.stem.lower() + "_risk_coverage.png")
    drawn = write_risk_coverage_plot(runs, plot)
    out_path.write_text(render_results_md(runs, command, text, plot.name if drawn else None), encoding="utf-8")
    click.echo(f"Wrote {out_path}" + (f" and {plot}" if drawn else "") + f" from {len(runs)} run(s).")


if __name__ == "__main__":  # pragma: no cover
    eval_group(sys.argv[1:])
