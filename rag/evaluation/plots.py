"""The evaluation's plots (matplotlib on an Agg canvas, no display): accuracy by kind, latency, prompt size,
risk–coverage, PR curve."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

PLOTS = ("accuracy_by_kind.png", "latency.png", "accuracy_vs_prompt_tokens.png", "risk_coverage.png")


@contextmanager
def figure(path: Path, size: tuple[float, float] = (6, 4)) -> Iterator:
    """One axes to draw on; the figure is laid out and saved to `path` when the block ends."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    yield fig.add_subplot()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_plots(results: dict, out_dir: str | Path) -> list[Path]:
    """accuracy_by_kind.png, latency.png, accuracy_vs_prompt_tokens.png, risk_coverage.png in out_dir."""
    configs = results["configurations"]
    paths = [Path(out_dir) / name for name in PLOTS]
    _accuracy_by_kind(configs, paths[0])
    _latency(configs, paths[1])
    _accuracy_vs_prompt(configs, paths[2])
    risk_coverage_plot([run_curve(c) for c in configs], paths[3])
    return paths


Mark = tuple[str, dict, str]  # (label, a point with coverage and accuracy, matplotlib marker)


def run_curve(config: dict) -> tuple[str, list[dict], list[Mark]]:
    """A configuration's curve, its operating point as run (with the threshold it ran with) and its best point."""
    from rag.evaluation.truthfulness import summary

    scored = summary(config)
    tally, marks = scored["tally"], []
    if tally.accuracy is not None:
        shipped = f" (threshold {scored['threshold']:.2f})" if scored["threshold"] is not None else ""
        marks.append((f"as run{shipped}: truthfulness {tally.truthfulness:.2f}",
                      {"coverage": tally.coverage, "accuracy": tally.accuracy}, "o"))
    if (top := scored["best"]) and top["accuracy"] is not None:
        marks.append((f"best: truthfulness {top['truthfulness']:.2f} at {top['threshold']:.2f}", top, "*"))
    return config["name"], scored["points"], marks


def risk_coverage_plot(curves: list[tuple[str, list[dict], list[Mark]]], path: Path,
                       title: str = "Accuracy of the answered as the threshold moves") -> None:
    """Accuracy among the answered against the share answered, one line per curve (points from
    truthfulness.points), its marked points labelled when there are few curves to label."""
    with figure(path, (6.5, 4.5)) as ax:
        for label, points, marks in curves:
            usable = [p for p in points if p["accuracy"] is not None]
            (line,) = ax.plot([p["coverage"] for p in usable], [p["accuracy"] for p in usable], marker=".",
                              linewidth=1, label=label)
            for text, mark, marker in marks:
                ax.scatter([mark["coverage"]], [mark["accuracy"]], marker=marker, s=90, color=line.get_color(),
                           edgecolors="black", zorder=3)
                if len(curves) <= 2:
                    ax.annotate(text, (mark["coverage"], mark["accuracy"]), textcoords="offset points",
                                xytext=(6, -12 if marker == "o" else 6), fontsize="small")
        ax.set_xlabel("coverage (share of the questions answered)")
        ax.set_ylabel("accuracy of the answered")
        ax.set_xlim(0, 1.05)
        ax.set_ylim(0, 1.05)
        ax.set_title(title + ("\n(o: as run, *: most truthful)" if len(curves) > 2 else ""), fontsize="medium")
        if len(curves) > 1:
            ax.legend(fontsize="small")


def _accuracy_by_kind(configs: list[dict], path: Path) -> None:
    """Grouped bars: one group per question kind, one bar per configuration."""
    kinds = sorted({kind for c in configs for kind in c["metrics"]["by_kind"]})
    width = 0.8 / max(1, len(configs))
    with figure(path, (max(6.0, 1.2 * len(kinds) + 2), 4)) as ax:
        for i, c in enumerate(configs):
            values = [(c["metrics"]["by_kind"].get(kind) or {}).get("accuracy", 0.0) for kind in kinds]
            ax.bar([x + i * width - 0.4 + width / 2 for x in range(len(kinds))], values, width, label=c["name"])
        ax.set_xticks(range(len(kinds)), kinds)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("accuracy (unanswerable: share abstained)")
        ax.set_title("Accuracy by kind")
        if len(configs) > 1:
            ax.legend(fontsize="small")


def _latency(configs: list[dict], path: Path) -> None:
    """A histogram of total seconds per answer, the same bins for every configuration so their bars compare."""
    totals = {c["name"]: [r["timings"]["total_ms"] / 1000 for r in c["records"] if r.get("timings")] for c in configs}
    every = [t for values in totals.values() for t in values]
    with figure(path) as ax:
        if every:
            count = min(30, max(5, max(len(v) for v in totals.values()) // 3))
            low, high = min(every), max(every)
            bins = [low + (high - low) * i / count for i in range(count + 1)] if high > low else count
            for name, values in totals.items():
                if values:
                    ax.hist(values, bins=bins, alpha=0.55 if len(configs) > 1 else 0.9, histtype="stepfilled",
                            label=name)
        ax.set_xlabel("total seconds per answer")
        ax.set_ylabel("answers")
        ax.set_title("Latency distribution")
        if len(configs) > 1:
            ax.legend(fontsize="small")


def _accuracy_vs_prompt(configs: list[dict], path: Path) -> None:
    """One labelled point per configuration: accuracy against mean prompt tokens."""
    with figure(path) as ax:
        for c in configs:
            x, y = c["metrics"]["tokens"]["prompt"]["mean"], c["metrics"]["accuracy"]
            if x is None or y is None:
                continue
            ax.scatter([x], [y])
            ax.annotate(c["name"], (x, y), textcoords="offset points", xytext=(4, 4), fontsize="small")
        ax.set_xlabel("mean prompt tokens")
        ax.set_ylabel("accuracy on answerable")
        ax.set_ylim(0, 1.05)
        ax.set_title("Accuracy against prompt size")


def precision_recall_plot(points: list[dict], threshold: float, path: Path) -> None:
    """Abstention precision against recall over thresholds, the chosen threshold in red."""
    usable = [p for p in points if p["precision"] is not None and p["recall"] is not None]
    chosen = next(p for p in points if p["threshold"] == threshold)
    with figure(path, (5.5, 4)) as ax:
        ax.plot([p["recall"] for p in usable], [p["precision"] for p in usable], marker=".", linewidth=1)
        if chosen["precision"] is not None:
            ax.scatter([chosen["recall"]], [chosen["precision"]], color="red", zorder=3,
                       label=f"threshold {threshold:.2f}")
            ax.legend(fontsize="small")
        ax.set_xlabel("abstention recall (held out)")
        ax.set_ylabel("abstention precision (held out)")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        ax.set_title("Abstain when confidence < threshold")
