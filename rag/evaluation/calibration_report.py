"""The calibration report: held-out truthfulness and abstention precision/recall over thresholds, the chosen point."""

from __future__ import annotations

from pathlib import Path

from rag.answer.confidence import Calibration


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def render(model: Calibration, points: list[dict], plots: tuple[str, str], effects: str = "") -> str:
    chosen = next(p for p in points if p["threshold"] == model.threshold)
    step = max(1, len(points) // 25)
    shown = points[::step] + ([chosen] if chosen not in points[::step] else [])
    rows = [f"| {p['threshold']:.3f}{' (chosen)' if p is chosen else ''} | {_fmt(p.get('truthfulness'))} | "
            f"{_fmt(p.get('coverage'))} | {_fmt(p.get('accuracy'))} | {_fmt(p['precision'])} | {_fmt(p['recall'])} | "
            f"{_fmt(p['answered_right'])} |" for p in sorted(shown, key=lambda p: p["threshold"])]
    weights = "\n".join(f"| {f} | {w:+.3f} |" for f, w in sorted(zip(model.features, model.weights),
                                                               key=lambda fw: -abs(fw[1])))
    fitted_for = ", ".join(part for part in (f"model {model.model}" if model.model else "",
                                             f"prompts {model.prompts}" if model.prompts else "") if part)
    return "\n".join([
        "# Calibration", "", f"Fitted on {model.fitted_on}." + (f" For {fitted_for}." if fitted_for else ""), "",
        f"Chosen threshold **{model.threshold:.3f}**, held out: truthfulness {_fmt(chosen.get('truthfulness'))} "
        f"(coverage {_fmt(chosen.get('coverage'))}, accuracy of the answered {_fmt(chosen.get('accuracy'))}); "
        f"abstention precision {_fmt(chosen['precision'])}, recall {_fmt(chosen['recall'])}; share of the right "
        f"answers kept {_fmt(chosen['answered_right'])}.", "",
        f"![risk-coverage]({plots[0]})", "", f"![precision/recall]({plots[1]})", "",
        "| threshold | truthfulness | coverage | accuracy of the answered | abstention precision | abstention recall "
        "| right answers kept |", "|---|---|---|---|---|---|---|", *rows, "",
        "Weights (on standardised signals):", "", "| signal | weight |", "|---|---|", weights, "",
        *(["## Each signal's held-out effect", "", effects] if effects else [])])


def write_calibration_report(model: Calibration, points: list[dict], out_dir: str | Path,
                             effects: str = "") -> list[Path]:
    """calibration.md (with `effects`, the signals' table, when given), risk_coverage.png and pr_curve.png."""
    from rag.evaluation.plots import precision_recall_plot, risk_coverage_plot
    from rag.evaluation.truthfulness import best

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    curve, pr = out / "risk_coverage.png", out / "pr_curve.png"
    chosen = next(p for p in points if p["threshold"] == model.threshold)
    marks = [(f"chosen {model.threshold:.2f}", chosen, "o")] if chosen.get("accuracy") is not None else []
    top = best(points)
    if top is not None and top is not chosen and top["accuracy"] is not None:
        marks.append((f"most truthful {top['threshold']:.2f}", top, "*"))
    risk_coverage_plot([("held out", points, marks)], curve, "Held-out accuracy of the answered as the threshold moves")
    precision_recall_plot(points, model.threshold, pr)
    report = out / "calibration.md"
    report.write_text(render(model, points, (curve.name, pr.name), effects), encoding="utf-8")
    return [report, curve, pr]
