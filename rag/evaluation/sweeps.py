"""Sweep configurations for `rag eval --sweep KEY=V1,V2`: the settings Config marks as sweepable, and their product."""

from __future__ import annotations

import itertools
from typing import Any, Iterable

from rag.config import setting_types, sweep_scopes
from rag.errors import RagError


def _keys(*scopes: str) -> tuple[str, ...]:
    return tuple(name for name, scope in sweep_scopes().items() if scope in scopes)


# Ask settings only change how a question is asked (ask() overrides); a model needs its own generator and a
# chunking its own index.
ASK_KEYS = _keys("ask")
MODEL_KEYS = _keys("model")
INDEX_KEYS = _keys("index")
BUILD_KEYS = MODEL_KEYS + INDEX_KEYS
SWEEP_KEYS = BUILD_KEYS + ASK_KEYS


class SweepError(RagError):
    """A --sweep is not KEY=V1,V2,... over a known setting with values of the right type."""


def parse_sweep(spec: str) -> tuple[str, list[Any]]:
    """"k=2,4,8" -> ("k", [2, 4, 8]); keys may be written with dashes (chunk-tokens)."""
    key, equals, values = spec.partition("=")
    key = key.strip().replace("-", "_")
    if not equals or not key:
        raise SweepError(f"--sweep {spec!r}: write KEY=V1,V2,..., e.g. --sweep k=2,4,8")
    if key not in SWEEP_KEYS:
        raise SweepError(f"--sweep {spec!r}: cannot sweep {key!r}; choose from {', '.join(SWEEP_KEYS)}")
    target = setting_types()[key]
    parsed = []
    for raw in values.split(","):
        raw = raw.strip()
        if not raw:
            raise SweepError(f"--sweep {spec!r}: empty value; write KEY=V1,V2,...")
        try:
            value = target(raw)
        except ValueError:
            raise SweepError(f"--sweep {spec!r}: {raw!r} is not a valid {target.__name__} for {key}") from None
        if value not in parsed:
            parsed.append(value)
    return key, parsed


def configurations(specs: Iterable[str], allow_index_keys: bool = True) -> list[dict[str, Any]]:
    """The cartesian product of the --sweep specs, models and chunking outermost (so each loads once).

    No spec gives one configuration with no settings: [{}].
    """
    swept: dict[str, list[Any]] = {}
    for spec in specs:
        key, values = parse_sweep(spec)
        if key in swept:
            raise SweepError(f"--sweep {key} is given twice; list all its values in one: {key}=V1,V2,...")
        swept[key] = values
    blocked = [key for key in swept if key in INDEX_KEYS]
    if blocked and not allow_index_keys:
        raise SweepError(f"Sweeping {', '.join(blocked)} needs --corpus: each value builds its own index from the "
                         "corpus under OUT/index-<settings>, and an existing --index has only one chunking.")
    if "chunk_tokens" in swept or "overlap" in swept:
        for tokens in swept.get("chunk_tokens", [None]):
            for overlap in swept.get("overlap", [None]):
                if tokens is not None and overlap is not None and overlap >= tokens:
                    raise SweepError(f"--sweep: overlap {overlap} must be smaller than chunk_tokens {tokens}")
    keys = sorted(swept, key=SWEEP_KEYS.index)
    return [dict(zip(keys, values)) for values in itertools.product(*(swept[k] for k in keys))]


def config_name(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items()) or "default"


def split_settings(settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(build settings: model/chunking, ask overrides)."""
    unknown = [k for k in settings if k not in SWEEP_KEYS]
    if unknown:
        raise SweepError(f"Unknown setting(s) {', '.join(unknown)}; choose from {', '.join(SWEEP_KEYS)}")
    return ({k: v for k, v in settings.items() if k in BUILD_KEYS},
            {k: v for k, v in settings.items() if k in ASK_KEYS})
