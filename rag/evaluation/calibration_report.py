"""The calibration report: the abstention precision/recall curve over thresholds, and the chosen point."""

from __future__ import annotations

from pathlib import Path

from rag.answer.confidence import Calibration


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def render(model: Calibration, points: list[dict], plot: str) -> str:
    chosen = next(p for p in points if p["threshold"] == model.threshold)
    rows = [f"| {p['threshold']:.3f} | {_fmt(p['precision'])} | {_fmt(p['recall'])} | {_fmt(p['answered_right'])} |"
            for p in points[:: max(1, len(points) // 25)]]
    weights = "\n".join(f"| {f} | {w:+.3f} |" for f, w in sorted(zip(model.features, model.weights),
                                                               key=lambda fw: -abs(fw[1])))
    return "\n".join([
        "# Calibration", "", f"Fitted on {model.fitted_on}.", "",
        f"Chosen threshold **{model.threshold:.3f}**: held-out abstention precision {_fmt(chosen['precision'])}, "
        f"recall {_fmt(chosen['recall'])}; share of the right answers kept {_fmt(chosen['answered_right'])}.", "",
        f"![precision/recall]({plot})", "",
        "| threshold | abstention precision | abstention recall | right answers kept |", "|---|---|---|---|", *rows, "",
        "Weights (on standardised signals):", "", "| signal | weight |", "|---|---|", weights, ""])


def write_calibration_report(model: Calibration, points: list[dict], out_dir: str | Path) -> list[Path]:
    """calibration.md and pr_curve.png in out_dir."""
    from rag.evaluation.plots import precision_recall_plot

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plot = out / "pr_curve.png"
    precision_recall_plot(points, model.threshold, plot)
    report = out / "calibration.md"
    report.write_text(render(model, points, plot.name), encoding="utf-8")
    return [report, plot]
