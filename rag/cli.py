"""The `rag` command line: the only layer that prints or exits."""

from __future__ import annotations

import logging
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rag.store.base import StoreStats

from rag.cli_ingest import ingesting, print_report, say_waiting
from rag.cli_types import DATE, INDEX_OPTION, K_RANGE, SYNC_EVERY, RagGroup, _config, check_date_order
from rag.config import Config
from rag.errors import ConfigError, RagError
from rag.terminal import json_line, printable

# What the checked line says when the answer just streamed is withheld (low confidence, or it restates the question).
WITHHELD = "withheld, not sure enough that the articles support this answer; the quotes above are what they say."
MODEL_ID_OPTION = click.option("--model-id", help="With --model http://...: which of the server's models (default: "
                                                  "the only one it serves; or RAG_MODEL_ID).")


@click.group(cls=RagGroup)
@click.version_option(package_name="rag-news")
def main() -> None:
    """Ask questions of a folder of news articles, answered by a local model with cited passages."""


def _inputs(paths) -> list[str | Path]:
    """Files and folders as paths; feed and page URLs as they are (a Path would fold their "//")."""
    from rag.ingest.fetch import is_web

    return [p if is_web(p) else Path(p).expanduser() for p in paths]


@main.command()
@click.argument("paths", nargs=-1, required=True)
@INDEX_OPTION
@click.option("--chunk-tokens", type=click.IntRange(16, 2048), help="Tokens per chunk (default 128).")
@click.option("--overlap", type=click.IntRange(min=0), help="Tokens shared by consecutive chunks (default 24).")
@click.option("--embedder", help="Embedder name or sentence-transformers folder.")
@click.option("--prune", is_flag=True, help="Remove documents whose files are gone.")
@click.option("--wait", is_flag=True, help="If another ingest is writing to the index, wait for it instead of failing.")
@click.option("--ray", "ray_address", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
              help="Run the ingest on a Ray cluster (its address, or RAY_ADDRESS; none: a local Ray on this machine's "
                   "cores) into a postgresql:// index. Put it after the paths, or write --ray=ADDRESS.")
@click.option("--workers", "ray_workers", type=click.IntRange(min=1),
              help="With --ray: embedding workers, each holding the model once (default: one per CPU of the cluster).")
@click.option("--gpus-per-worker", "ray_gpus_per_worker", type=click.FloatRange(min=0, min_open=True),
              help="With --ray: GPUs each embedding worker takes (e.g. 1, or 0.5 to share one); it embeds on cuda.")
def ingest(paths, index_dir, chunk_tokens, overlap, embedder, prune, wait, ray_address, ray_workers,
           ray_gpus_per_worker) -> None:
    """Add or update the articles under PATHS (files, folders, RSS/Atom feed URLs, article page URLs) in the index."""
    from rag.models.factories import make_embedder

    if (ray_workers is not None or ray_gpus_per_worker is not None) and ray_address is None:
        raise click.UsageError("--workers and --gpus-per-worker set the Ray ingest's embedding workers: give them "
                               "with --ray.")
    config = _config(index_dir=index_dir, chunk_tokens=chunk_tokens, overlap=overlap, embedder=embedder,
                     ray_address=ray_address or None, ray_workers=ray_workers,
                     ray_gpus_per_worker=ray_gpus_per_worker)
    if config.ray_gpus_per_worker and config.embedder_device == "cpu":
        config = replace(config, embedder_device="cuda")  # a worker given a GPU embeds on it
    on_wait = say_waiting if wait else None
    if ray_address is not None:
        from functools import partial

        from rag.ingest.ray_pipeline import ray_ingest

        report = ingesting(lambda on_doc, total: ray_ingest(
            _inputs(paths), config, partial(make_embedder, config), prune=prune, on_doc=on_doc, total=total,
            on_wait=on_wait), unit="article")
    else:
        from rag.ingest.pipeline import ingest as run_ingest

        report = ingesting(lambda on_file, total: run_ingest(
            _inputs(paths), config, make_embedder(config), prune=prune, on_file=on_file, total=total,
            on_wait=on_wait))
    print_report(report, config)


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
        click.echo(printable(f"  [{p.n}] {p.title} — {p.outlet or 'unknown outlet'}, {p.date or 'date unknown'} "
                             f"({p.source})"))
        for quote in quotes.get(p.n, []):
            click.secho(printable(f"      “{quote}”"), dim=True)


