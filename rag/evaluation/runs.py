"""Run folders: what a run was (machine, date, command, commit), and its results.json, report and plots."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from rag.config import REPO_ROOT
from rag.errors import RagError


def machine_info() -> dict[str, Any]:
    """Where a run was measured: the CPU's model name first (timings differ by CPU), its cores, the system."""
    from rag.models.llama_build import cpu_description

    return {
        "cpu": cpu_description()[0],
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "python": platform.python_version(),
    }


def git_commit() -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


PROMPT_FILES = ("answer.txt", "evidence.txt", "answer.gbnf")  # what the answers (and their confidence) depend on


def prompt_digest(folder: str | Path = "") -> str:
    """A digest of the answer prompt templates as `rag ask` loads them (from `folder`, else the bundled ones)."""
    from rag.answer.prompting import load_prompt

    digest = hashlib.sha256()
    for name in PROMPT_FILES:
        digest.update(f"{name}\0{load_prompt(folder, name)}\0".encode("utf-8"))
    return f"sha256:{digest.hexdigest()[:16]}"


def make_meta(benchmark: str, **extra: Any) -> dict[str, Any]:
    """What a run was: when, where, with which command and code."""
    return {
        "benchmark": benchmark,
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine_info(),
        "command": " ".join(["rag", *sys.argv[1:]]) if Path(sys.argv[0]).name == "rag" else " ".join(sys.argv),
        "git_commit": git_commit(),
        **extra,
    }


def write_results(results: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """results.json, report.md and the PNG plots into out_dir; returns the files written."""
    from rag.evaluation.plots import write_plots
    from rag.evaluation.report import render_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.json"
    path.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    plots = write_plots(results, out)
    report = out / "report.md"
    report.write_text(render_report(results, [p.name for p in plots]), encoding="utf-8")
    return [path, report, *plots]


def load_results(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir)
    path = path / "results.json" if path.is_dir() else path
    if not path.is_file():
        raise RagError(f"No results.json in {run_dir}: run `rag eval ... --out {run_dir}` first.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RagError(f"{path} is not valid JSON ({exc.msg}).") from exc
