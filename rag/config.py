"""Settings: defaults < rag.toml < RAG_* environment variables < command-line flags."""

from __future__ import annotations

import os
import re
import shlex
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from rag.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
MAX_K = 50  # more passages than this do not fit any model's context; a larger k is a typo


def _sweep(default: Any, scope: str) -> Any:
    """A setting `rag eval --sweep` may vary: "ask" (per question), "model" (a model per value) or "index" (an
    index per value)."""
    return field(default=default, metadata={"sweep": scope})


@dataclass(frozen=True)
class Config:
    """Every tunable of ingest, retrieval and generation, with the defaults we measured best."""

    index_dir: str = field(default="index", metadata={"env": "RAG_INDEX"})  # a folder or a postgresql:// URL
    embedder: str = "all-minilm-l6-v2"
    embedder_device: str = "cpu"  # where torch embeds chunks: "cpu", or a GPU ("cuda", "cuda:1", "mps")
    model: str = _sweep("qwen2.5-coder-1.5b", "model")  # a registry name, a .gguf path, or an http(s):// model server
    # A model server (model = http://host:port/v1): which of its models (default: the only one it serves), what
    # kind of server it is (auto: from what it reports; decides how the answer grammar is sent), and how long it
    # may stay silent. Its API key comes only from the environment (RAG_LLM_API_KEY), never from a setting.
    model_id: str = ""
    model_server: str = "auto"
    model_timeout: float = 300.0
    # Ask the model server for log-probabilities (three of the confidence's signals). llama-cpp-python's server
    # computes them slowly (~190 ms a token on 2 cores: an answer 2x slower); false leaves them out, and the
    # confidence rests on its other signals, as with a server that gives none.
    model_logprobs: bool = True
    chunk_tokens: int = _sweep(128, "index")
    overlap: int = _sweep(24, "index")
    k: int = _sweep(4, "ask")  # articles the evidence may come from
    # chunks retrieved (hybrid) whose articles' sentences are scored for the evidence
    candidates: int = _sweep(24, "ask")
    evidence_tokens: int = _sweep(200, "ask")  # budget for the evidence sentences, in the LLM's own tokens
    max_sentences: int = _sweep(8, "ask")  # evidence sentences at most
    fetch_k: int = _sweep(30, "ask")  # candidates taken from each retriever before fusion
    rrf_k: int = _sweep(60, "ask")  # reciprocal-rank-fusion constant
    # A question about the present ("this week", "latest", "now") searches the days before it is asked first; the
    # whole index fills what they leave of `candidates`. 0: one search of everything.
    recent_days: int = _sweep(14, "ask")
    dense_weight: float = _sweep(1.0, "ask")
    bm25_weight: float = _sweep(1.0, "ask")
    max_answer_tokens: int = _sweep(200, "ask")  # quotes and answer together
    temperature: float = _sweep(0.0, "ask")
    # Greedy answers: text the reply copies is guessed and checked in one batch instead of written token by token:
    # a quote's rest from the evidence sentence it began (rag.answer.quote_drafts), the lines' fixed openings and
    # the answer's words from its own quotes (rag.answer.reply_guesses).
    draft_quotes: bool = _sweep(True, "ask")
    draft_tokens: int = 0  # greedy answers: tokens drafted from the prompt per batch (rag.models.decoding); 0: off
    n_ctx: int = 4096
    threads: int = 0  # llama.cpp threads; 0: one per core
    # llama.cpp's repacking of the weights at load for its AVX2 kernels: "auto" takes the layout this machine's
    # probe timed faster for a cold answer (rag.models.llama_layout; untimed: off on AVX-512 CPUs, where it reads
    # prompts ~30% slower here); "on" / "off" force it.
    llama_repack: str = "auto"
    # llama.cpp's AMX kernels (Intel Xeons since Sapphire Rapids), read when it is built (`make rebuild-llama`):
    # "auto" builds them, mended, where the CPU has AMX (rag.models.llama_build); "on" / "off" force it.
    llama_amx: str = "auto"
    # The weights llama.cpp reads: "auto" a Q8_0 copy of a model of under 8 bits a weight where llama.cpp has AMX
    # kernels (their tiles read prompts ~1.6x faster from it on the project's Xeon; rag.models.weights), else as
    # shipped; "shipped" or "q8_0".
    llama_weights: str = "auto"
    prompts_dir: str = ""  # a folder of prompt templates; empty = the bundled prompts/
    calibration: str = _sweep("", "ask")  # a calibration JSON ("": the model's own, rag.answer.calibrations)
    cache_dir: str = str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rag-news")
    max_file_mb: float = 20.0  # ingest: a file (in a .jsonl: a line) larger than this is skipped unread
    max_chunks: int = 1000  # ingest: a longer document is skipped (the longest RealTimeQA article needs ~250)
    fetch_timeout: float = 20.0  # ingest of URLs: seconds a feed or page may take, then it is skipped
    fetch_interval: float = 1.0  # ingest of URLs: seconds between two requests to the same host
    sources: tuple[str, ...] = ()  # `rag sync`: folders, files, feed and page URLs (RAG_SOURCES: space-separated)
    sync_every: str = ""  # rag serve / rag ui: sync the sources this often in the background ("30m"; "": never)
    ui_allow_uploads: bool = False  # chat: the "Add articles" panel; off, no browser can add files to the index
    ui_queue_size: int = 10  # chat: questions that may wait for the model; one more is refused politely
    serve_queue_size: int = 10  # rag serve: API requests that may wait for the model; one more gets 429
    serve_timeout: float = 300.0  # rag serve: seconds a chat request may take, waiting included; then 504
    serve_max_body_kb: int = 256  # rag serve: larger request bodies get 413
    serve_max_question_chars: int = 2000  # rag serve: longer questions get 413
    # `rag ingest --ray`: the cluster's address (Ray's own RAY_ADDRESS; "": start a local Ray), the embedding
    # workers (0: one per CPU of the cluster) and the documents each worker embeds per call (~8 chunks each).
    ray_address: str = field(default="", metadata={"env": "RAY_ADDRESS"})
    ray_workers: int = 0
    ray_batch_size: int = 16
    ray_gpus_per_worker: float = 0.0  # GPUs each embedding worker takes (0: CPUs only); it then embeds on "cuda"


