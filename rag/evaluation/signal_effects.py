"""Each confidence signal's held-out effect: truthfulness with every signal, and with each one left out.

The threshold is chosen out of fold too (nested): for each fold, the most truthful threshold over the other
folds' held-out probabilities is applied to that fold's answers. So a signal that only fits noise shows no gain,
and one whose removal costs less than `noise` answers is reported as not worth keeping.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from rag.answer.confidence import FEATURES
from rag.evaluation.calibrate import FOLDS, KEEP_RIGHT_TRUTHFUL, Example, assign_folds, examples, out_of_fold
from rag.evaluation.truthfulness import Candidate, Tally, best, points, tally


@dataclass(frozen=True)
class SignalEffect:
    """What leaving one signal out does to held-out truthfulness (`signal` "" is every signal kept)."""

    signal: str
    truthfulness: float
    change: float  # truthfulness with the signal minus without it: positive means the signal helps
    kept: bool  # it helps by more than the noise


def held_out_outcomes(items: list[Example], folds: int = FOLDS, l2: float = 1.0,
                      features: tuple[str, ...] = FEATURES, keep_right: float = KEEP_RIGHT_TRUTHFUL) -> list[Tally]:
    """Each example's outcome (a one-question Tally) with its probability and threshold chosen without its fold,
    as `rag eval calibrate` chooses it (the most truthful keeping `keep_right` of the right answers)."""
    fold_of = assign_folds(items, folds)
    probabilities = out_of_fold(items, folds=folds, l2=l2, features=features)
    # A gated answer never reaches a threshold (as in calibrate.operating_points).
    candidates = [Candidate(-1.0 if e.gated else p, e.right, e.should_abstain) for e, p in zip(items, probabilities)]
    outcomes: list[Tally] = [Tally()] * len(items)
    for fold in range(folds):
        others = [c for c, f in zip(candidates, fold_of) if f != fold]
        top = best(points(others, Tally()), keep_right)
        threshold = top["threshold"] if top else 0.0
        for i, (c, f) in enumerate(zip(candidates, fold_of)):
            if f == fold:
                outcomes[i] = c.at(threshold)
    return outcomes


def nested_truthfulness(items: list[Example], fixed: Tally, folds: int = FOLDS, l2: float = 1.0,
                        features: tuple[str, ...] = FEATURES, keep_right: float = KEEP_RIGHT_TRUTHFUL) -> float:
    """Held-out truthfulness over all records: probabilities and thresholds both chosen without the fold."""
    total = fixed
    for outcome in held_out_outcomes(items, folds, l2, features, keep_right):
        total = total.plus(outcome)
    return total.truthfulness or 0.0


def outcomes_by_run(records: list[dict], runs: list[str], features: tuple[str, ...] = FEATURES,
                    folds_by: str = "week", keep_right: float = KEEP_RIGHT_TRUTHFUL) -> dict[str, Tally]:
    """Held-out outcomes per run (`runs[i]` names the run of `records[i]`), fitted on all the runs' records together
    with `features` as the signals: how a trial signal judges each benchmark on its own."""
    per_run = {run: Tally() for run in dict.fromkeys(runs)}
    items, item_runs = [], []
    for record, run in zip(records, runs):
        scored, fixed = examples([record], folds_by, features)
        items += scored
        item_runs += [run] * len(scored)
        per_run[run] = per_run[run].plus(tally(fixed))
    for outcome, run in zip(held_out_outcomes(items, features=features, keep_right=keep_right), item_runs):
        per_run[run] = per_run[run].plus(outcome)
    return per_run


def trial_records(run_dirs: list[str], make_probe: Callable[[dict], Callable[[dict], dict | None]],
                  cache_file: str | None = None) -> tuple[list[dict], list[str]]:
    """Every record of the runs (their first configuration) with a trial's signals added to its recorded ones, and
    the run each came from. `make_probe(config)` gives the trial's probe for a run's settings (made only when a
    record is not cached): record -> {signal: value}, or None when it has none. Values are cached per record
    in `cache_file` (JSON), so a trial is rescored without running its probe again."""
    from rag.evaluation.runs import load_results

    cache = json.loads(Path(cache_file).read_text()) if cache_file and Path(cache_file).exists() else {}
    records, runs = [], []
    for run_dir in run_dirs:
        name = Path(run_dir).name
        configuration = load_results(run_dir)["configurations"][0]
        probe = None
        for record in configuration["records"]:
            key = f"{name}/{record['id']}"
            if key not in cache:
                probe = probe or make_probe(configuration["config"])
                cache[key] = probe(record)
            if record.get("signals") and cache[key]:
                record["signals"].update(cache[key])
            records.append(record)
            runs.append(name)
        if cache_file:
            Path(cache_file).write_text(json.dumps(cache))
    return records, runs


def answer_again(assistant, record: dict):
    """A trial's record answered again as its run asked it (its date filter and asking day), through every stage:
    the question's AskState, or None when the answer now reads differently from the record's (values read off it
    would describe another answer than the one the record's outcome judged)."""
    from rag.store.base import Filters

    filters = Filters(until=record["until"]) if record.get("until") else None
    state = assistant.start(record["question"], filters, asked_on=record.get("asked_on"))
    for stage in assistant.stages:
        for _event in stage(assistant, state):
            pass
    now = state.composed.refused or (None if state.composed.abstained else state.composed.text)
    before = record.get("refused") or (None if record.get("abstained") else record.get("answer"))
    return state if now == before else None


def render_trial(records: list[dict], runs: list[str], additions: list[tuple[str, ...]]) -> str:
    """A trial's verdict, a line each: held-out outcomes per run with the shipped signals only, then with each of
    `additions` (the trial's signals, alone or together) beside them."""
    lines = [render_by_run("without", outcomes_by_run(records, runs, FEATURES))]
    lines += [render_by_run(f"with {' + '.join(added)}", outcomes_by_run(records, runs, FEATURES + added))
              for added in additions]
    return "\n".join(lines)


def render_by_run(name: str, per_run: dict[str, Tally]) -> str:
    """One line: held-out truthfulness over all runs, then each run's with its right / declined / wrong."""
    total = Tally()
    for t in per_run.values():
        total = total.plus(t)
    return f"{name}: held-out truthfulness {total.truthfulness:.3f} over {total.n}; " + "; ".join(
        f"{run} {t.truthfulness:.3f} (right {t.right}, declined {t.declined}, wrong {t.answered_wrong})"
        for run, t in per_run.items())


def without(items: list[Example], index: int) -> list[Example]:
    """The examples with one signal made missing (a missing signal counts as its mean: it says nothing)."""
    return [replace(e, values=e.values[:index] + (math.nan,) + e.values[index + 1:]) for e in items]


def signal_effects(items: list[Example], fixed: Tally, features: tuple[str, ...], noise: int = 3,
                   l2: float = 1.0, keep_right: float = KEEP_RIGHT_TRUTHFUL) -> list[SignalEffect]:
    """Every signal left out in turn; `noise` answers (over all records) is the change that counts as none."""
    n = len(items) + fixed.n
    base = nested_truthfulness(items, fixed, l2=l2, features=features, keep_right=keep_right)
    effects = [SignalEffect("", base, 0.0, True)]
    for index, feature in enumerate(features):
        score = nested_truthfulness(without(items, index), fixed, l2=l2, features=features, keep_right=keep_right)
        change = base - score
        effects.append(SignalEffect(feature, score, change, change * n > noise))
    return effects


def render_effects(effects: list[SignalEffect], n: int, noise: int = 3) -> str:
    """The Markdown table of the effects, largest help first."""
    base = effects[0]
    rows = [f"| {e.signal} | {e.truthfulness:.3f} | {e.change:+.3f} ({e.change * n:+.0f} answers) | "
            f"{'kept' if e.kept else 'no gain beyond noise'} |"
            for e in sorted(effects[1:], key=lambda e: -e.change)]
    return "\n".join([
        f"Held-out truthfulness with every signal: **{base.truthfulness:.3f}** (thresholds chosen out of fold too; "
        f"{n} questions; a change of {noise} answers or less is noise).", "",
        "| signal left out | truthfulness without it | its effect | verdict |", "|---|---|---|---|", *rows, ""])


def effects_report(records: list[dict], folds_by: str = "week", keep_right: float = KEEP_RIGHT_TRUTHFUL,
                   noise: int = 3) -> str:
    """The effects table for runs' records, as `rag eval calibrate` adds it to its report."""
    items, fixed = examples(records, folds_by)
    fixed_tally = tally(fixed)
    effects = signal_effects(items, fixed_tally, FEATURES, noise, keep_right=keep_right)
    return render_effects(effects, len(items) + fixed_tally.n, noise)
