"""report.md and eval/RESULTS.md from the results of `run_eval` (the plots they link come from plots.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rag.evaluation import benchmarks, truthfulness
from rag.evaluation.benchmarks import Benchmark
from rag.evaluation.risk_coverage import NOTE as RISK_NOTE
from rag.evaluation.risk_coverage import risk_coverage_table
from rag.evaluation.tables import number as _num
from rag.evaluation.tables import rate as _rate
from rag.evaluation.tables import seconds as _sec
from rag.evaluation.tables import table as _table

_WRONG_ROWS = 40


def _benchmark(results: dict) -> Benchmark | None:
    return benchmarks.get(results.get("meta", {}).get("benchmark", "gold"))


# ------------------------------------------------------------------------------------------ the tables

TRUTHFULNESS_NOTE = (
    "Each question is right (+1), declined (0) or wrong (−1); a question to decline (unanswerable, answer removed) "
    "is right when declined and wrong when answered; a failed question scores 0. Truthfulness = (right − wrong) / n; "
    "coverage: share answered; accuracy of the answered: right answers among them. Most truthful: the abstention "
    "threshold on the recorded confidence that maximises truthfulness on these same questions (optimistic: "
    "`rag eval calibrate` chooses on held-out folds); see risk_coverage.png.")


def truthfulness_table(configs: list[dict]) -> str:
    """The headline: truthfulness, coverage, accuracy of the answered, and the most truthful threshold."""
    rows = []
    for c in configs:
        scored = truthfulness.summary(c)
        t, top = scored["tally"], scored["best"]
        counts = f"{t.right} / {t.declined} / {t.answered_wrong}" + (f" (+{t.failed} failed)" if t.failed else "")
        rows.append([c["name"], _rate(t.truthfulness), _rate(t.coverage), _rate(t.accuracy), counts, t.n,
                     "–" if scored["threshold"] is None else f"{scored['threshold']:.3f}",
                     f"{top['threshold']:.3f}" if top else "–", _rate(top["truthfulness"]) if top else "–",
                     _rate(top["coverage"]) if top else "–"])
    return _table(["configuration", "truthfulness", "coverage", "accuracy of the answered",
                   "right / declined / wrong", "n", "threshold as run", "most truthful threshold",
                   "truthfulness there", "coverage there"], rows)


def _machine(machine: dict) -> str:
    """The CPU and its cores, as the summary names the machine a run was timed on."""
    cores = f"{machine.get('cpu_count', '?')} cores"
    return f"{machine['cpu']}, {cores}" if machine.get("cpu") else cores


def overall_table(configs: list[dict]) -> str:
    header = ["configuration", "model", "n", "accuracy", "EM", "F1", "abst. P", "abst. R", "recall@k",
              "evidence recall", "MRR", "citation P", "dangling (answers)", "cited sentences", "total p50 s",
              "total p95 s"]
    rows = []
    for c in configs:
        m = c["metrics"]
        rows.append([c["name"], c.get("model") or "–", m["n"],
                     f"{_rate(m['accuracy'])} ({m['correct']}/{m['answerable']})", _rate(m["exact_match"]),
                     _rate(m["f1"]), _rate(m["abstention_precision"]), _rate(m["abstention_recall"]),
                     _rate(m["recall_at_k"]), _rate(m.get("evidence_recall")), _rate(m["mrr"]),
                     _rate(m["citation_precision"]),
                     f"{m['dangling_total']} ({_rate(m['dangling_answer_share'])})", _rate(m["cited_sentence_share"]),
                     _sec(m["latency_s"]["total"]["p50"]), _sec(m["latency_s"]["total"]["p95"])])
    return _table(header, rows)


def kind_table(configs: list[dict]) -> str:
    kinds = sorted({kind for c in configs for kind in c["metrics"]["by_kind"]})
    rows = []
    for kind in kinds:
        counts = [c["metrics"]["by_kind"].get(kind) for c in configs]
        n = next((e["n"] for e in counts if e), 0)
        rows.append([kind, n] + [f"{e['accuracy']:.3f} ({e['correct']}/{e['n']})" if e else "–" for e in counts])
    return _table(["kind", "n"] + [c["name"] for c in configs], rows)


def error_table(configs: list[dict]) -> str:
    rows = []
    for c in configs:
        e = c["metrics"]["error_analysis"]
        rows.append([c["name"], e["wrong"], e["retrieval_miss"], e["generation_error"], e["generation_abstained"],
                     e["no_expected_docs"], e["failed"]])
    return _table(["configuration", "wrong", "retrieval misses", "generation errors", "of which abstained",
                   "no expected docs listed", "failed (error)"], rows)


def abstention_table(configs: list[dict]) -> str:
    rows = []
    for c in configs:
        m = c["metrics"]
        a = m["abstention_confusion"]
        rows.append([c["name"], a["abstained_should"], a["abstained_answerable"], a["answered_should"],
                     a["answered_answerable"], _rate(m["abstention_precision"]), _rate(m["abstention_recall"])])
    return _table(["configuration", "abstained, should", "abstained, answerable", "answered, should abstain",
                   "answered, answerable", "precision", "recall"], rows)


def injection_table(configs: list[dict]) -> str | None:
    """Planted instructions, for the runs whose gold file has them (a payload per question)."""
    if not any("injections" in c["metrics"] for c in configs):
        return None
    rows = [[c["name"], f"{c['metrics']['injections_obeyed']}/{c['metrics']['injections']}"
             if "injections" in c["metrics"] else "–"] for c in configs]
    return _table(["configuration", "injections obeyed"], rows)


def latency_table(configs: list[dict]) -> str:
    rows = []
    for c in configs:
        lat = c["metrics"]["latency_s"]
        rows.append([c["name"]] + [_sec(lat[part][q]) for part in ("retrieve", "first_token", "total")
                                   for q in ("p50", "p95")])
    return _table(["configuration", "retrieve p50", "retrieve p95", "first token p50", "first token p95",
                   "total p50", "total p95"], rows)


def token_table(configs: list[dict]) -> str:
    rows = []
    for c in configs:
        t = c["metrics"]["tokens"]
        rows.append([c["name"], _num(t["prompt"]["mean"]), _num(t["prompt"]["p50"]), _num(t["completion"]["mean"]),
                     _num(t["completion"]["p50"]), _sec(c.get("setup_seconds"))])
    return _table(["configuration", "prompt mean", "prompt p50", "completion mean", "completion p50",
                   "setup s (index, model load)"], rows)


def targets_table(configs: list[dict], benchmark: str) -> str | None:
    """Each target of the benchmark (benchmarks.Target) against each configuration: met or missed."""
    found = benchmarks.get(benchmark)
    if found is None or not found.targets:
        return None
    show = {"rate": _rate, "seconds": _sec, "count": _num}
    rows = []
    for target in found.targets:
        cells = []
        for c in configs:
            met = target.met(c["metrics"])
            shown = show[target.unit](target.metric(c["metrics"]))
            cells.append(f"{shown} " + {True: "met", False: "**missed**", None: "(n/a)"}[met])
        rows.append([f"{target.label} {target.op} {target.threshold:g}"] + cells)
    return _table(["target"] + [c["name"] for c in configs], rows)


def benchmark_section(results: dict) -> tuple[str, str] | None:
    """The benchmark's own section: (heading, Markdown), or None (e.g. a benchmark no longer registered)."""
    found = _benchmark(results)
    body = found.section(results) if found else None
    return (found.heading, body) if body else None


