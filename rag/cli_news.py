"""`rag sync` and `rag timeline`: keeping the index fresh from its sources, and a story's events in date order."""

from __future__ import annotations

import click

from rag.cli_ingest import ingesting, print_report, say_waiting
from rag.cli_types import DATE, INDEX_OPTION, _config, check_date_order
from rag.terminal import json_line, printable


@click.command()
@INDEX_OPTION
@click.option("--embedder", help="Embedder name or sentence-transformers folder.")
@click.option("--prune", is_flag=True, help="Remove documents whose files are gone (web articles stay).")
@click.option("--wait", is_flag=True, help="If another ingest is writing to the index, wait for it instead of failing.")
def sync(index_dir, embedder, prune, wait) -> None:
    """Ingest every source of the `sources` setting (rag.toml): new and changed articles only, a line per source."""
    from rag.ingest.pipeline import ingest
    from rag.models.factories import make_embedder
    from rag.sync import source_inputs

    config = _config(index_dir=index_dir, embedder=embedder)
    inputs = source_inputs(config)
    report = ingesting(lambda on_file, total: ingest(inputs, config, make_embedder(config), prune=prune,
                                                     on_file=on_file, total=total,
                                                     on_wait=say_waiting if wait else None))
    for source, tally in report.sources.items():
        click.echo(printable(f"{source}: {tally.summary()}"))
    print_report(report, config)


@click.command()
@click.argument("query")
@INDEX_OPTION
@click.option("--since", type=DATE, help="Only articles published on or after this date (YYYY-MM-DD).")
@click.option("--until", type=DATE, help="Only articles published on or before this date (YYYY-MM-DD).")
@click.option("--outlet", help="Only articles from this outlet.")
@click.option("--articles", "max_articles", type=click.IntRange(1, 50), default=30, show_default=True,
              help="Articles of the story to read at most.")
@click.option("--embedder", help="Embedder name or sentence-transformers folder.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def timeline(query, index_dir, since, until, outlet, max_articles, embedder, as_json) -> None:
    """The events of the story QUERY in date order, each with its outlets and sources (no model call)."""
    from rag.answer.retrieve import Filters
    from rag.timeline.build import timeline as make_timeline

    if not query.strip():
        raise click.UsageError("QUERY is empty.")
    check_date_order(since, until)
    config = _config(index_dir=index_dir, embedder=embedder)
    result = make_timeline(config, query, Filters(outlet, since, until), max_articles)
    if as_json:
        click.echo(json_line(result.to_json()))
        return
    if not result.events:
        click.echo("No articles about this story were found.")
        return
    for line in timeline_lines(result):
        click.echo(printable(line))


def timeline_lines(result) -> list[str]:
    """One line per event (date, what happened, outlets with their [n]), then the numbered sources."""
    lines = []
    for event in result.events:
        when = f"after {event.date}" if event.date_estimated else (event.date or "undated")
        outlets: dict[str, list[str]] = {}
        for source in event.sources:
            outlets.setdefault(source.outlet or "unknown outlet", []).append(f"[{source.n}]")
        who = ", ".join(f"{name} {''.join(ns)}" for name, ns in outlets.items())
        lines.append(f"{when:<16} {event.summary} — {who}")
    lines.append("")
    lines.append("Sources:")
    for event in result.events:
        for s in event.sources:
            lines.append(f"  [{s.n}] {s.title} — {s.outlet or 'unknown outlet'}, {s.date or 'date unknown'} "
                         f"({s.source})")
    return lines


