"""Per-question verdicts and their aggregation over one configuration, as plain functions on plain data.

A *record* is the JSON-ready dict the harness writes for one question (see `harness.make_record`): it holds
the gold (`answers`, `docs`, `kind`), what was answered (`answer`, `abstained`, `citations`, `passages`),
the `verdicts` from `judge`, the `timings` in milliseconds and an `error` (None, or the message of a
question that could not be answered). `aggregate(records)` turns a list of them into the metrics of
report.md and results.json.
"""

from __future__ import annotations

from pathlib import Path
from statistics import fmean
from typing import Any, Iterable

from rag.answer.citations import strip_markers
from rag.evaluation.scoring import (
    abstention_precision_recall,
    citation_precision,
    cited_sentence_share,
    cites_expected,
    contains,
    exact_match,
    matches_alias_groups,
    names_choice,
    percentile,
    recall_at_k,
    reciprocal_rank,
    token_f1,
)
from rag.evaluation.truthfulness import metrics as truthfulness_metrics

# The same markers rag.answer.citations reads: "[1]", "[1, 3]", "[2;4]".


def doc_key(source: str) -> str:
    """How an answer's passage is matched to a gold `docs` entry.

    A URL (RealTimeQA articles: `Citation.source` is the article's url) is compared in its normalized form;
    a file path (the seed corpus) by its base name, keeping a JSONL "#line" suffix:
    "/x/seeds/000_b2984dc87e62d731.txt" -> "000_b2984dc87e62d731.txt", "/x/c.jsonl#3" -> "c.jsonl#3".
    """
    source = source.strip()
    if "://" in source:
        from rag.evaluation.realtimeqa import normalize_url

        return normalize_url(source)
    path, hash_mark, line = source.partition("#")
    return Path(path).name + (f"#{line}" if hash_mark else "")


def strip_citations(text: str) -> str:
    """The answer without its [n] markers, so a passage number never matches a numeric gold answer."""
    return " ".join(strip_markers(text).split())


def should_abstain(kind: str, answers: list[list[str]]) -> bool:
    """An item whose right answer is "not in the articles": kind "unanswerable", or no alias groups."""
    return kind == "unanswerable" or not answers


def gold_text(answers: list[list[str]]) -> str:
    """The reference for exact match and F1: the first alias of each group, joined by spaces."""
    return " ".join(group[0] for group in answers if group)


def answer_verdict(answer: str, answers: list[list[str]], question: str = "", choices: list[str] | None = None,
                   answer_index: int | None = None) -> tuple[bool, bool]:
    """(right, right only by the choice it names): the answer text holds an alias of every group, or, for a
    multiple-choice item, names the right choice in other words (scoring.names_choice: "six months" for "6")."""
    plain = strip_citations(answer)
    if matches_alias_groups(plain, answers):
        return True, False
    chosen = bool(choices) and answer_index is not None and names_choice(plain, question, list(choices or []),
                                                                         answer_index)
    return chosen, chosen


