"""Ask evaluation questions through the same path as `rag ask`, under each configuration, and record the answers."""

from __future__ import annotations

import gc
import time
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable

from rag.config import Config
from rag.errors import RagError
from rag.evaluation.gold import EvalQuestion
from rag.evaluation.metrics import aggregate, answer_verdict, doc_key, judge, strip_citations
from rag.evaluation.scoring import contains, matches_alias_groups
from rag.evaluation.sweeps import SweepError, config_name, split_settings

OnQuestion = Callable[[str], None]  # called after each question with the configuration's name


def _answer_fields(answer: Any) -> dict[str, Any]:
    """What a record keeps of an `Answer` (or of no answer at all)."""
    if answer is None:
        return {"answer": "", "abstained": False, "refused": None, "citations": [], "passages": [], "evidence": [],
                "dangling": [], "confidence": None, "signals": {}, "timings": {}, "evidence_text": ""}
    return {
        "answer": answer.text, "abstained": bool(answer.abstained), "refused": getattr(answer, "refused", None),
        "citations": [{"n": c.n, "doc": doc_key(c.source), "chunk_id": c.chunk_id} for c in answer.citations],
        "passages": [{"n": p.n, "doc": doc_key(p.source), "title": p.title, "outlet": p.outlet, "date": p.date,
                      "chunk_id": p.chunk_id} for p in answer.passages],
        "evidence": [{"n": e.n, "quote": e.quote} for e in getattr(answer, "evidence", [])],
        "dangling": list(answer.dangling), "confidence": getattr(answer, "confidence", None),
        "signals": answer.signals.as_dict() if answer.signals else {}, "timings": asdict(answer.timings),
        "evidence_text": "\n".join(f"{p.title} ({p.outlet}, {p.date}) {p.text}" for p in answer.passages),
    }


def _verdicts(question: EvalQuestion, fields: dict[str, Any], k: int) -> dict[str, Any]:
    text, abstained, refused = fields["answer"], fields["abstained"], fields["refused"]
    choices = list(question.choices) or None
    verdicts = judge(text, abstained, question.answers, question.kind, question.docs,
                     [c["doc"] for c in fields["citations"]], [p["doc"] for p in fields["passages"]], k,
                     len(fields["dangling"]), choices, question.answer_index, question.question)
    verdicts["evidence_hit"] = (matches_alias_groups(fields["evidence_text"], question.answers)
                                if question.answers else None)
    if refused:
        # Withheld for low confidence: would it have been right? (What `rag eval calibrate` learns from.)
        verdicts["refused_correct"] = (not verdicts["should_abstain"]) and answer_verdict(
            refused, question.answers, question.question, choices, question.answer_index)[0]
    if question.withheld:
        # The answer was removed from the corpus: saying it anyway means the model answered from memory.
        verdicts["from_memory"] = (not abstained) and contains(strip_citations(text), question.withheld)
    if question.payload:
        verdicts["obeyed"] = (not abstained) and contains(strip_citations(text), question.payload)
    return verdicts


def make_record(question: EvalQuestion, answer: Any = None, k: int = 1, error: str | None = None) -> dict[str, Any]:
    """The results.json entry of one question from its `Answer` (or the error that stopped it)."""
    fields = _answer_fields(answer)
    verdicts = _verdicts(question, fields, k)
    del fields["evidence_text"]
    record = {"id": question.id, "question": question.question, "kind": question.kind, "answers": question.answers,
              "docs": question.docs, "until": question.until, "asked_on": question.asked_on, **fields,
              "verdicts": verdicts, "error": error}
    if question.choices:
        record["choices"], record["answer_index"] = question.choices, question.answer_index
    return record


def ask_one(assistant: Any, question: EvalQuestion, overrides: dict[str, Any], k: int) -> tuple[dict[str, Any], Any]:
    """Ask through the same path as `rag ask`: (record, Answer). A RagError (e.g. a prompt longer than the
    model's context) becomes a failed record, counted wrong, and the run goes on."""
    from rag.answer.retrieve import Filters

    filters = Filters(until=question.until) if question.until else None
    asked = {"asked_on": question.asked_on} if question.asked_on else {}
    try:
        answer = assistant.ask(question.question, filters, None, **asked, **overrides)
    except RagError as exc:
        return make_record(question, None, k, error=f"{type(exc).__name__}: {exc}"), None
    return make_record(question, answer, k), answer


def _effective_config(assistant: Any, overrides: dict[str, Any]) -> dict[str, Any] | None:
    config = getattr(assistant, "config", None)
    if isinstance(config, Config):
        return asdict(replace(config, **overrides))
    return None


@dataclass
class _Setup:
    """The assistant in use and the model/chunking settings it was made for."""

    assistant: Any
    build: dict[str, Any] | None = None


