"""Markdown tables and the number formats the reports share (standard library only: benchmarks import it)."""

from __future__ import annotations

from typing import Any


def rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def number(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