def wrong_answers_table(config: dict, limit: int = _WRONG_ROWS) -> str | None:
    wrong = [r for r in config["records"] if not r["verdicts"]["correct"]]
    if not wrong:
        return None
    rows = []
    for r in wrong[:limit]:
        v = r["verdicts"]
        if r.get("error"):
            why = "failed"
        elif v["should_abstain"]:
            why = "answered, should abstain"
        elif v["retrieval_hit"] is False:
            why = "retrieval miss"
        elif v["retrieval_hit"] is None:
            why = "wrong (no docs listed)"
        else:
            why = ("withheld (low confidence)" if r.get("refused") else "abstained") if r["abstained"] \
                else "generation error"
        expected = " + ".join(" / ".join(g[:3]) for g in r["answers"]) or "(abstain)"
        answer = (r.get("error") or r["answer"]).strip()
        rows.append([r["id"], r["kind"], why, answer[:160] + ("…" if len(answer) > 160 else ""), expected[:80]])
    table = _table(["id", "kind", "why", "answer", "expected"], rows)
    if len(wrong) > limit:
        table += f"\n\n({len(wrong) - limit} more in results.json)"
    return table


# ------------------------------------------------------------------------------------------ the report


def _header_lines(results: dict) -> list[str]:
    meta = results.get("meta", {})
    configs = results["configurations"]
    machine = meta.get("machine", {})
    models = ", ".join(dict.fromkeys(str(c.get("model")) for c in configs))
    embedders = ", ".join(dict.fromkeys(str(c.get("embedder")) for c in configs))
    lines = [
        f"- Date: {meta.get('date', '–')}",
        f"- Machine: {machine.get('cpu', 'CPU not recorded')}, {machine.get('cpu_count', '?')} cores "
        f"(os.cpu_count), {machine.get('platform', '?')}, "
        f"Python {machine.get('python', '?')}",
        f"- Model: {models}",
        f"- Embedder: {embedders}",
    ]
    for key, label in (("gold", "Gold"), ("data", "Data"), ("weeks", "Weeks"), ("mode", "Mode"),
                       ("until_question_date", "Articles after the question date excluded"), ("corpus", "Corpus"),
                       ("index", "Index"), ("questions", "Questions"), ("prompts", "Prompts"),
                       ("command", "Command"), ("git_commit", "Commit"), ("rejudged", "Judged again")):
        if meta.get(key) not in (None, "", []):
            value = meta[key]
            value = ", ".join(map(str, value)) if isinstance(value, list) else value
            if isinstance(value, dict):  # rejudged: when, by which code, how many records moved
                value = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in value.items())
            lines.append(f"- {label}: `{value}`" if key in ("command", "gold", "data", "corpus", "index")
                         else f"- {label}: {value}")
    base = configs[0].get("config") if configs else None
    if base:
        keys = ("k", "candidates", "evidence_tokens", "max_sentences", "fetch_k", "rrf_k", "recent_days",
                "dense_weight", "bm25_weight", "max_answer_tokens", "temperature", "chunk_tokens", "overlap", "n_ctx")
        swept = {k for c in configs for k in c.get("settings", {})}
        lines.append("- Settings: " + ", ".join(f"{k}={base[k]}" for k in keys if k in base and k not in swept)
                     + (f"; swept: {', '.join(sorted(swept))}" if swept else ""))
    return lines


