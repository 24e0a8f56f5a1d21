"""The Generator protocol and its llama.cpp implementation (a GGUF model run on the CPU)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol

from rag.errors import ModelError


@dataclass
class Usage:
    """Token counts of one generation, filled in while it streams."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


class Generator(Protocol):
    """Streams a chat answer and counts tokens the way the model itself does."""

    name: str

    def count_tokens(self, text: str) -> int: ...

    def stream(self, messages: list[dict], max_tokens: int, temperature: float, usage: Usage) -> Iterator[str]: ...


class LlamaCppGenerator:
    """A GGUF chat model through llama-cpp-python, formatted with the chat template stored in the file."""

    def __init__(self, name: str, path: Path, n_ctx: int = 4096, threads: int = 0):
        self.name = name
        try:
            import llama_cpp
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as exc:
            raise ModelError("llama-cpp-python is not installed: pip install llama-cpp-python") from exc
        try:
            self._llm = llama_cpp.Llama(str(path), n_ctx=n_ctx, n_threads=threads or None, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"Could not load {path} as a GGUF model ({exc}).") from exc
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelError(f"{path} carries no chat template; use an instruct/chat GGUF.")
        eos = self._llm.detokenize([self._llm.token_eos()], special=True).decode("utf-8", "ignore")
        bos_id = self._llm.token_bos()
        bos = self._llm.detokenize([bos_id], special=True).decode("utf-8", "ignore") if bos_id >= 0 else ""
        self._format = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        self._n_ctx = n_ctx
        # One llama.cpp context serves one request at a time; the UI's worker threads queue here.
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, messages: list[dict], max_tokens: int, temperature: float, usage: Usage) -> Iterator[str]:
        formatted = self._format(messages=messages)
        tokens = self._llm.tokenize(formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special,
                                    special=True)
        if len(tokens) + max_tokens > self._n_ctx:
            raise ModelError(f"The prompt ({len(tokens)} tokens) and answer ({max_tokens}) exceed the model's "
                             f"context of {self._n_ctx}; lower context_tokens or raise n_ctx.")
        stops = [s for s in (formatted.stop if isinstance(formatted.stop, list) else [formatted.stop]) if s]
        usage.prompt_tokens = len(tokens)
        with self._lock:
            for piece in self._llm.create_completion(tokens, max_tokens=max_tokens, temperature=temperature,
                                                     stream=True, stop=stops or None):
                usage.completion_tokens += 1
                text = piece["choices"][0]["text"]
                if text:
                    yield text
