"""`rag eval NAME` from a Benchmark: the options every benchmark shares, and one run from options to report.md.

Imported by `rag --help` (through cli.py), so only click and the standard library at module level; the
evaluation package, the models, numpy and matplotlib load inside the run.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import click

from rag.cli_types import DATE, K_RANGE
from rag.evaluation.benchmarks import Benchmark, Plan, Request

SHARED = (  # every benchmark's, after its own options
    click.option("--model", help="LLM: qwen2.5-coder-1.5b (default), qwen2.5-coder-0.5b, smollm2-135m, or a .gguf "
                                 "path."),
    click.option("-k", "k", type=K_RANGE, help="Articles the evidence may come from (default 4)."),
    click.option("--sweep", "sweeps", multiple=True, metavar="KEY=V1,V2",
                 help="Run every value (several --sweep: every combination). Keys: k, candidates, "
                      "evidence_tokens, max_sentences, fetch_k, rrf_k, recent_days, dense_weight, bm25_weight, "
                      "max_answer_tokens, temperature, calibration, model, chunk_tokens, overlap (the last two "
                      "need a corpus)."),
    click.option("--limit", type=click.IntRange(min=1), help="Only the first N questions."),
    click.option("--asked-on", type=DATE,
                 help="The day questions without a date of their own are asked (YYYY-MM-DD; default today). The "
                      "day is in the prompt and the model's answers move with it: give the day of the run to "
                      "compare with (each record keeps the day it was asked)."),
    click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                 help="Folder for results.json, report.md, the plots (and indexes built from a corpus)."),
    click.option("--progress/--no-progress", default=None,
                 help="Progress bars on stderr (default: when stderr is a terminal)."),
)
SHARED_NAMES = ("model", "k", "sweeps", "limit", "asked_on", "out_dir", "progress")


def log(message: str) -> None:
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


def with_options(func, benchmark: Benchmark):
    """`func` with the benchmark's own options, then the shared ones."""
    for option in reversed((*benchmark.options, *SHARED)):
        func = option(func)
    return func


def make_command(benchmark: Benchmark) -> click.Command:
    """`rag eval NAME` for a benchmark."""

    def command(**params: Any) -> None:
        run_benchmark(click.get_current_context(), benchmark, params)

    return click.command(benchmark.name, help=benchmark.help)(with_options(command, benchmark))


def _configurations(sweeps: tuple[str, ...], allow_index_keys: bool) -> list[dict]:
    from rag.evaluation.sweeps import SweepError, configurations

    try:
        configs = configurations(sweeps, allow_index_keys=allow_index_keys)
    except SweepError as exc:
        raise click.BadParameter(str(exc), param_hint="--sweep") from None
    _check_ranges(configs)
    check_models([c["model"] for c in configs if "model" in c])
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


def check_models(names: list[str]) -> None:
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


def run_benchmark(ctx: click.Context, benchmark: Benchmark, params: dict[str, Any]) -> None:
    """Check the options, load the questions, build the indexes, ask, and write the run folder."""
    shared = {name: params.pop(name) for name in SHARED_NAMES}
    options = benchmark.check(ctx, params)
    out_dir = shared["out_dir"]
    if out_dir is None:
        raise click.UsageError("Give --out DIR for the results.")
    configs = _configurations(shared["sweeps"], allow_index_keys=benchmark.builds_index(options))
    if shared["model"]:
        check_models([shared["model"]])

    from rag.evaluation.builds import AssistantFactory
    from rag.evaluation.runs import make_meta, prompt_digest

    plan = dated(benchmark.load(Request(options, out_dir, shared["limit"], log)),
                 shared["asked_on"] or date.today().isoformat())
    base = _base_config(shared["model"], shared["k"], plan.index)
    if plan.parts:  # several corpora, each part over its own index (parts.py)
        results, indexes = _run_parts(plan, configs, shared, out_dir, benchmark.rescore)
    else:
        factory = AssistantFactory(base, out_dir=plan.index_root or out_dir, corpus=list(plan.corpus) or None,
                                   index_suffix=plan.index_suffix, log=log, skip_ingest_if_built=plan.reuse_index)
        results = _run(plan.questions, configs, factory, shared["progress"], benchmark.rescore)
        indexes = factory.built_indexes()
    results["meta"] = make_meta(benchmark.name, **plan.meta,
                                index=", ".join(indexes) or base.index_dir,
                                prompts=prompt_digest(base.prompts_dir))
    _finish(results, out_dir)


def dated(plan: Plan, asked_on: str) -> Plan:
    """The plan with every question that gives no day of its own asked on `asked_on`: one day for the whole run,
    kept in each record, so that a run can be repeated (a gold file's questions are asked "today" otherwise)."""
    questions = [q if q.asked_on else replace(q, asked_on=asked_on) for q in plan.questions]
    return replace(plan, questions=questions, parts=tuple(dated(part, asked_on) for part in plan.parts))


def _run(questions: list, configs: list[dict], factory, progress: bool | None, rescore) -> dict:
    """Build the indexes, then ask every question under every configuration, with progress bars."""
    from rag.evaluation.runner import run_eval

    bars = _Bars(progress)
    bars.total_questions = len(questions) * len(configs)
    factory.on_file = bars.on_file
    try:
        factory.prepare(configs)
        return run_eval(questions, None, configs, make_assistant=factory, on_question=bars.on_question, log=log,
                        rescore=rescore)
    finally:
        bars.close()


def _run_parts(plan, configs: list[dict], shared: dict[str, Any], out_dir: Path, rescore) -> tuple[dict, list[str]]:
    """`_run` for a plan of several parts: each part's questions over its own index, filed together."""
    from rag.evaluation import parts

    made = parts.factories(plan.parts, lambda part: _base_config(shared["model"], shared["k"], part.index), out_dir,
                           log)
    bars = _Bars(shared["progress"])
    bars.total_questions = sum(len(part.questions) for part in plan.parts) * len(configs)

    def on_file(done: int, total: int) -> None:
        if bars.files is not None and done < bars.files.n:  # the next part's index: a bar of its own
            bars.files.close()
            bars.files = None
        bars.on_file(done, total)

    try:
        results = parts.run_parts(plan.parts, configs, made, on_file=on_file, on_question=bars.on_question,
                                  log=log, rescore=rescore)
    finally:
        bars.close()
    return results, parts.built_indexes(made)


def _finish(results: dict, out_dir: Path) -> None:
    from rag.evaluation.runner import summary_line
    from rag.evaluation.runs import write_results

    paths = write_results(results, out_dir)
    for entry in results["configurations"]:
        click.echo(summary_line(entry))
    click.echo("Wrote " + ", ".join(str(p) for p in paths))
