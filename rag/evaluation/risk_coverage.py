"""The risk–coverage curves of RESULTS.md: accuracy and truthfulness as the threshold answers fewer questions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rag.evaluation import truthfulness
from rag.evaluation.tables import table

COVERAGES = (0.9, 0.8, 0.7, 0.6, 0.5)  # the table's columns: at most this share of the questions answered

NOTE = (
    "Each cell: coverage (share answered): accuracy of the answered / truthfulness, when the abstention "
    "threshold on the recorded confidence is raised until at most that share is answered (the first column: "
    "every answer the confidence can withhold shown; questions the model or a gate declined stay declined). "
    "Thresholds chosen on the same questions, so the curve is optimistic; `rag eval calibrate` chooses on "
    "held-out folds.")


def at_coverage(points: list[dict[str, Any]], share: float) -> dict[str, Any] | None:
    """The point of the lowest threshold that answers at most `share` of the questions."""
    within = [p for p in points if p["coverage"] is not None and p["coverage"] <= share + 1e-9]
    return min(within, key=lambda p: p["threshold"]) if within else None


def _cell(point: dict[str, Any] | None) -> str:
    if point is None or point["truthfulness"] is None:
        return "–"
    accuracy = "–" if point["accuracy"] is None else f"{point['accuracy']:.2f}"
    return f"{point['coverage']:.2f}: {accuracy} / {point['truthfulness']:+.2f}"


def _benchmark(results: dict) -> str:
    return results.get("meta", {}).get("benchmark", "gold")  # a run without one asked gold questions


def risk_coverage_table(runs: list[tuple[str, dict]]) -> str:
    """One row per configuration of every run: the curve read at a few coverages."""
    rows = []
    for name, results in runs:
        benchmark = _benchmark(results)
        for config in results["configurations"]:
            scored = truthfulness.summary(config)
            if not scored["scored"]:
                continue  # no recorded confidence: no curve
            t, points = scored["tally"], scored["points"]
            as_run = {"coverage": t.coverage, "accuracy": t.accuracy, "truthfulness": t.truthfulness}
            rows.append([name, benchmark, config["name"], _cell(points[0]), _cell(as_run),
                         *(_cell(at_coverage(points, share)) for share in COVERAGES)])
    header = ["run", "benchmark", "configuration", "all shown", "as run", *(f"≤ {share:.0%}" for share in COVERAGES)]
    return table(header, rows) if rows else ""


def _model(results: dict) -> str:
    configurations = results.get("configurations") or [{}]
    return configurations[0].get("model") or ""


def newest_and_oldest(runs: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """Of each benchmark and model, the first run given and the last (RESULTS.md lists the newest first): after
    and before. Another model's run is a comparison of models, never the "after" of the default's curve."""
    by_benchmark_and_model: dict[tuple[str, str], list[tuple[str, dict]]] = {}
    for name, results in runs:
        by_benchmark_and_model.setdefault((_benchmark(results), _model(results)), []).append((name, results))
    chosen = []
    for group in by_benchmark_and_model.values():
        chosen += [group[0]] + ([group[-1]] if len(group) > 1 else [])
    return chosen


def write_risk_coverage_plot(runs: list[tuple[str, dict]], path: Path) -> bool:
    """One curve per benchmark's (and model's) newest and oldest run (first configuration), its points as run and
    most truthful; False when no run has a curve worth drawing."""
    from rag.evaluation.plots import risk_coverage_plot, run_curve

    curves = []
    for name, results in newest_and_oldest(runs):
        config = results["configurations"][0]
        scored = truthfulness.summary(config)
        if not scored["scored"] or not any(point["accuracy"] for point in scored["points"]):
            continue  # no recorded confidence, or nothing answered right at any threshold: a flat line at 0
        _, points, marks = run_curve(config)
        curves.append((f"{name} ({_benchmark(results)}, {_model(results) or 'model unknown'})", points, marks))
    if not curves:
        return False
    risk_coverage_plot(curves, path, "Accuracy of the answered as the threshold moves, newest and oldest run")
    return True