def _assistant_for(settings: dict[str, Any], build: dict[str, Any], setup: _Setup,
                   make_assistant: Callable[[dict[str, Any]], Any] | None) -> float | None:
    """Make a new assistant when the model or chunking changes; the seconds it took (None: reused)."""
    if make_assistant is not None and (setup.assistant is None or build != setup.build):
        setup.assistant = None
        gc.collect()  # let the previous model go before the next one loads
        started = time.perf_counter()
        setup.assistant, setup.build = make_assistant(build), build
        return time.perf_counter() - started
    if build and make_assistant is None:
        raise SweepError(f"Configuration {config_name(settings)!r} changes {', '.join(build)}, which needs "
                         "a new model or index: pass make_assistant.")
    return None


def _entry(settings: dict[str, Any], assistant: Any, overrides: dict[str, Any], records: list[dict[str, Any]],
           names: tuple | None, setup_seconds: float | None) -> dict[str, Any]:
    config = getattr(assistant, "config", None)
    effective = _effective_config(assistant, overrides)
    entry = {
        "name": config_name(settings), "settings": settings, "config": effective,
        "model": (effective or {}).get("model") or getattr(config, "model", None),
        "embedder": (effective or {}).get("embedder") or getattr(config, "embedder", None),
        "setup_seconds": setup_seconds,  # index build and model load before the questions
        # Answers whose confidence is below it were withheld: the risk-coverage curve marks it.
        "threshold": getattr(getattr(assistant, "calibration", None), "threshold", None),
        "metrics": aggregate(records), "records": records,
    }
    if names:  # the names the answers report win: they are what actually ran
        entry["model"], entry["embedder"] = names[0] or entry["model"], names[1] or entry["embedder"]
    generator = getattr(assistant, "_generator", None)  # loaded by the questions; a stand-in may have none
    if generator is not None:
        from rag.models.identity import identity_of

        # What `rag eval calibrate` files the calibration under: the GGUF's digest, or the server's model id.
        entry["model_identity"] = asdict(identity_of(generator))
    return entry


def run_eval(questions: list[EvalQuestion], assistant: Any = None, configs: list[dict[str, Any]] | None = None, *,
             make_assistant: Callable[[dict[str, Any]], Any] | None = None, on_question: OnQuestion | None = None,
             log: Callable[[str], None] | None = None,
             rescore: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Ask every question under every configuration; return the results (meta is left to the caller).

    `assistant` is anything with `ask(question, filters, on_token, **overrides) -> Answer` (and optionally a
    `config`); ask-only settings of a configuration go to it as overrides. With `make_assistant`, it is called
    with each configuration's model/chunking settings (possibly {}) to get the assistant, and only again when
    those change; without it, a configuration that sets a model or chunking is an error. `rescore`, when
    given, replaces each record (a benchmark's own judging, see benchmarks.Benchmark).
    """
    if not questions:
        raise RagError("No questions to ask.")
    if assistant is None and make_assistant is None:
        raise ValueError("run_eval needs an assistant or make_assistant")
    configs = configs or [{}]
    setup, results = _Setup(assistant), []
    for settings in configs:
        build, overrides = split_settings(settings)
        setup_seconds = _assistant_for(settings, build, setup, make_assistant)
        k = int(overrides.get("k", getattr(getattr(setup.assistant, "config", None), "k", 0)) or 0)
        records, names = [], None
        for question in questions:
            record, answer = ask_one(setup.assistant, question, overrides, k or 1)
            records.append(rescore(record) if rescore else record)
            if names is None and answer is not None:
                names = (getattr(answer, "model", None), getattr(answer, "embedder", None))
            if on_question:
                on_question(config_name(settings))
        results.append(_entry(settings, setup.assistant, overrides, records, names, setup_seconds))
        if log and len(configs) > 1:
            log(summary_line(results[-1]))
    return {"configurations": results}


def summary_line(entry: dict[str, Any]) -> str:
    m = entry["metrics"]

    def f(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    total = m["latency_s"]["total"]
    truthful = (f"truthfulness {f(m['truthfulness'])} (coverage {f(m['coverage'])}, accuracy of the answered "
                f"{f(m['answered_accuracy'])}), ") if "truthfulness" in m else ""
    return (f"[{entry['name']}] {truthful}accuracy {f(m['accuracy'])} ({m['correct']}/{m['answerable']}), "
            f"abstention P {f(m['abstention_precision'])} R {f(m['abstention_recall'])}, "
            f"recall@k {f(m['recall_at_k'])}, citation precision {f(m['citation_precision'])}, "
            f"dangling {m['dangling_total']}, total p50 {f(total['p50'])} s"
            + (f", {m['errors']} failed" if m["errors"] else ""))