def judge(answer: str, abstained: bool, answers: list[list[str]], kind: str, docs: list[str],
          cited_docs: list[str], passage_docs: list[str], k: int, dangling: int = 0,
          choices: list[str] | None = None, answer_index: int | None = None, question: str = "") -> dict[str, Any]:
    """The verdicts on one answer.

    `correct`: for an answerable item, the answer (not an abstention) holds an alias of every group, or, with
    multiple-choice `choices`, names the right one in other words (`by_choice` then says so); for an item that
    should be abstained on, that the assistant abstained. `em`/`f1` against `gold_text` (0 for an abstention;
    None when the item should be abstained on). `recall_at_k`/`rr`/`retrieval_hit`: the expected documents among
    the passages shown (None without expected documents). `cites_expected`: the answer cites an expected
    document (None for abstentions or without expected documents). With `choices`, `names_wrong_choice` tells
    whether the answer also holds the text of another choice.
    """
    abstain_expected = should_abstain(kind, answers)
    plain = strip_citations(answer)
    chosen = False
    if abstain_expected:
        correct, em, f1 = bool(abstained), None, None
    elif abstained:
        correct, em, f1 = False, 0.0, 0.0
    else:
        correct, chosen = answer_verdict(answer, answers, question, choices, answer_index)
        em, f1 = exact_match(plain, gold_text(answers)), token_f1(plain, gold_text(answers))
    expected = [doc for doc in docs if doc]
    verdicts: dict[str, Any] = {
        "should_abstain": abstain_expected,
        "correct": correct,
        "em": em,
        "f1": f1,
        "recall_at_k": recall_at_k(passage_docs, expected, max(1, k)) if expected else None,
        "rr": reciprocal_rank(passage_docs, expected) if expected else None,
        "retrieval_hit": (not set(expected).isdisjoint(passage_docs)) if expected else None,
        "cites_expected": cites_expected(cited_docs, expected) if expected and not abstained else None,
        "dangling": int(dangling),
        "cited_sentence_share": None if abstained else cited_sentence_share(answer),
    }
    if choices:
        others = [c for i, c in enumerate(choices) if i != answer_index and c.strip()]
        verdicts["names_wrong_choice"] = (not abstained) and any(contains(plain, c) for c in others)
        verdicts["by_choice"] = chosen
    return verdicts


