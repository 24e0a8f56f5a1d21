"""Click parameter types shared by `rag` and `rag eval`: a bad value is a usage error (exit 2) naming the option."""

from __future__ import annotations

import re
from pathlib import Path

import click

from rag.config import MAX_K, Config, load_config
from rag.errors import ConfigError

K_RANGE = click.IntRange(1, MAX_K)


class RagGroup(click.Group):
    """Turns a RagError from any command into a one-line message and exit code 1 (for `rag` and `rag eval`)."""

    def invoke(self, ctx):
        from rag.errors import RagError
        from rag.terminal import printable

        try:
            return super().invoke(ctx)
        except RagError as exc:
            click.secho(f"Error: {printable(exc)}", fg="red", err=True)
            ctx.exit(1)
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


class IndexLocation(click.ParamType):
    """An index folder (it may not exist yet) or a postgresql:// URL; an existing file is refused."""

    name = "folder or postgresql:// URL"

    def convert(self, value, param, ctx):
        text = str(value)
        if _URL.match(text):  # postgresql:// or another scheme the store factory knows (it names the known ones)
            return text
        path = Path(text).expanduser()
        if path.exists() and not path.is_dir():
            self.fail(f"{text} is a file, not an index folder: give the folder that holds the index (or a new "
                      "one to create), or a postgresql:// URL.", param, ctx)
        return str(path)


class DateParam(click.ParamType):
    """A date as the articles' metadata has them, returned as YYYY-MM-DD."""

    name = "date"

    def convert(self, value, param, ctx):
        from rag.ingest.metadata import parse_date  # lazy: `rag --help` stays fast

        parsed = parse_date(str(value))
        if not parsed:
            self.fail(f"{value!r} is not a date; use YYYY-MM-DD.", param, ctx)
        return parsed


INDEX_LOCATION = IndexLocation()
DATE = DateParam()


def check_date_order(since: str | None, until: str | None) -> None:
    """--since after --until would silently find nothing: say so instead."""
    if since and until and since > until:
        raise click.BadParameter(f"--since {since} is after --until {until}: nothing could match.",
                                 param_hint="'--since' / '--until'")


SYNC_EVERY = click.option("--sync-every", metavar="DURATION",
                          help="Also sync the `sources` of rag.toml in the background this often, e.g. 30m or 2h "
                               "(setting sync_every); answers are served meanwhile and see the new articles after.")


INDEX_OPTION = click.option("--index", "index_dir", envvar="RAG_INDEX", default=None, type=INDEX_LOCATION,
                            help="Index folder or postgresql:// URL (default: index/, or $RAG_INDEX).")


def _config(**flags) -> Config:
    """The settings with these flags on top; a flag that makes them invalid is a usage error (exit 2)."""
    given = {k: v for k, v in flags.items() if v is not None}
    try:
        return load_config(given)
    except ConfigError as exc:
        ctx = click.get_current_context()
        hints = [p.get_error_hint(ctx) for p in ctx.command.params if p.name in exc.settings and p.name in given]
        if hints:
            raise click.BadParameter(str(exc), ctx, param_hint=" / ".join(hints)) from None
        raise
