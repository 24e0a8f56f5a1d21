"""What differs between OpenAI-compatible model servers: how a grammar is sent, how text is tokenized.

Chosen from what the server reports in GET /v1/models (`owned_by`), or named with the model_server setting:

| kind | answer grammar (GBNF) | tokens counted by |
|---|---|---|
| llama.cpp (`llama-server`) | `grammar` | POST /tokenize |
| llama-cpp-python (`python -m llama_cpp.server`) | `grammar` | POST /extras/tokenize/count |
| vllm | `structured_outputs.grammar` (from 0.11; `guided_grammar` before) | POST /tokenize |
| ollama, openai (anything else) | none: the parser reads loose output | an estimate (tiktoken cl100k) |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

Post = Callable[[str, dict], dict]  # POST a JSON body to a path under the server's root, return its JSON


@dataclass(frozen=True)
class ServerKind:
    """One kind of model server: the request fields it needs and the tokenize endpoint it offers."""

    name: str
    grammar_field: str = ""  # "" when the server takes no GBNF grammar
    # Sampling fields for the in-process defaults: llama-cpp-python's server repeats-penalises by default (1.1),
    # the in-process path does not, so greedy answers would differ.
    sampling: dict[str, Any] = field(default_factory=dict)
    tokenize_path: str = ""

    @property
    def constrained(self) -> bool:
        return bool(self.grammar_field)

    def grammar_fields(self, grammar: str | None) -> dict[str, Any]:
        """The request fields that constrain the answer to `grammar`."""
        if not grammar or not self.grammar_field:
            return {}
        outer, _, inner = self.grammar_field.partition(".")
        return {outer: {inner: grammar}} if inner else {outer: grammar}

    def count(self, post: Post, model_id: str, text: str) -> int | None:
        """Tokens of `text` as the served model counts them (no BOS), or None when this server cannot say."""
        if self.name == "llama.cpp":
            return len(post(self.tokenize_path, {"content": text, "add_special": False})["tokens"])
        if self.name == "llama-cpp-python":
            return int(post(self.tokenize_path, {"input": text, "model": model_id})["count"])
        if self.name == "vllm":
            body = {"model": model_id, "prompt": text, "add_special_tokens": False}
            return int(post(self.tokenize_path, body)["count"])
        return None


KINDS = {
    "llama.cpp": ServerKind("llama.cpp", "grammar", {"repeat_penalty": 1.0}, "/tokenize"),
    "llama-cpp-python": ServerKind("llama-cpp-python", "grammar", {"repeat_penalty": 1.0},
                                   "/extras/tokenize/count"),
    "vllm": ServerKind("vllm", "structured_outputs.grammar", {}, "/tokenize"),
    "vllm-legacy": ServerKind("vllm", "guided_grammar", {}, "/tokenize"),
    "ollama": ServerKind("ollama"),
    "openai": ServerKind("openai"),
}


def detect(model: dict[str, Any], setting: str = "auto", vllm_version: Callable[[], str] = lambda: "") -> ServerKind:
    """The kind named by the setting, else the one the server's model entry betrays."""
    name = setting
    if setting == "auto":
        owner = str(model.get("owned_by") or "").lower()
        if owner == "llamacpp":
            name = "llama.cpp"
        elif owner == "me" and "permissions" in model:  # llama-cpp-python's server lists models this way
            name = "llama-cpp-python"
        elif owner == "vllm":
            name = "vllm"
        elif owner in ("library", "ollama"):
            name = "ollama"
        else:
            name = "openai"
    if name == "vllm" and _older(vllm_version(), (0, 11)):
        name = "vllm-legacy"
    return KINDS[name]


def _older(version: str, than: tuple[int, ...]) -> bool:
    """Whether a version string like "0.10.1" is below `than` (an unreadable one is taken as current)."""
    try:
        numbers = tuple(int(part) for part in version.split(".")[:len(than)])
    except ValueError:
        return False
    return bool(numbers) and numbers < than