# The lowest and highest value of the numeric settings that have limits (None: no limit that way).
_LIMITS: dict[str, tuple[float | None, float | None]] = {
    "k": (1, MAX_K), "fetch_k": (1, None), "rrf_k": (0, None), "recent_days": (0, None), "chunk_tokens": (16, 2048),
    "overlap": (0, None),
    "candidates": (1, 200), "evidence_tokens": (16, None), "max_sentences": (1, 50), "max_answer_tokens": (1, None),
    "temperature": (0, None), "draft_tokens": (0, 64), "n_ctx": (256, None),
    "threads": (0, None), "max_file_mb": (0.001, None), "max_chunks": (1, None),
    "fetch_timeout": (0.1, None), "fetch_interval": (0, None), "ui_queue_size": (1, None),
    "serve_queue_size": (0, None), "serve_timeout": (1, None), "serve_max_body_kb": (1, None),
    "serve_max_question_chars": (1, None), "model_timeout": (1, None), "ray_workers": (0, None),
    "ray_batch_size": (1, None), "ray_gpus_per_worker": (0, None),
}
# The values the llama.cpp settings take; rag.models.llama_layout and .weights read them from here, so the config
# imports nothing from the models (which read the config).
REPACK_CHOICES = ("auto", "on", "off")
AMX_CHOICES = ("auto", "on", "off")
WEIGHTS_CHOICES = ("auto", "shipped", "q8_0")
MODEL_SERVERS = ("auto", "llama.cpp", "llama-cpp-python", "vllm", "ollama", "openai")


