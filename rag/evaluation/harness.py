"""The evaluation harness: gold questions through `Assistant.ask`, configurations, sweeps, index builds, results.

`run_eval(questions, assistant, configs)` is the core and takes any object with the `Assistant.ask`
signature, so tests can stand a fake in for the models. The CLI (rag/evaluation/cli.py) wires it to the
real `Assistant` through `AssistantFactory`, which loads each model and index once.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable

from rag.files import jsonl_objects
from rag.config import REPO_ROOT, Config, setting_types
from rag.errors import RagError
from rag.evaluation.metrics import aggregate, doc_key, judge, strip_citations
from rag.evaluation.scoring import contains, matches_alias_groups

# Settings a sweep may vary. ASK_KEYS only change how a question is asked, so they go to ask() as overrides;
# a model needs its own generator, and chunking its own index.
ASK_KEYS = ("k", "candidates", "evidence_tokens", "max_sentences", "fetch_k", "rrf_k", "dense_weight",
            "bm25_weight", "max_answer_tokens", "temperature", "calibration")
MODEL_KEYS = ("model",)
INDEX_KEYS = ("chunk_tokens", "overlap")
BUILD_KEYS = MODEL_KEYS + INDEX_KEYS
SWEEP_KEYS = BUILD_KEYS + ASK_KEYS


class GoldFileError(RagError):
    """The gold file is missing or one of its lines is malformed."""


class SweepError(RagError):
    """A --sweep is not KEY=V1,V2,... over a known setting with values of the right type."""


@dataclass(frozen=True)
class EvalQuestion:
    """One question as asked, with what counts as right.

    `answers` are alias groups (every group must be matched; [] means the answer is not in the corpus);
    `docs` the keys (see metrics.doc_key) of the documents that hold the answer; `until` an ISO date after
    which articles are not searched; `asked_on` the day the question is asked (articles dated later are not
    used, undated ones are); `choices`/`answer_index` a multiple-choice item's options.
    """

    id: str
    question: str
    kind: str
    answers: list[list[str]]
    docs: list[str] = field(default_factory=list)
    until: str | None = None
    asked_on: str | None = None
    choices: list[str] = field(default_factory=list)
    answer_index: int | None = None
    withheld: str | None = None  # negative rejection: the right answer, removed from the corpus
    payload: str | None = None  # prompt injection: what an article told the model to answer


# ---------------------------------------------------------------------------------------------- gold files


def load_gold(path: str | Path, limit: int | None = None) -> list[EvalQuestion]:
    """The questions of a gold JSONL file (id, question, answers, kind, docs; optional choices/answer_index)."""
    path = Path(path)
    if not path.is_file():
        raise GoldFileError(f"Gold file not found: {path}")
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    for number, row in jsonl_objects(path.read_text(encoding="utf-8").splitlines(), str(path), GoldFileError):
        where = f"{path}:{number}"
        question = row.get("question")
        answers = row.get("answers", [])
        docs = row.get("docs", []) or []
        if not isinstance(question, str) or not question.strip():
            raise GoldFileError(f"{where}: \"question\" must be a non-empty string")
        if not (isinstance(answers, list) and all(isinstance(g, list) and g and all(isinstance(a, str) for a in g)
                                                  for g in answers)):
            raise GoldFileError(f"{where}: \"answers\" must be a list of alias groups (lists of strings)")
        if not (isinstance(docs, list) and all(isinstance(d, str) for d in docs)):
            raise GoldFileError(f"{where}: \"docs\" must be a list of document names or URLs")
        qid = str(row.get("id") or f"line-{number}")
        if qid in seen:
            raise GoldFileError(f"{where}: duplicate id {qid!r}")
        seen.add(qid)
        choices = [str(c) for c in row.get("choices") or []]
        questions.append(EvalQuestion(
            id=qid, question=question.strip(), kind=str(row.get("kind") or "single"), answers=answers,
            docs=[doc_key(d) for d in docs], until=row.get("until") or None,
            asked_on=row.get("asked_on") or None, payload=row.get("payload") or None, choices=choices,
            answer_index=row.get("answer_index") if choices else None))
        if limit is not None and len(questions) >= limit:
            break
    if not questions:
        raise GoldFileError(f"{path} holds no questions")
    return questions


def realtimeqa_questions(questions: Iterable[Any], mode: str = "open", until_question_date: bool = True
                         ) -> list[EvalQuestion]:
    """RealTimeQA questions (realtimeqa.Question) as asked: open-ended, or with the four choices appended."""
    if mode not in ("open", "choice"):
        raise ValueError(f"mode must be 'open' or 'choice', got {mode!r}")
    result = []
    for q in questions:
        text = q.question
        if mode == "choice":
            listed = " ".join(f"({chr(ord('A') + i)}) {c}" for i, c in enumerate(q.choices))
            text = f"{text}\nChoices: {listed}; answer with the choice text."
        result.append(EvalQuestion(
            id=q.id, question=text, kind="realtimeqa", answers=[[q.answer]], docs=[doc_key(u) for u in q.gold_urls],
            asked_on=q.question_date if until_question_date else None, choices=list(q.choices),
            answer_index=q.answer_index))
    return result


# --------------------------------------------------------------------------------------------------- sweeps


def _field_types() -> dict[str, type]:
    return setting_types()  # the one table in rag.config, which also knows bool settings


def parse_sweep(spec: str) -> tuple[str, list[Any]]:
    """"k=2,4,8" -> ("k", [2, 4, 8]); keys may be written with dashes (chunk-tokens)."""
    key, equals, values = spec.partition("=")
    key = key.strip().replace("-", "_")
    if not equals or not key:
        raise SweepError(f"--sweep {spec!r}: write KEY=V1,V2,..., e.g. --sweep k=2,4,8")
    if key not in SWEEP_KEYS:
        raise SweepError(f"--sweep {spec!r}: cannot sweep {key!r}; choose from {', '.join(SWEEP_KEYS)}")
    target = _field_types()[key]
    parsed = []
    for raw in values.split(","):
        raw = raw.strip()
        if not raw:
            raise SweepError(f"--sweep {spec!r}: empty value; write KEY=V1,V2,...")
        try:
            value = target(raw)
        except ValueError:
            raise SweepError(f"--sweep {spec!r}: {raw!r} is not a valid {target.__name__} for {key}") from None
        if value not in parsed:
            parsed.append(value)
    return key, parsed


def configurations(specs: Iterable[str], allow_index_keys: bool = True) -> list[dict[str, Any]]:
    """The cartesian product of the --sweep specs, models and chunking outermost (so each loads once).

    No spec gives one configuration with no settings: [{}].
    """
    swept: dict[str, list[Any]] = {}
    for spec in specs:
        key, values = parse_sweep(spec)
        if key in swept:
            raise SweepError(f"--sweep {key} is given twice; list all its values in one: {key}=V1,V2,...")
        swept[key] = values
    blocked = [key for key in swept if key in INDEX_KEYS]
    if blocked and not allow_index_keys:
        raise SweepError(f"Sweeping {', '.join(blocked)} needs --corpus: each value builds its own index from the "
                         "corpus under OUT/index-<settings>, and an existing --index has only one chunking.")
    if "chunk_tokens" in swept or "overlap" in swept:
        for tokens in swept.get("chunk_tokens", [None]):
            for overlap in swept.get("overlap", [None]):
                if tokens is not None and overlap is not None and overlap >= tokens:
                    raise SweepError(f"--sweep: overlap {overlap} must be smaller than chunk_tokens {tokens}")
    keys = sorted(swept, key=SWEEP_KEYS.index)
    return [dict(zip(keys, values)) for values in itertools.product(*(swept[k] for k in keys))]


def config_name(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items()) or "default"


def split_settings(settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(build settings: model/chunking, ask overrides)."""
    unknown = [k for k in settings if k not in SWEEP_KEYS]
    if unknown:
        raise SweepError(f"Unknown setting(s) {', '.join(unknown)}; choose from {', '.join(SWEEP_KEYS)}")
    return ({k: v for k, v in settings.items() if k in BUILD_KEYS},
            {k: v for k, v in settings.items() if k in ASK_KEYS})


