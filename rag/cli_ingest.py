"""An ingest on the terminal: its progress bar, a clean stop on Ctrl-C or SIGTERM, and its report."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import Iterator

import click

from rag.config import Config
from rag.errors import RagError
from rag.terminal import printable


def _fail(exc: RagError) -> None:
    click.secho(f"Error: {printable(exc)}", fg="red", err=True)
    sys.exit(1)


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: raised from the signal handler so that `finally` and cleanup code run."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into Interrupted while the block runs; a second signal waits for the cleanup."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (CLI tests may run elsewhere)
        return

    def handler(signum, frame):
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def say_waiting() -> None:
    click.echo("Another ingest is writing to the index; waiting for it to finish…", err=True)


def ingesting(run, unit: str = "file"):
    """run(on_item, total) with a progress bar counting `unit`s, Ctrl-C and SIGTERM turned into a clean stop (exit
    130 / 143)."""
    from tqdm import tqdm

    bar = tqdm(unit=unit, desc="Ingesting", disable=None, file=sys.stderr)
    try:
        with _signals_raise():
            return run(lambda _: bar.update(1), lambda n: setattr(bar, "total", n))
    except Interrupted as exc:
        bar.close()
        click.secho(f"Interrupted by {exc}: the staging folder was removed; the index keeps its last complete "
                    "version.", fg="yellow", err=True)
        sys.exit(128 + exc.signum)
    finally:
        bar.close()


def print_report(report, config: Config) -> None:
    """The skipped inputs with their reasons, the duplicates, the summary line; exit 1 if nothing went in."""
    from rag.store.factory import display_location

    for source, reason in report.failed:
        click.secho(f"skipped {printable(source)}: {printable(reason)}", fg="yellow", err=True)
    for source, first in report.duplicates:
        click.secho(f"duplicate {printable(source)}: the same article as {printable(first)}", dim=True, err=True)
    click.echo(f"{report.summary()} -> {printable(display_location(config.index_dir))}")
    if report.nothing_ingested:
        _fail(RagError("Nothing could be ingested; see the reasons above."))