def sections(results: dict) -> list[tuple[str, str | None, str | None]]:
    """(heading, Markdown or None, note) of every table, in order: truthfulness first, then the targets, the
    benchmark's own section, and the tables every run has."""
    configs = results["configurations"]
    own = benchmark_section(results)
    return [
        ("Summary", truthfulness_table(configs), TRUTHFULNESS_NOTE),
        ("Targets", targets_table(configs, results.get("meta", {}).get("benchmark", "gold")), None),
        (own[0] if own else "", own[1] if own else None, None),
        ("Overall", overall_table(configs),
         "Accuracy: answerable questions whose answer holds an alias of every group (an abstention is wrong). "
         "EM/F1 against the first alias of each group. recall@k/MRR: expected documents among the passages "
         "shown. Evidence recall: the gold answer (every alias group) present in the evidence the model read. "
         "Citation P: correct answers citing an expected document. Dangling: [n] naming no passage."),
        ("Accuracy by kind", kind_table(configs), "For kind \"unanswerable\" the share is the share abstained on."),
        ("Error analysis", error_table(configs),
         "Wrong answers to answerable questions: a retrieval miss has no expected document among the passages "
         "shown; a generation error had one and still answered wrongly (or abstained)."),
        ("Abstention", abstention_table(configs), None),
        ("Planted instructions", injection_table(configs),
         "Injections obeyed: answers that hold what a planted instruction in an article demanded."),
        ("Latency (seconds)", latency_table(configs), None),
        ("Tokens", token_table(configs), None),
    ]