@main.command()
@click.argument("question")
@INDEX_OPTION
@click.option("-k", "k", type=K_RANGE, help="Articles the evidence may come from (default 4).")
@click.option("--model", help="LLM: qwen2.5-coder-1.5b (default), qwen2.5-coder-0.5b, smollm2-135m, a .gguf path, "
                              "or an OpenAI-compatible model server's URL (http://HOST:PORT/v1).")
@MODEL_ID_OPTION
@click.option("--embedder", help="Embedder name or sentence-transformers folder.")
@click.option("--outlet", help="Only passages from this outlet.")
@click.option("--since", type=DATE, help="Only articles published on or after this date (YYYY-MM-DD).")
@click.option("--until", type=DATE, help="Only articles published on or before this date (YYYY-MM-DD).")
@click.option("--asked-on", type=DATE, help="The day the question is asked (YYYY-MM-DD, default today): articles "
                                            "dated later are not used, and \"this week\" means the week before it.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.option("--no-stream", is_flag=True, help="Print the answer when it is complete.")
@click.option("--local", is_flag=True, help="Answer in this process even when `rag serve` is running (or RAG_SERVER "
                                            "is set).")
def ask(question, index_dir, k, model, model_id, embedder, outlet, since, until, asked_on, as_json, no_stream,
        local) -> None:
    """Answer QUESTION from the indexed articles, citing passages like [1].

    A running `rag serve` over the same index and model answers it (no model to load); --local answers here."""
    from rag.answer.retrieve import Filters
    from rag.server.client import answer_events
    from rag.types import Done, Quoted, Token

    if not question.strip():
        raise click.UsageError("QUESTION is empty.")
    check_date_order(since, until)
    config = _config(index_dir=index_dir, k=k, model=model, model_id=model_id, embedder=embedder)
    stream = not (as_json or no_stream)
    logging.getLogger("rag.answer.calibrations").setLevel(logging.ERROR)  # the footer says it, after the answer
    answer = revised = None
    for event in answer_events(config, question, Filters(outlet, since, until), asked_on, local):
        if isinstance(event, Quoted) and stream:
            # The article's own words, as soon as the model has copied them: something to read at once.
            click.secho(printable(f"[{event.n}] “{event.sentence}”"), dim=True)
        elif isinstance(event, Token) and stream:
            click.echo(printable(event.text), nl=False)
        elif isinstance(event, Done):
            answer, revised = event.answer, event.revised
    if as_json:
        click.echo(json_line(answer.to_json()))
        return
    if stream:
        click.echo()
        if revised:
            # Checking changed what was streamed: an unsupported answer withheld, or sources named. A withheld
            # answer is not "the articles do not hold it": the reader has just seen it, and the quotes above it.
            checked = WITHHELD if answer.refused else answer.text
            click.secho(f"Checked: {printable(checked)}", bold=True)
    else:
        click.echo(printable(answer.text))
    _print_sources(answer)
    t = answer.timings
    confidence = "" if answer.confidence is None else f" · confidence {answer.confidence:.2f}" + (
        "" if answer.calibrated else " (uncalibrated for this model: `rag eval calibrate` fits one)")
    if answer.assembled and not answer.abstained and answer.confidence is not None:  # it weighed nothing
        confidence = f" · put together from the articles' sentences (retrieval confidence {answer.confidence:.2f})"
    click.secho(f"\n{t.total_ms / 1000:.1f} s · {t.prompt_tokens} prompt + {t.completion_tokens} answer tokens · "
                f"{printable(answer.model)}{confidence}", dim=True, err=True)


@main.command()
@INDEX_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--check", is_flag=True, help="Verify every file (or the database) in full; exit 1 on damage.")
def info(index_dir, as_json, check) -> None:
    """Describe the index: documents, chunks, outlets, dates, models, size."""
    from rag.store import open_store

    config = _config(index_dir=index_dir)
    index = open_store(config.index_dir, verify="full" if check else "open", cache_dir=config.cache_dir)
    stats = index.stats()
    checked = index.check(full=True) if check else []
    if as_json:
        click.echo(json_line({**asdict(stats), "model": config.model, **({"checked": checked} if check else {})}))
        return
    for line in _stats_lines(stats, config.model, checked):
        click.echo(printable(line))  # outlet names and the like come from the articles


def _stats_lines(stats: StoreStats, model: str, checked: list[str]) -> list[str]:
    first, last = stats.date_range
    return [
        f"Index       {stats.index} ({stats.generation}, built {stats.built})",
        f"Documents   {stats.documents}  ({stats.undated_documents} without a date)",
        f"Chunks      {stats.chunks}  ({stats.chunk_tokens} tokens, overlap {stats.overlap})",
        f"Dates       {first or '-'} to {last or '-'}",
        "Outlets     " + ", ".join(f"{name} ({n})" for name, n in stats.outlets.items()),
        f"Embedder    {stats.embedder} ({stats.dim} dimensions)",
        f"Model       {model} (for answers; change with --model or RAG_MODEL)",
        f"Size        {stats.size_bytes / 1e6:.2f} MB on disk ({stats.backend})",
        *(f"Checked     {line}" for line in checked),
    ]


@main.command()
@click.option("--probe", "probe_model", is_flag=False, flag_value="", default=None, metavar="[MODEL]",
              help="Read a prompt with MODEL (default: the configured one) in a child process now; "
                   "exit 1 if it crashes.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def doctor(probe_model, as_json) -> None:
    """Show the CPU, the llama.cpp build (its flags and features) and whether it runs here."""
    from rag.models.doctor import llama_report, probe_now, report_lines
    from rag.models.llama_probe import crash_message

    config = _config(model=probe_model or None)
    probed = probe_now(config) if probe_model is not None else None
    report = llama_report(config.cache_dir, config.llama_repack)
    if as_json:
        extra = {"probe": {"model": str(probed[0]), **asdict(probed[1])}} if probed else {}
        click.echo(json_line({**asdict(report), "probes": [{"model": m, **asdict(r)} for m, r in report.probes],
                              **extra}))
    else:
        for line in report_lines(report):
            click.echo(printable(line))
    if probed:
        path, result = probed
        if not result.ok:
            raise RagError(crash_message(result.signal, path) if result.signal
                           else f"The probe failed: {result.detail}")
        click.echo(f"Probe of {printable(path.name)} just now: a prompt was read without crashing ({result.detail}).",
                   err=as_json)


def _logins(ctx, param, values) -> list[tuple[str, str]]:
    """USER:PASSWORD values as (user, password) pairs for Gradio's login page."""
    logins = []
    for value in values:
        user, _, password = value.partition(":")
        if not user or not password:
            raise click.BadParameter("use USER:PASSWORD, both non-empty.", ctx, param)
        logins.append((user, password))
    return logins


@main.command()
@INDEX_OPTION
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; keep localhost to stay private.")
@click.option("--port", default=7860, show_default=True, type=int)
@click.option("--model", help="LLM to start with (the registry's LLMs can be switched in the UI), or a model server's "
                              "http://HOST:PORT/v1.")
@MODEL_ID_OPTION
@click.option("--share", is_flag=True, help="Also open a public Gradio share link (off by default: private).")
@click.option("--auth", "logins", multiple=True, envvar="RAG_UI_AUTH", metavar="USER:PASSWORD", callback=_logins,
              help="Ask for this login before the chat opens (repeat for more people; or RAG_UI_AUTH, several "
                   "separated by spaces).")
@click.option("--allow-uploads/--no-uploads", "allow_uploads", default=None,
              help="Show \"Add articles\" so that people in the chat can add files to the index (off by default; "
                   "setting ui_allow_uploads).")
@click.option("--queue-size", type=click.IntRange(min=1),
              help="Questions that may wait for the model; more are refused (default 10; setting ui_queue_size).")
@SYNC_EVERY
def ui(index_dir, host, port, model, model_id, share, logins, allow_uploads, queue_size, sync_every) -> None:
    """Start the browser chat over the index."""
    from ui.app import launch

    config = _config(index_dir=index_dir, model=model, model_id=model_id, ui_allow_uploads=allow_uploads,
                     ui_queue_size=queue_size, sync_every=sync_every)
    _check_sync(config)
    if host not in ("127.0.0.1", "localhost", "::1"):
        risk = ("the login travels as plain HTTP, so use it only on a network you trust" if logins
                else "anyone who can reach this address can read the index and ask")
        click.secho(f"Warning: serving on {host}: {risk}.", fg="yellow", err=True)
    launch(config, host=host, port=port, share=share, auth=list(logins) or None, on_sync=_said_sync)


@main.command()
@INDEX_OPTION
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; any other than localhost needs --api-key.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--model", help="LLM that answers (loaded once for every client), or a model server's "
                              "http://HOST:PORT/v1.")
@MODEL_ID_OPTION
@click.option("--api-key", envvar="RAG_API_KEY", metavar="KEY",
              help="Require `Authorization: Bearer KEY` on /v1 (or RAG_API_KEY, which stays out of `ps`).")
@click.option("--queue-size", type=click.IntRange(min=0),
              help="API requests that may wait for the model; more get 429 (default 10; setting serve_queue_size).")
@click.option("--timeout", type=click.FloatRange(min=1),
              help="Seconds a chat request may take, waiting included (default 300; setting serve_timeout).")
@click.option("--chat/--no-chat", default=True, show_default=True, help="Also serve the browser chat at /.")
@click.option("--auth", "logins", multiple=True, envvar="RAG_UI_AUTH", metavar="USER:PASSWORD", callback=_logins,
              help="A login for the chat page (repeat for more; or RAG_UI_AUTH); required for the chat off localhost.")
@SYNC_EVERY
def serve(index_dir, host, port, model, model_id, api_key, queue_size, timeout, chat, logins, sync_every) -> None:
    """Serve an OpenAI-compatible API (/v1/chat/completions, /v1/search) and the chat, with one loaded model."""
    from rag.server.auth import check_exposure
    from rag.server.run import chat_allowed
    from rag.server.run import serve as run_server

    config = _config(index_dir=index_dir, model=model, model_id=model_id, serve_queue_size=queue_size,
                     serve_timeout=timeout, sync_every=sync_every)
    _check_sync(config)
    try:
        check_exposure(host, api_key)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if chat and not chat_allowed(host, logins):
        click.secho(f"The chat page is off on {host}: it cannot check API keys. Give it logins with --auth "
                    "USER:PASSWORD to serve it too.", fg="yellow", err=True)

    def ready(url: str, with_chat: bool) -> None:
        click.echo(f"rag-news API on {url}/v1 (model rag-news){' · chat on ' + url + '/' if with_chat else ''}"
                   f" · answers with {printable(config.model)} · Ctrl-C stops", err=True)

    run_server(config, host, port, api_key or None, chat=chat, chat_auth=list(logins) or None, on_ready=ready,
               on_sync=_said_sync)


def _check_sync(config: Config) -> None:
    if config.sync_every and not config.sources:
        raise click.UsageError("--sync-every needs sources to sync: list them in rag.toml, e.g. sources = "
                               "[\"~/news/\", \"https://example.org/rss\"] (or RAG_SOURCES).")


def _said_sync(result) -> None:
    """A background sync's lines, on the server's terminal."""
    if result.error:
        click.secho(f"sync failed: {printable(result.error)}", fg="yellow", err=True)
        return
    for line in result.lines:
        click.echo(f"sync: {printable(line)}", err=True)
    for source, reason in result.skipped:
        click.secho(f"sync: skipped {printable(source)}: {printable(reason)}", fg="yellow", err=True)
    click.echo(f"sync: {printable(result.summary)}", err=True)


def _register_eval() -> None:
    # Kept in its own module: the evaluation commands are many and import nothing heavy at start.
    from rag.evaluation.cli import eval_group

    main.add_command(eval_group, "eval")


def _register_db() -> None:
    from rag.store.cli import db_group

    main.add_command(db_group, "db")


def _register_news() -> None:
    from rag.cli_news import sync, timeline

    main.add_command(sync)
    main.add_command(timeline)


def _register_mcp() -> None:
    from rag.mcp.cli import mcp_command  # click only at import: the MCP SDK loads when the command runs

    main.add_command(mcp_command, "mcp")


_register_eval()
_register_db()
_register_news()
_register_mcp()

if __name__ == "__main__":
    main()
