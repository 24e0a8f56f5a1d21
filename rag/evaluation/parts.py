"""A run over several corpora (a Plan with `parts`): each part's questions over its own index, one set of results.

Every index is built (or found) before the first question, as for a single corpus. Then, configuration by
configuration, each part's questions are asked over its index and the records are filed under the one
configuration, in the parts' order, with the metrics computed over all of them. The embedder and the model are
loaded once and shared by the parts; a part's index is open only while its questions are asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from rag.evaluation.builds import AssistantFactory


@dataclass
class _Models:
    """What the parts' factories share: the embedder, and the model now loaded."""

    embedder: Any = None
    generator: tuple[str, Any] | None = None


class PartFactory(AssistantFactory):
    """An AssistantFactory for one part: the embedder and model come from (and go back to) the shared `_Models`."""

    def __init__(self, models: _Models, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.models = models

    @property
    def embedder(self) -> Any:
        if self.models.embedder is None:
            from rag.models.factories import make_embedder

            self.models.embedder = make_embedder(self.base)
        return self.models.embedder

    def _generator_for(self, config: Any) -> Any:
        # Only this factory holds the model while it may be replaced, so a previous model is let go before the
        # next one loads.
        self._generator, self.models.generator = self.models.generator, None
        generator = super()._generator_for(config)
        self.models.generator = self._generator
        return generator

    def release(self) -> None:
        """Close this part's open indexes and let go of the model (the shared record keeps it)."""
        for index in self._indexes.values():
            close = getattr(index, "close", None)
            if close:
                close()
        self._indexes.clear()
        self._generator = None


def factories(parts: tuple[Any, ...], base_for: Callable[[Any], Any], out_dir: Path,
              log: Callable[[str], None] | None) -> list[PartFactory]:
    """A factory per part (base_for(part): its base Config), sharing one embedder and one model."""
    models = _Models()
    return [PartFactory(models, base_for(part), out_dir=part.index_root or out_dir, corpus=list(part.corpus) or None,
                        index_suffix=part.index_suffix, log=log, skip_ingest_if_built=part.reuse_index)
            for part in parts]


def merge(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """One configuration's entries from the parts as one entry: all the records, metrics over all of them."""
    from rag.evaluation.metrics import aggregate

    merged = dict(entries[0])
    merged["records"] = [record for entry in entries for record in entry["records"]]
    merged["metrics"] = aggregate(merged["records"])
    merged["setup_seconds"] = sum(entry.get("setup_seconds") or 0.0 for entry in entries)
    for key in ("model", "embedder"):
        merged[key] = next((entry[key] for entry in entries if entry.get(key)), merged.get(key))
    return merged


def run_parts(parts: tuple[Any, ...], configs: list[dict[str, Any]], made: list[PartFactory], *,
              on_file: Callable[[int, int], None] | None = None, on_question: Callable[[str], None] | None = None,
              log: Callable[[str], None] | None = None,
              rescore: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Build every part's indexes, then ask every part's questions under every configuration."""
    from rag.evaluation.runner import run_eval, summary_line

    asked = [(part, factory) for part, factory in zip(parts, made) if part.questions]
    for _, factory in asked:
        factory.on_file = on_file
        factory.prepare(configs)
    results = []
    for settings in configs:
        entries = []
        for part, factory in asked:
            try:
                done = run_eval(part.questions, None, [settings], make_assistant=factory, on_question=on_question,
                                rescore=rescore)
            finally:
                factory.release()
            entries.append(done["configurations"][0])
        results.append(merge(entries))
        if log and len(configs) > 1:
            log(summary_line(results[-1]))
    return {"configurations": results}


def built_indexes(made: list[PartFactory]) -> list[str]:
    return list(dict.fromkeys(index for factory in made for index in factory.built_indexes()))