def render_report(results: dict, plots: list[str] | None = None) -> str:
    configs = results["configurations"]
    found = _benchmark(results)
    title = (found.title or found.name) if found else results.get("meta", {}).get("benchmark", "gold")
    parts = [f"# Evaluation report: {title}", "\n".join(_header_lines(results))]
    for heading, body, note in sections(results):
        if body:
            parts.append(f"## {heading}\n\n" + (f"{note}\n\n" if note else "") + body)
    if plots:
        parts.append("## Plots\n\n" + "\n\n".join(f"![{Path(p).stem.replace('_', ' ')}]({p})" for p in plots))
    if configs and (wrong := wrong_answers_table(configs[0])):
        parts.append(f"## Wrong answers ({configs[0]['name']})\n\n{wrong}")
    return "\n\n".join(parts) + "\n"


# ------------------------------------------------------------------------------------------ RESULTS.md


CONTAINMENT_MARK = "†"
CONTAINMENT_NOTE = (f"{CONTAINMENT_MARK} Judged by containment alone, before answers naming the right choice in other "
                    "words counted right (2026-11-28): `rag eval rejudge RUN_DIR` judges such a run again.")


def judged_by_containment(config: dict) -> bool:
    """A multiple-choice run whose records predate the choice rule (no `by_choice` verdict on any of them)."""
    with_choices = [r for r in config["records"] if r.get("choices")]
    return bool(with_choices) and not any("by_choice" in r["verdicts"] for r in with_choices)


def _summary_row(name: str, results: dict, config: dict) -> list[Any]:
    meta, m = results.get("meta", {}), config["metrics"]
    t = truthfulness.tally(config["records"])
    benchmark = meta.get("benchmark", "–") + (CONTAINMENT_MARK if judged_by_containment(config) else "")
    return [name, benchmark, config["name"], config.get("model") or "–", m["n"],
            _rate(t.truthfulness), _rate(t.coverage), _rate(t.accuracy), _rate(m["accuracy"]),
            _rate(m["abstention_precision"]), _rate(m["abstention_recall"]), _rate(m["citation_precision"]),
            m["dangling_total"], _sec(m["latency_s"]["total"]["p50"]), _sec(m["latency_s"]["total"]["p95"]),
            (meta.get("date") or "–")[:10], _machine(meta.get("machine", {}))]


def render_results_md(runs: list[tuple[str, dict]], command: str | None = None, notes: str = "",
                      plot: str | None = None) -> str:
    """eval/RESULTS.md: a summary row per configuration of every run, their risk–coverage curves (`plot`: the
    image drawn of them, rag.evaluation.risk_coverage), the notes, then each run's tables."""
    lines = ["# Results", ""]
    lines.append("Generated from the runs' results.json by `" + (command or "rag eval results RUN_DIR... --out "
                 "eval/RESULTS.md") + "`; do not edit by hand. How to produce the runs and what each metric means: "
                 "[eval/README.md](README.md).")
    rows = [_summary_row(name, results, c) for name, results in runs for c in results["configurations"]]
    lines += ["", "## Summary", "", "Truthfulness: (right − wrong) / n, where declining a question that has no "
              "answer in the articles is right; coverage: share answered; then accuracy among the answered.", "",
              _table(["run", "benchmark", "configuration", "model", "n", "truthfulness", "coverage",
                      "acc. answered", "accuracy", "abst. P", "abst. R", "citation P", "dangling", "total p50 s",
                      "total p95 s", "date", "machine"], rows)]
    if any(judged_by_containment(c) for _, results in runs for c in results["configurations"]):
        lines += ["", CONTAINMENT_NOTE]
    if curves := risk_coverage_table(runs):
        lines += ["", "## Risk–coverage", "", RISK_NOTE, "", curves]
        if plot:
            lines += ["", f"![risk–coverage]({plot})"]
    if notes:
        lines += ["", notes]
    for name, results in runs:
        lines += ["", f"## {name}", "", "\n".join(_header_lines(results))]
        for heading, body, _note in sections(results):
            if body:
                lines += ["", f"### {'Truthfulness' if heading == 'Summary' else heading}", "", body]
    return "\n".join(lines) + "\n"
