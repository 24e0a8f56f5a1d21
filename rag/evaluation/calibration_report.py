"""The calibration report: the abstention precision/recall curve over thresholds, and the chosen point."""

from __future__ import annotations

from pathlib import Path

from rag.confidence import Calibration


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
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    usable = [p for p in points if p["precision"] is not None and p["recall"] is not None]
    fig = Figure(figsize=(5.5, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([p["recall"] for p in usable], [p["precision"] for p in usable], marker=".", linewidth=1)
    chosen = next(p for p in points if p["threshold"] == model.threshold)
    if chosen["precision"] is not None:
        ax.scatter([chosen["recall"]], [chosen["precision"]], color="red", zorder=3,
                   label=f"threshold {model.threshold:.2f}")
        ax.legend(fontsize="small")
    ax.set_xlabel("abstention recall (held out)")
    ax.set_ylabel("abstention precision (held out)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title("Abstain when confidence < threshold")
    fig.tight_layout()
    plot = out / "pr_curve.png"
    fig.savefig(plot, dpi=110)
    report = out / "calibration.md"
    report.write_text(render(model, points, plot.name), encoding="utf-8")
    return [report, plot]
