"""The `rag` command line: the only layer that prints or exits."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from rag.config import Config, load_config
from rag.errors import RagError

INDEX_OPTION = click.option("--index", "index_dir", envvar="RAG_INDEX", default=None,
                            help="Index folder (default: index/, or $RAG_INDEX).")


def _config(**flags) -> Config:
    return load_config({k: v for k, v in flags.items() if v is not None})


def _fail(exc: RagError) -> None:
    click.secho(f"Error: {exc}", fg="red", err=True)
    sys.exit(1)


class RagGroup(click.Group):
    """Turns a RagError from any command into a one-line message and exit code 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except RagError as exc:
            _fail(exc)


@click.group(cls=RagGroup)
@click.version_option(package_name="rag-news")
def main() -> None:
    """Ask questions of a folder of news articles, answered by a local model with cited passages."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@INDEX_OPTION
@click.option("--chunk-tokens", type=int, help="Tokens per chunk (default 128).")
@click.option("--overlap", type=int, help="Tokens shared by consecutive chunks (default 24).")
@click.option("--embedder", help="Embedder name or sentence-transformers folder.")
@click.option("--prune", is_flag=True, help="Remove documents whose files are gone.")
def ingest(paths, index_dir, chunk_tokens, overlap, embedder, prune) -> None:
    """Add or update the articles under PATHS (files or folders) in the index."""
    from tqdm import tqdm

    from rag.factories import make_embedder
    from rag.ingest import ingest as run_ingest

    config = _config(index_dir=index_dir, chunk_tokens=chunk_tokens, overlap=overlap, embedder=embedder)
    bar = tqdm(unit="file", desc="Ingesting", disable=None, file=sys.stderr)
    try:
        report = run_ingest(list(paths), config, make_embedder(config), prune=prune,
                            on_file=lambda _: bar.update(1), total=lambda n: setattr(bar, "total", n))
    finally:
        bar.close()
    for source, reason in report.failed:
        click.secho(f"skipped {source}: {reason}", fg="yellow", err=True)
    click.echo(f"{report.summary()} -> {config.index_dir}")
    if report.nothing_ingested:
        _fail(RagError("Nothing could be ingested; see the reasons above."))


def _print_sources(answer) -> None:
    # An answer that cites nothing still shows what it was based on, so the reader can check it.
    label, shown = ("Sources", answer.citations) if answer.citations else ("Evidence looked at", answer.passages)
    if not shown:
        return
    quotes: dict[int, list[str]] = {}
    for item in answer.evidence:
        quotes.setdefault(item.n, []).append(item.quote)
    click.echo(f"\n{label}:")
    for p in shown:
        click.echo(f"  [{p.n}] {p.title} — {p.outlet or 'unknown outlet'}, {p.date or 'date unknown'} ({p.source})")
        for quote in quotes.get(p.n, []):
            click.secho(f"      “{quote}”", dim=True)


def _valid_date(name: str, value: str | None) -> str | None:
    from rag.dates import parse_date

    if value and not parse_date(value):
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD.", param_hint=f"--{name}")
    return parse_date(value) if value else None


@main.command()
@click.argument("question")
@INDEX_OPTION
@click.option("-k", "k", type=int, help="Articles the evidence may come from (default 4).")
@click.option("--model", help="LLM: qwen2.5-coder-1.5b (default), qwen2.5-coder-0.5b, smollm2-135m, or a .gguf path.")
@click.option("--embedder", help="Embedder name or sentence-transformers folder.")
@click.option("--outlet", help="Only passages from this outlet.")
@click.option("--since", help="Only articles published on or after this date (YYYY-MM-DD).")
@click.option("--until", help="Only articles published on or before this date (YYYY-MM-DD).")
@click.option("--asked-on", help="The day the question is asked (YYYY-MM-DD, default today): articles dated later are "
                                 "not used, and \"this week\" means the week before it.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.option("--no-stream", is_flag=True, help="Print the answer when it is complete.")
def ask(question, index_dir, k, model, embedder, outlet, since, until, asked_on, as_json, no_stream) -> None:
    """Answer QUESTION from the indexed articles, citing passages like [1]."""
    from rag.ask import Assistant
    from rag.retrieve import Filters
    from rag.types import Done, Token

    if not question.strip():
        raise click.UsageError("QUESTION is empty.")
    filters = Filters(outlet, _valid_date("since", since), _valid_date("until", until))
    config = _config(index_dir=index_dir, k=k, model=model, embedder=embedder)
    stream = not (as_json or no_stream)
    answer = revised = None
    for event in Assistant(config).stream(question, filters, _valid_date("asked-on", asked_on)):
        if isinstance(event, Token) and stream:
            click.echo(event.text, nl=False)
        elif isinstance(event, Done):
            answer, revised = event.answer, event.revised
    if as_json:
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False))
        return
    if stream:
        click.echo()
        if revised:
            # Checking changed what was streamed: an unsupported answer refused, or sources named.
            click.secho(f"Checked: {answer.text}", bold=True)
    else:
        click.echo(answer.text)
    _print_sources(answer)
    t = answer.timings
    confidence = "" if answer.confidence is None else f" · confidence {answer.confidence:.2f}"
    click.secho(f"\n{t.total_ms / 1000:.1f} s · {t.prompt_tokens} prompt + {t.completion_tokens} answer tokens · "
                f"{answer.model}{confidence}", dim=True, err=True)


@main.command()
@INDEX_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def info(index_dir, as_json) -> None:
    """Describe the index: documents, chunks, outlets, dates, models, size."""
    from rag.index import Index

    config = _config(index_dir=index_dir)
    index = Index.open(config.index_dir)
    stats = index.stats()
    stats["model"] = config.model
    if as_json:
        click.echo(json.dumps(stats, ensure_ascii=False))
        return
    click.echo(f"Index       {stats['index']} ({stats['generation']}, built {stats['built']})")
    click.echo(f"Documents   {stats['documents']}  ({stats['undated_documents']} without a date)")
    click.echo(f"Chunks      {stats['chunks']}  ({stats['chunk_tokens']} tokens, overlap {stats['overlap']})")
    first, last = stats["date_range"]
    click.echo(f"Dates       {first or '-'} to {last or '-'}")
    click.echo("Outlets     " + ", ".join(f"{name} ({n})" for name, n in stats["outlets"].items()))
    click.echo(f"Embedder    {stats['embedder']} ({stats['dim']} dimensions)")
    click.echo(f"Model       {stats['model']} (for answers; change with --model or RAG_MODEL)")
    click.echo(f"Size        {stats['size_bytes'] / 1e6:.2f} MB on disk")


@main.command()
@INDEX_OPTION
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; keep localhost to stay private.")
@click.option("--port", default=7860, show_default=True, type=int)
@click.option("--model", help="LLM to start with (the registry's LLMs can be switched in the UI).")
@click.option("--share", is_flag=True, help="Also open a public Gradio share link (off by default: private).")
def ui(index_dir, host, port, model, share) -> None:
    """Start the browser chat over the index."""
    from ui.app import launch

    launch(_config(index_dir=index_dir, model=model), host=host, port=port, share=share)


def _register_eval() -> None:
    # Kept in its own module: the evaluation commands are many and import nothing heavy at start.
    from rag.evaluation.cli import eval_group

    main.add_command(eval_group, "eval")


_register_eval()

if __name__ == "__main__":
    main()