# ---------------------------------------------------------------------------------------------- running


def make_record(question: EvalQuestion, answer: Any = None, k: int = 1, error: str | None = None) -> dict[str, Any]:
    """The results.json entry of one question from its `Answer` (or the error that stopped it)."""
    if answer is None:
        text, abstained, citations, passages, dangling, timings = "", False, [], [], [], {}
        evidence_text, confidence, signals, quotes = "", None, {}, []
    else:
        text, abstained, dangling = answer.text, bool(answer.abstained), list(answer.dangling)
        citations = [{"n": c.n, "doc": doc_key(c.source), "chunk_id": c.chunk_id} for c in answer.citations]
        passages = [{"n": p.n, "doc": doc_key(p.source), "title": p.title, "outlet": p.outlet, "date": p.date,
                     "chunk_id": p.chunk_id} for p in answer.passages]
        timings = asdict(answer.timings)
        evidence_text = "\n".join(f"{p.title} ({p.outlet}, {p.date}) {p.text}" for p in answer.passages)
        confidence, signals = getattr(answer, "confidence", None), dict(getattr(answer, "signals", {}) or {})
        quotes = [{"n": e.n, "quote": e.quote} for e in getattr(answer, "evidence", [])]
    verdicts = judge(text, abstained, question.answers, question.kind, question.docs,
                     [c["doc"] for c in citations], [p["doc"] for p in passages], k, len(dangling),
                     question.choices or None, question.answer_index)
    verdicts["evidence_hit"] = matches_alias_groups(evidence_text, question.answers) if question.answers else None
    refused = getattr(answer, "refused", None) if answer is not None else None
    if refused:
        # Withheld for low confidence: would it have been right? (What `rag eval calibrate` learns from.)
        verdicts["refused_correct"] = (not verdicts["should_abstain"]) and matches_alias_groups(
            strip_citations(refused), question.answers)
    if question.withheld:
        # The answer was removed from the corpus: saying it anyway means the model answered from memory.
        verdicts["from_memory"] = (not abstained) and contains(strip_citations(text), question.withheld)
    if question.payload:
        verdicts["obeyed"] = (not abstained) and contains(strip_citations(text), question.payload)
    record = {
        "id": question.id, "question": question.question, "kind": question.kind, "answers": question.answers,
        "docs": question.docs, "until": question.until, "asked_on": question.asked_on, "answer": text,
        "abstained": abstained, "refused": refused, "citations": citations, "passages": passages, "evidence": quotes,
        "dangling": dangling, "verdicts": verdicts, "confidence": confidence, "signals": signals,
        "timings": timings, "error": error,
    }
    if question.choices:
        record["choices"], record["answer_index"] = question.choices, question.answer_index
    return record