def check(config: Config) -> Config:
    """The config itself if every setting is in range; otherwise ConfigError naming the settings at fault."""
    for name, (low, high) in _LIMITS.items():
        value = getattr(config, name)
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise ConfigError(f"{name} must be {bounds}, got {value}.", settings=(name,))
    for name, choices in (("llama_repack", REPACK_CHOICES), ("llama_amx", AMX_CHOICES),
                          ("llama_weights", WEIGHTS_CHOICES), ("model_server", MODEL_SERVERS)):
        if getattr(config, name) not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {getattr(config, name)!r}.",
                              settings=(name,))
    if config.sync_every:
        every_seconds(config.sync_every)  # ConfigError naming the setting when it is not a duration
    if config.overlap >= config.chunk_tokens:
        raise ConfigError(f"overlap ({config.overlap}) must be smaller than chunk_tokens ({config.chunk_tokens}).",
                          settings=("overlap", "chunk_tokens"))
    return config


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def every_seconds(text: str) -> float:
    """"90s", "30m", "2h", "1d" in seconds; ConfigError (naming sync_every) for anything else, or under a minute."""
    match = _DURATION.match(str(text))
    seconds = float(match[1]) * _UNIT_SECONDS[match[2].lower()] if match else 0.0
    if seconds < 60:
        raise ConfigError(f"sync_every must be a duration of at least a minute with its unit, such as 30m, 2h or "
                          f"90s, got {text!r}.", settings=("sync_every",))
    return seconds


def _coerce(name: str, value: Any, target: type) -> Any:
    """Turn a TOML or environment value into the field's type, or say which setting is wrong."""
    if target is tuple:
        if isinstance(value, str):
            return tuple(shlex.split(value))  # the environment: space-separated, quotes for paths with spaces
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ConfigError(f"Setting {name!r} must be a list of strings, got {value!r}.")
    try:
        if target is bool:
            return _boolean(value)
        if target is int and not isinstance(value, bool):
            return int(value)
        if target is float:
            return float(value)
        if target is str:
            return str(value)
    except (TypeError, ValueError, KeyError):
        pass
    raise ConfigError(f"Setting {name!r} must be {target.__name__}, got {value!r}.")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    words = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}
    return words[str(value).strip().lower()]  # KeyError: not a yes/no word, reported by _coerce


def sweep_scopes() -> dict[str, str]:
    """The settings `rag eval --sweep` may vary, each with its scope ("model", "index" or "ask"), in field order."""
    return {f.name: f.metadata["sweep"] for f in fields(Config) if "sweep" in f.metadata}


def environment_names() -> dict[str, str]:
    """Each setting's environment variable: RAG_<NAME>, except the index, which is RAG_INDEX as for --index."""
    return {f.name: f.metadata.get("env", f"RAG_{f.name.upper()}") for f in fields(Config)}


def setting_types() -> dict[str, type]:
    """Each setting's type, for reading it from text (TOML, environment, --sweep)."""
    kinds = {"int": int, "float": float, "str": str, "bool": bool, "tuple[str, ...]": tuple}
    return {f.name: kinds[f.type] for f in fields(Config)}


def _apply(config: Config, values: Mapping[str, Any], origin: str) -> Config:
    types = setting_types()
    changes = {}
    for name, value in values.items():
        if value is None:
            continue
        if name not in types:
            raise ConfigError(f"Unknown setting {name!r} in {origin}; known: {', '.join(sorted(types))}.")
        changes[name] = _coerce(name, value, types[name])
    return replace(config, **changes)


def load_config(overrides: Mapping[str, Any] | None = None, toml_path: str | Path | None = None,
                environ: Mapping[str, str] | None = None) -> Config:
    """Build the Config from every layer; `overrides` are the flags (None means "not given"); checked by check()."""
    environ = os.environ if environ is None else environ
    config = Config()
    path = Path(toml_path or environ.get("RAG_CONFIG", "rag.toml"))
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
        config = _apply(config, data.get("rag", data), str(path))
    env_values = {name: environ[variable] for name, variable in environment_names().items() if variable in environ}
    config = _apply(config, env_values, "the environment")
    return check(_apply(config, overrides or {}, "the command line"))
