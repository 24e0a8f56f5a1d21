"""`rag db start|stop`: a private PostgreSQL server for the postgresql:// store, run by the project itself."""

from __future__ import annotations

from pathlib import Path

import click

DIR_OPTION = click.option("--dir", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                          help="Folder for the server's data (default: ~/.local/share/rag-news/postgres).")


@click.group()
def db_group() -> None:
    """A local PostgreSQL server (pgvector included) to hold the index: rag db start, then --index URL."""


@db_group.command()
@DIR_OPTION
def start(data_dir: Path | None) -> None:
    """Start the server (created on first use) and print the postgresql:// URL to give as --index."""
    from rag.store.pgserver import default_dir, start_server

    data_dir = data_dir or default_dir()
    url = start_server(data_dir)
    click.echo(f"PostgreSQL is running (data in {data_dir}). Use it with:", err=True)
    click.echo(f"  rag ingest PATH --index '{url}'", err=True)
    click.echo(url)


@db_group.command()
@DIR_OPTION
def stop(data_dir: Path | None) -> None:
    """Stop the server started by `rag db start`."""
    from rag.store.pgserver import default_dir, stop_server

    data_dir = data_dir or default_dir()
    click.echo("Stopped." if stop_server(data_dir) else f"No server was running in {data_dir}.")