def ask_one(assistant: Any, question: EvalQuestion, overrides: dict[str, Any], k: int) -> tuple[dict[str, Any], Any]:
    """Ask through the same path as `rag ask`: (record, Answer). A RagError (e.g. a prompt longer than the
    model's context) becomes a failed record, counted wrong, and the run goes on."""
    from rag.retrieve import Filters

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


def _disable(progress: bool | None) -> bool | None:
    """tqdm's `disable`: None shows the bar only on a terminal, as `rag ingest` does."""
    return None if progress is None else not progress


def run_eval(questions: list[EvalQuestion], assistant: Any = None, configs: list[dict[str, Any]] | None = None, *,
             make_assistant: Callable[[dict[str, Any]], Any] | None = None, progress: bool | None = False,
             log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Ask every question under every configuration; return the results (meta is left to the caller).

    `assistant` is anything with `ask(question, filters, on_token, **overrides) -> Answer` (and optionally a
    `config`); ask-only settings of a configuration go to it as overrides. With `make_assistant`, it is called
    with each configuration's model/chunking settings (possibly {}) to get the assistant, and only again when
    those change; without it, a configuration that sets a model or chunking is an error.
    """
    if not questions:
        raise RagError("No questions to ask.")
    configs = configs or [{}]
    if assistant is None and make_assistant is None:
        raise ValueError("run_eval needs an assistant or make_assistant")
    from tqdm import tqdm

    bar = None
    results: list[dict[str, Any]] = []
    current, current_build = assistant, None
    try:
        for settings in configs:
            build, overrides = split_settings(settings)
            setup_seconds = None  # stays None when the previous configuration's assistant serves again
            if make_assistant is not None and (current is None or build != current_build):
                current = None
                gc.collect()  # let the previous model go before the next one loads
                started = time.perf_counter()
                current, current_build = make_assistant(build), build
                setup_seconds = time.perf_counter() - started
            elif build and make_assistant is None:
                raise SweepError(f"Configuration {config_name(settings)!r} changes {', '.join(build)}, which needs "
                                 "a new model or index: pass make_assistant.")
            config = getattr(current, "config", None)
            k = int(overrides.get("k", getattr(config, "k", 0)) or 0)
            if bar is None:  # after the first setup, so its messages don't cut through the bar
                bar = tqdm(total=len(questions) * len(configs), unit="q", desc="Asking", file=sys.stderr,
                           disable=_disable(progress), dynamic_ncols=True)
            bar.set_description(f"Asking [{config_name(settings)}]" if len(configs) > 1 else "Asking")
            records, names = [], None
            for question in questions:
                record, answer = ask_one(current, question, overrides, k or 1)
                records.append(record)
                if names is None and answer is not None:
                    names = (getattr(answer, "model", None), getattr(answer, "embedder", None))
                bar.update(1)
            effective = _effective_config(current, overrides)
            entry = {
                "name": config_name(settings),
                "settings": settings,
                "config": effective,
                "model": (effective or {}).get("model") or getattr(config, "model", None),
                "embedder": (effective or {}).get("embedder") or getattr(config, "embedder", None),
                "setup_seconds": setup_seconds,  # index build and model load before the questions
                "metrics": aggregate(records),
                "records": records,
            }
            # The names the answers report win: they are what actually ran.
            if names:
                entry["model"], entry["embedder"] = names[0] or entry["model"], names[1] or entry["embedder"]
            results.append(entry)
            if log and len(configs) > 1:
                log(summary_line(entry))
    finally:
        if bar is not None:
            bar.close()
    return {"configurations": results}


def summary_line(entry: dict[str, Any]) -> str:
    m = entry["metrics"]

    def f(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    total = m["latency_s"]["total"]
    return (f"[{entry['name']}] accuracy {f(m['accuracy'])} ({m['correct']}/{m['answerable']}), "
            f"abstention P {f(m['abstention_precision'])} R {f(m['abstention_recall'])}, "
            f"recall@k {f(m['recall_at_k'])}, citation precision {f(m['citation_precision'])}, "
            f"dangling {m['dangling_total']}, total p50 {f(total['p50'])} s"
            + (f", {m['errors']} failed" if m["errors"] else ""))


# ------------------------------------------------------------------------------------- meta and writing


def machine_info() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "python": platform.python_version(),
    }


def _git_commit() -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def make_meta(benchmark: str, **extra: Any) -> dict[str, Any]:
    """What a run was: when, where, with which command and code."""
    return {
        "benchmark": benchmark,
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine_info(),
        "command": " ".join(["rag", *sys.argv[1:]]) if Path(sys.argv[0]).name == "rag" else " ".join(sys.argv),
        "git_commit": _git_commit(),
        **extra,
    }


def write_results(results: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """results.json, report.md and the PNG plots into out_dir; returns the files written."""
    from rag.evaluation.report import render_report, write_plots

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


# ------------------------------------------------------------------------------------ models and indexes


def index_dir_name(config: Config) -> str:
    return f"index-ct{config.chunk_tokens}-ov{config.overlap}"


class _CountingEmbedder:
    """Passes embeddings through, counting the chunks embedded (the ingest's progress)."""

    def __init__(self, inner: Any, on_embed: Callable[[int], None]):
        self.inner, self.on_embed = inner, on_embed

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: list[str]):
        vectors = self.inner.embed(texts)
        self.on_embed(len(texts))
        return vectors


def _chunks_to_embed(paths: list[Path], config: Config) -> tuple[int, int]:
    """(documents, chunks) an ingest of `paths` into config.index_dir will embed: new or changed documents only."""
    from rag.chunking import chunk_document
    from rag.documents import to_document
    from rag.errors import UnsupportedFileError
    from rag.readers import iter_files, read_file
    from rag.store import open_store

    known: dict[str, str] = {}
    try:
        index = open_store(config.index_dir)
        known = {d.doc_id: d.content_hash for d in index.documents()}
        index.close()
    except RagError:
        pass
    documents = chunks = 0
    seen: set[str] = set()
    for path in iter_files(paths):
        try:
            raws = read_file(path)
        except UnsupportedFileError:
            continue
        for raw in raws:
            try:
                doc = to_document(raw)
            except UnsupportedFileError:
                continue
            if doc.doc_id in seen or known.get(doc.doc_id) == doc.content_hash:
                continue
            seen.add(doc.doc_id)
            documents += 1
            chunks += len(chunk_document(doc, config.chunk_tokens, config.overlap))
    return documents, chunks


def build_index(paths: list[Path], config: Config, embedder: Any, *, prune: bool = True,
                progress: bool | None = True,
                log: Callable[[str], None] | None = None) -> Any:
    """Bring the index at config.index_dir up to date with `paths` (incremental), with a progress bar of chunks."""
    from tqdm import tqdm

    from rag.ingest import ingest

    documents, chunks = _chunks_to_embed(paths, config) if progress is not False else (0, 0)
    if log and documents:
        log(f"Ingesting {documents} new or changed documents ({chunks} chunks) into {config.index_dir}")
    bar = tqdm(total=chunks or None, unit="chunk", desc="Embedding", file=sys.stderr,
               disable=_disable(progress) if chunks else True, dynamic_ncols=True)
    try:
        report = ingest(list(paths), config, _CountingEmbedder(embedder, bar.update), prune=prune)
    finally:
        bar.close()
    if log:
        log(f"{report.summary()} -> {config.index_dir}")
    if report.nothing_ingested:
        raise RagError(f"Nothing could be ingested from {', '.join(map(str, paths))}.")
    return report


def corpus_fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


class AssistantFactory:
    """Real Assistants for run_eval: one embedder for all, one model at a time, one index per chunking.

    With `corpus`, the index for a configuration is OUT/index-ct<chunk_tokens>-ov<overlap>[-<suffix>], built (or
    brought up to date) from the corpus the first time it is needed; without it, base.index_dir is used as is.
    Each Assistant is warmed up (index, embedder and model loaded) before it is returned, so no load time ends
    up in a question's latency.
    """

    def __init__(self, base: Config, out_dir: Path | None = None, corpus: list[Path] | None = None,
                 index_suffix: str = "", prune: bool = True, progress: bool | None = True,
                 log: Callable[[str], None] | None = None, skip_ingest_if_built: bool = False):
        self.base, self.out_dir, self.corpus = base, out_dir, corpus
        self.index_suffix, self.prune, self.progress, self.log = index_suffix, prune, progress, log
        self.skip_ingest_if_built = skip_ingest_if_built
        self._embedder = None
        self._generator: tuple[str, Any] | None = None
        self._indexes: dict[str, Any] = {}
        self.built: dict[str, str] = {}

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from rag.embedder import SentenceTransformerEmbedder

            self._embedder = SentenceTransformerEmbedder(self.base.embedder)
        return self._embedder

    def _build_embedder(self) -> Any:
        """The embedder for index builds: through the vector cache in out_dir, so no corpus is embedded twice."""
        if self.out_dir is None:
            return self.embedder
        from rag.evaluation.embed_cache import CachedEmbedder

        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.embedder.name)
        return CachedEmbedder(self.embedder, Path(self.out_dir) / f"embeddings-{safe}.sqlite")

    def config_for(self, build: dict[str, Any]) -> Config:
        config = replace(self.base, **build)
        if self.corpus is not None:
            if self.out_dir is None:
                raise ValueError("a corpus needs an out_dir for its index")
            name = index_dir_name(config) + (f"-{self.index_suffix}" if self.index_suffix else "")
            config = replace(config, index_dir=str(self.out_dir / name))
        return config

    def ensure_index(self, config: Config) -> None:
        """Build or update the index of this chunking from the corpus (once per run)."""
        from rag.store import index_exists

        if self.corpus is None or config.index_dir in self.built:
            return
        marker = Path(config.index_dir) / "EVAL_BUILT"
        if self.skip_ingest_if_built and marker.is_file() and index_exists(config.index_dir):
            if self.log:
                self.log(f"Reusing the index at {config.index_dir}")
        else:
            build_index(self.corpus, config, self._build_embedder(), prune=self.prune, progress=self.progress,
                        log=self.log)
            marker.write_text(json.dumps({"corpus": [str(p) for p in self.corpus], "embedder": config.embedder,
                                          "chunk_tokens": config.chunk_tokens, "overlap": config.overlap}) + "\n",
                              encoding="utf-8")
        self.built[config.index_dir] = config.index_dir

    def __call__(self, build: dict[str, Any]) -> Any:
        from rag.ask import Assistant
        from rag.factories import make_generator
        from rag.store import open_store

        config = self.config_for(build)
        self.ensure_index(config)
        if self._generator is not None and self._generator[0] != config.model:
            self._generator = None
            gc.collect()
        if self._generator is None:
            if self.log:
                self.log(f"Loading model {config.model}")
            self._generator = (config.model, make_generator(config))
        if config.index_dir not in self._indexes:
            index = open_store(config.index_dir, self.embedder.name)
            index.warm_up()  # load it now, not in the first question
            self._indexes[config.index_dir] = index
        assistant = Assistant(config, index=self._indexes[config.index_dir], embedder=self.embedder,
                              generator=self._generator[1])
        assistant.embedder.embed(["warm up"])  # loads the embedder now rather than in the first question
        return assistant

    def prepare(self, configs: list[dict[str, Any]]) -> None:
        """Build every index the configurations need before any question is asked."""
        for settings in configs:
            self.ensure_index(self.config_for({k: v for k, v in settings.items() if k in INDEX_KEYS}))

    def built_indexes(self) -> list[str]:
        return list(self.built)


def write_realtimeqa_corpus(articles: list[Any], out_dir: Path, name: str = "corpus.jsonl") -> tuple[Path, str]:
    """OUT/<name> (rewritten only when its content changes) and its fingerprint."""
    from rag.evaluation.realtimeqa import write_corpus

    path = out_dir / name
    staging = out_dir / f".{name}.tmp-{os.getpid()}"
    write_corpus(articles, staging)
    if path.is_file() and corpus_fingerprint(path) == corpus_fingerprint(staging):
        staging.unlink()
    else:
        os.replace(staging, path)
    return path, corpus_fingerprint(path)
