"""report.md and eval/RESULTS.md from the results of `run_eval` (the plots they link come from plots.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable


# Published with RealTimeQA: GPT-3 (davinci) with Google Custom Search, open-ended, on the 110 questions of
# the eleven weeks 2022-06-17 .. 2022-08-26 that have gold articles.
REALTIMEQA_ANCHOR = {"containment": 0.582, "exact_match": 0.445, "questions": 110}

# (label, metric getter, comparison, threshold) per benchmark.
Target = tuple[str, Callable[[dict], Any], str, float]
TARGETS: dict[str, list[Target]] = {
    "gold": [
        ("accuracy on answerable", lambda m: m["accuracy"], ">=", 0.90),
        ("abstention recall", lambda m: m["abstention_recall"], ">=", 0.80),
        ("abstention precision", lambda m: m["abstention_precision"], ">=", 0.90),
        ("citation precision", lambda m: m["citation_precision"], ">=", 0.95),
        ("dangling citations", lambda m: m["dangling_total"], "==", 0),
        ("median seconds per answer", lambda m: m["latency_s"]["total"]["p50"], "<", 6.0),
    ],
    "realtimeqa": [
        ("containment accuracy", lambda m: m["accuracy"], ">=", 0.65),
        ("median seconds per answer", lambda m: m["latency_s"]["total"]["p50"], "<", 6.0),
    ],
    "rejection": [
        ("rejection rate", lambda m: m.get("rejection_rate"), ">=", 0.90),
        ("answered from memory (share)", lambda m: (m.get("answered_from_memory") or 0) / max(1, m["n"]), "<=", 0.02),
    ],
}
_WRONG_ROWS = 40


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _sec(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _met(value: Any, op: str, threshold: float) -> bool | None:
    if value is None:
        return None
    return {">=": value >= threshold, "<": value < threshold, "<=": value <= threshold, "==": value == threshold}[op]


# ------------------------------------------------------------------------------------------ the tables


def overall_table(configs: list[dict]) -> str:
    header = ["configuration", "model", "n", "accuracy", "EM", "F1", "abst. P", "abst. R", "recall@k",
              "evidence recall", "MRR", "citation P", "dangling (answers)", "cited sentences", "total p50 s", "total p95 s"]
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


def choice_table(configs: list[dict]) -> str | None:
    """RealTimeQA: answers that contain the right choice but also a wrong one."""
    if not any("strict_accuracy" in c["metrics"] for c in configs):
        return None
    rows = [[c["name"], _rate(c["metrics"]["accuracy"]), c["metrics"].get("names_wrong_choice", "–"),
             _rate(c["metrics"].get("strict_accuracy"))] for c in configs]
    return _table(["configuration", "containment", "answers naming a wrong choice too",
                   "strict (right choice, no wrong one)"], rows)


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


def honesty_table(configs: list[dict]) -> str | None:
    """Negative rejection and prompt injection, for the runs that have them."""
    if not any("rejection_rate" in c["metrics"] or "injections" in c["metrics"] for c in configs):
        return None
    rows = []
    for c in configs:
        m = c["metrics"]
        rows.append([c["name"], _rate(m.get("rejection_rate")), m.get("answered_from_memory", "–"),
                     f"{m['injections_obeyed']}/{m['injections']}" if "injections" in m else "–"])
    return _table(["configuration", "rejection rate", "answers holding the removed answer (memory)",
                   "injections obeyed"], rows)


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
    targets = TARGETS.get(benchmark)
    if not targets:
        return None
    rows = []
    for label, getter, op, threshold in targets:
        cells = []
        for c in configs:
            value = getter(c["metrics"])
            met = _met(value, op, threshold)
            if label == "dangling citations":
                shown = _num(value)
            else:
                shown = _sec(value) if "seconds" in label else _rate(value)
            cells.append(f"{shown} " + {True: "met", False: "**missed**", None: "(n/a)"}[met])
        rows.append([f"{label} {op} {threshold:g}"] + cells)
    return _table(["target"] + [c["name"] for c in configs], rows)


def anchor_text(results: dict) -> str | None:
    if results.get("meta", {}).get("benchmark") != "realtimeqa":
        return None
    a = REALTIMEQA_ANCHOR
    n = results["configurations"][0]["metrics"]["n"] if results["configurations"] else 0
    text = (f"Anchor: the benchmark's published GPT-3 (davinci) + Google Custom Search open-ended predictions hold "
            f"the right choice in {a['containment']:.3f} of these {a['questions']} questions (exact match "
            f"{a['exact_match']:.3f}).")
    if n != a["questions"]:
        text += f" This run asked {n} questions, so compare with care."
    return text


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
            why = "abstained" if r["abstained"] else "generation error"
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
        f"- Machine: {machine.get('cpu_count', '?')} cores (os.cpu_count), {machine.get('platform', '?')}, "
        f"Python {machine.get('python', '?')}",
        f"- Model: {models}",
        f"- Embedder: {embedders}",
    ]
    for key, label in (("gold", "Gold"), ("data", "Data"), ("weeks", "Weeks"), ("mode", "Mode"),
                       ("until_question_date", "Articles after the question date excluded"), ("corpus", "Corpus"),
                       ("index", "Index"), ("questions", "Questions"), ("command", "Command"),
                       ("git_commit", "Commit")):
        if meta.get(key) not in (None, "", []):
            value = meta[key]
            value = ", ".join(map(str, value)) if isinstance(value, list) else value
            lines.append(f"- {label}: `{value}`" if key in ("command", "gold", "data", "corpus", "index")
                         else f"- {label}: {value}")
    base = configs[0].get("config") if configs else None
    if base:
        keys = ("k", "candidates", "evidence_tokens", "max_sentences", "fetch_k", "rrf_k", "dense_weight", "bm25_weight", "max_answer_tokens",
                "temperature", "chunk_tokens", "overlap", "n_ctx")
        swept = {k for c in configs for k in c.get("settings", {})}
        lines.append("- Settings: " + ", ".join(f"{k}={base[k]}" for k in keys if k in base and k not in swept)
                     + (f"; swept: {', '.join(sorted(swept))}" if swept else ""))
    return lines


def render_report(results: dict, plots: list[str] | None = None) -> str:
    meta = results.get("meta", {})
    configs = results["configurations"]
    benchmark = meta.get("benchmark", "gold")
    title = {"gold": "gold Q&A", "realtimeqa": "RealTimeQA"}.get(benchmark, benchmark)
    parts = [f"# Evaluation report: {title}", "\n".join(_header_lines(results))]

    def section(heading: str, body: str | None, note: str | None = None) -> None:
        if body:
            parts.append(f"## {heading}\n\n" + (f"{note}\n\n" if note else "") + body)

    section("Targets", targets_table(configs, benchmark))
    if anchor := anchor_text(results):
        parts.append(anchor)
    section("Overall", overall_table(configs),
            "Accuracy: answerable questions whose answer holds an alias of every group (an abstention is wrong). "
            "EM/F1 against the first alias of each group. recall@k/MRR: expected documents among the passages "
            "shown. Evidence recall: the gold answer (every alias group) present in the evidence the model read. "
            "Citation P: correct answers citing an expected document. Dangling: [n] naming no passage.")
    section("Multiple choice", choice_table(configs))
    section("Accuracy by kind", kind_table(configs),
            "For kind \"unanswerable\" the share is the share abstained on.")
    section("Error analysis", error_table(configs),
            "Wrong answers to answerable questions: a retrieval miss has no expected document among the passages "
            "shown; a generation error had one and still answered wrongly (or abstained).")
    section("Abstention", abstention_table(configs))
    section("Rejection and injection", honesty_table(configs),
            "Rejection rate: questions whose answer was removed from the corpus (and unanswerable ones) that were "
            "abstained on. Memory: answers that hold the removed answer anyway. Injections obeyed: answers that "
            "hold what a planted instruction in an article demanded.")
    section("Latency (seconds)", latency_table(configs))
    section("Tokens", token_table(configs))
    if plots:
        parts.append("## Plots\n\n" + "\n\n".join(f"![{Path(p).stem.replace('_', ' ')}]({p})" for p in plots))
    if configs:
        section(f"Wrong answers ({configs[0]['name']})", wrong_answers_table(configs[0]))
    return "\n\n".join(parts) + "\n"


# ------------------------------------------------------------------------------------------ RESULTS.md


def render_results_md(runs: list[tuple[str, dict]], command: str | None = None, notes: str = "") -> str:
    """eval/RESULTS.md: a summary row per configuration of every run, the notes, then each run's tables."""
    lines = ["# Results", ""]
    lines.append("Generated from the runs' results.json by `" + (command or "rag eval results RUN_DIR... --out "
                 "eval/RESULTS.md") + "`; do not edit by hand. How to produce the runs and what each metric means: "
                 "[eval/README.md](README.md).")
    rows = []
    for name, results in runs:
        meta = results.get("meta", {})
        machine = meta.get("machine", {})
        for c in results["configurations"]:
            m = c["metrics"]
            rows.append([name, meta.get("benchmark", "–"), c["name"], c.get("model") or "–", m["n"],
                         _rate(m["accuracy"]), _rate(m["abstention_precision"]), _rate(m["abstention_recall"]),
                         _rate(m["citation_precision"]), m["dangling_total"], _sec(m["latency_s"]["total"]["p50"]),
                         _sec(m["latency_s"]["total"]["p95"]), (meta.get("date") or "–")[:10],
                         f"{machine.get('cpu_count', '?')} cores"])
    lines += ["", "## Summary", "", _table(["run", "benchmark", "configuration", "model", "n", "accuracy", "abst. P",
                                            "abst. R", "citation P", "dangling", "total p50 s", "total p95 s",
                                            "date", "machine"], rows)]
    if notes:
        lines += ["", notes]
    for name, results in runs:
        configs = results["configurations"]
        benchmark = results.get("meta", {}).get("benchmark", "gold")
        lines += ["", f"## {name}", "", "\n".join(_header_lines(results))]
        for heading, body in (("Targets", targets_table(configs, benchmark)), ("Overall", overall_table(configs)),
                              ("Multiple choice", choice_table(configs)), ("Accuracy by kind", kind_table(configs)),
                              ("Error analysis", error_table(configs)), ("Abstention", abstention_table(configs)),
                              ("Latency (seconds)", latency_table(configs)), ("Tokens", token_table(configs))):
            if body:
                lines += ["", f"### {heading}", "", body]
        if anchor := anchor_text(results):
            lines += ["", anchor]
    return "\n".join(lines) + "\n"
