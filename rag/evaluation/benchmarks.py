"""The benchmarks of `rag eval`: what one is, and the registry its command and its report section come from.

A benchmark is a `Benchmark` value in a module of its own (bench_gold.py, bench_realtimeqa.py,
bench_rejection.py); `rag eval NAME` (commands.py) and the report (report.py) find it here by name. Standard
library only at module level: `rag eval --help` lists the benchmarks without loading any model or numpy.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

# The built-in benchmarks: rag/evaluation/bench_<name>.py, each defining BENCHMARK. A new benchmark is a new
# module and its name here; tests and plug-ins call register() instead.
BUILT_IN = ("gold", "realtimeqa", "rejection", "crossed")
RESERVED = ("calibrate", "results")  # the other `rag eval` commands

_COMPARE = {">=": lambda v, t: v >= t, "<": lambda v, t: v < t, "<=": lambda v, t: v <= t,
            "==": lambda v, t: v == t}


@dataclass(frozen=True)
class Target:
    """A goal a configuration's metrics are checked against in the report ("met" or "missed")."""

    label: str
    metric: Callable[[dict], Any]  # the value from a configuration's metrics (None: not measured)
    op: str  # ">=", "<", "<=" or "=="
    threshold: float
    unit: str = "rate"  # how the value is shown: "rate", "seconds" or "count"

    def met(self, metrics: dict) -> bool | None:
        value = self.metric(metrics)
        return None if value is None else _COMPARE[self.op](value, self.threshold)


@dataclass(frozen=True)
class Request:
    """What a benchmark's `load` gets: its own options (by parameter name), --out, --limit, a progress log."""

    options: Mapping[str, Any]
    out_dir: Path
    limit: int | None = None
    log: Callable[[str], None] = lambda message: None  # the CLI's writes above its progress bars


@dataclass(frozen=True)
class Plan:
    """What a run asks (rag.evaluation.gold.EvalQuestion), and over which index: one built from `corpus`
    under index_root (default --out) as index-ct<N>-ov<M>[-<index_suffix>], or else the existing `index`.

    With `parts`, the run asks each part's questions over that part's own corpus or index (their fields as
    above), under every configuration, and files all the answers together; this Plan's `questions` are then all
    of them (for counting) and its corpus fields are not used (see parts.py)."""

    questions: list
    corpus: tuple[Path, ...] = ()  # files and folders to index; empty: ask over `index`
    index: str | None = None  # an existing index; None: the configured one ($RAG_INDEX, rag.toml)
    index_root: Path | None = None
    index_suffix: str = ""  # e.g. a fingerprint of the corpus, so another corpus never updates this index
    reuse_index: bool = False  # an index an earlier run built there is used without checking the corpus again
    meta: Mapping[str, Any] = field(default_factory=dict)  # for the report's header (keys: see report.py)
    parts: tuple[Plan, ...] = ()  # several corpora in one run (e.g. `rag eval crossed`)


def _keep(_ctx: Any, options: dict[str, Any]) -> dict[str, Any]:
    return options


def _builds(_options: Mapping[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class Benchmark:
    """One `rag eval NAME`: its options, how it gets its questions and index, how it is judged and reported.

    `options` are click.option decorators of its own (--model, -k, --sweep, --limit, --out and --progress are
    added to every benchmark). `check(ctx, options)` raises click.UsageError for options that do not go together,
    before anything is loaded, and returns the options as the run uses them. `load(request)` reads the questions
    and writes any corpus file (it may take a while). `builds_index(options)`: whether the run indexes a corpus
    (then chunk_tokens and overlap may be swept). `rescore(record)`, if given, returns a record with its verdicts
    changed (set "correct", and "refused_correct" for a withheld answer); the common judging (metrics.judge) is
    used otherwise. `section(results)` is the Markdown under `heading` in report.md and RESULTS.md.
    """

    name: str
    help: str
    load: Callable[[Request], Plan]
    targets: tuple[Target, ...]
    heading: str
    section: Callable[[dict], str | None]
    title: str = ""  # report.md's title (default: the name)
    options: tuple[Callable, ...] = ()
    check: Callable[[Any, dict[str, Any]], dict[str, Any]] = _keep
    builds_index: Callable[[Mapping[str, Any]], bool] = _builds
    rescore: Callable[[dict], dict] | None = None


def _built_in(name: str) -> Callable[[], Benchmark]:
    return lambda: importlib.import_module(f"rag.evaluation.bench_{name}").BENCHMARK


_BENCHMARKS: dict[str, Callable[[], Benchmark]] = {name: _built_in(name) for name in BUILT_IN}


def register(benchmark: Benchmark) -> None:
    """Add a benchmark (or replace one of that name): it gets `rag eval NAME` and its report section."""
    if benchmark.name in RESERVED or not re.fullmatch(r"[a-z][a-z0-9_-]*", benchmark.name):
        raise ValueError(f"{benchmark.name!r} cannot name a benchmark: lowercase letters, digits, - and _, not "
                         f"{' or '.join(RESERVED)}")
    _BENCHMARKS[benchmark.name] = lambda: benchmark


def unregister(name: str) -> None:
    _BENCHMARKS.pop(name, None)
    if name in BUILT_IN:
        _BENCHMARKS[name] = _built_in(name)  # a built-in that was replaced comes back


def names() -> list[str]:
    return list(_BENCHMARKS)


def get(name: str) -> Benchmark | None:
    """The benchmark of that name, or None (e.g. a run of a benchmark no longer registered)."""
    make = _BENCHMARKS.get(name)
    return make() if make else None