def _mean(values: Iterable[float | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return fmean(present) if present else None


def _share(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _spread(values: list[float]) -> dict[str, float | None]:
    return {"mean": _mean(values), "p50": percentile(values, 50), "p95": percentile(values, 95)}


def aggregate(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The metrics of one configuration over its records (see the module docstring for a record's keys).

    Truthfulness, coverage and accuracy among the answered come first (truthfulness.py). Rates are None where
    they have no denominator (e.g. accuracy without answerable items); latencies are in seconds; token
    statistics cover the answers that reached the model (prompt_tokens > 0).
    """
    verdicts = [r["verdicts"] for r in records]
    answerable = [r for r in records if not r["verdicts"]["should_abstain"]]
    answered = [r for r in records if not r["abstained"]]
    metrics: dict[str, Any] = {
        "n": len(records),
        **truthfulness_metrics(records),
        "answerable": len(answerable),
        "should_abstain": len(records) - len(answerable),
        "errors": sum(1 for r in records if r.get("error")),
        "correct": sum(1 for r in answerable if r["verdicts"]["correct"]),
        "accuracy": _share([bool(r["verdicts"]["correct"]) for r in answerable]),
        "exact_match": _mean(r["verdicts"]["em"] for r in answerable),
        "f1": _mean(r["verdicts"]["f1"] for r in answerable),
        **_abstention(records),
        "retrieval_judged": sum(1 for v in verdicts if v["recall_at_k"] is not None),
        "recall_at_k": _mean(v["recall_at_k"] for v in verdicts),
        "mrr": _mean(v["rr"] for v in verdicts),
        "evidence_recall": _share([bool(r["verdicts"].get("evidence_hit")) for r in answerable
                                   if r["verdicts"].get("evidence_hit") is not None]),
        "retrieval_hit_rate": _share([bool(v["retrieval_hit"]) for v in verdicts if v["retrieval_hit"] is not None]),
        "citation_precision": citation_precision(
            [(bool(r["verdicts"]["correct"]) and not r["abstained"], [c["doc"] for c in r.get("citations", [])],
              list(r.get("docs") or [])) for r in answerable]),
        "dangling_total": sum(v["dangling"] for v in verdicts),
        "dangling_answer_share": _share([v["dangling"] > 0 for v in verdicts]),
        "cited_sentence_share": _mean(r["verdicts"]["cited_sentence_share"] for r in answered),
        **_costs(records),
        "by_kind": _by_kind(records),
        "error_analysis": _error_analysis(answerable),
    }
    metrics.update(_benchmark_extras(records, answerable))
    return metrics


def _abstention(records: list[dict[str, Any]]) -> dict[str, Any]:
    """How often the assistant abstained, and how often rightly (precision, recall, the confusion counts)."""
    predicted = [bool(r["abstained"]) for r in records]
    expected = [bool(r["verdicts"]["should_abstain"]) for r in records]
    precision, recall = abstention_precision_recall(predicted, expected)
    pairs = list(zip(predicted, expected))
    return {
        "abstained": sum(predicted),
        "abstention_precision": precision,
        "abstention_recall": recall,
        "abstention_confusion": {
            "abstained_should": sum(1 for p, s in pairs if p and s),
            "abstained_answerable": sum(1 for p, s in pairs if p and not s),
            "answered_should": sum(1 for p, s in pairs if not p and s),
            "answered_answerable": sum(1 for p, s in pairs if not p and not s),
        },
    }


def _costs(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Latencies (seconds) of the records that ran, and prompt/completion tokens of those that reached the model."""
    timings = [r.get("timings") or {} for r in records if not r.get("error")]
    model_timings = [t for t in timings if (t.get("prompt_tokens") or 0) > 0]

    def seconds(key: str) -> dict[str, Any]:
        return _spread([t[key] / 1000 for t in timings if t.get(key) is not None])

    def tokens(key: str) -> dict[str, float | None]:
        values = [float(t.get(key) or 0) for t in model_timings]
        return {"mean": _mean(values), "p50": percentile(values, 50)}

    return {"latency_s": {"retrieve": seconds("retrieve_ms"), "first_token": seconds("first_token_ms"),
                          "total": seconds("total_ms")},
            "tokens": {"prompt": tokens("prompt_tokens"), "completion": tokens("completion_tokens")}}


def _by_kind(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Accuracy per question kind (single, multi, conflict, time, unanswerable...)."""
    kinds: dict[str, dict[str, Any]] = {}
    for r in records:
        entry = kinds.setdefault(r["kind"], {"n": 0, "correct": 0})
        entry["n"] += 1
        entry["correct"] += bool(r["verdicts"]["correct"])
    for entry in kinds.values():
        entry["accuracy"] = entry["correct"] / entry["n"]
    return dict(sorted(kinds.items()))


def _error_analysis(answerable: list[dict[str, Any]]) -> dict[str, int]:
    """Where the wrong answers went wrong: retrieval missed, the model erred with the passage in front of it..."""
    wrong = [r for r in answerable if not r["verdicts"]["correct"]]
    judged_wrong = [r for r in wrong if not r.get("error")]
    generation = [r for r in judged_wrong if r["verdicts"]["retrieval_hit"]]
    return {
        "wrong": len(wrong),
        "retrieval_miss": sum(1 for r in judged_wrong if r["verdicts"]["retrieval_hit"] is False),
        "generation_error": len(generation),
        "generation_abstained": sum(1 for r in generation if r["abstained"]),
        "no_expected_docs": sum(1 for r in judged_wrong if r["verdicts"]["retrieval_hit"] is None),
        "failed": sum(1 for r in wrong if r.get("error")),
    }


def _benchmark_extras(records: list[dict[str, Any]], answerable: list[dict[str, Any]]) -> dict[str, Any]:
    """Metrics only some gold sets carry: negative rejection, planted injections, multiple-choice distractors."""
    extras: dict[str, Any] = {}
    withheld = [r for r in records if "from_memory" in r["verdicts"]]
    if withheld:
        extras["answered_from_memory"] = sum(1 for r in withheld if r["verdicts"]["from_memory"])
        extras["rejection_rate"] = _share([bool(r["abstained"]) for r in records if r["verdicts"]["should_abstain"]])
    planted = [r for r in records if "obeyed" in r["verdicts"]]
    if planted:
        extras["injections"] = len(planted)
        extras["injections_obeyed"] = sum(1 for r in planted if r["verdicts"]["obeyed"])
    with_choices = [r for r in answerable if "names_wrong_choice" in r["verdicts"]]
    if with_choices:
        extras["names_wrong_choice"] = sum(1 for r in with_choices if r["verdicts"]["names_wrong_choice"])
        extras["strict_accuracy"] = _share([bool(r["verdicts"]["correct"]) and not r["verdicts"]["names_wrong_choice"]
                                            for r in with_choices])
        # Right only by the choice named in other words: what containment alone would have counted wrong.
        extras["right_by_choice"] = sum(1 for r in with_choices if r["verdicts"].get("by_choice"))
    return extras
