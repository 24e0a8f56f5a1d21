"""A Generator over HTTP: any OpenAI-compatible model server (llama.cpp, llama-cpp-python, vLLM, Ollama, ...).

The pipeline around it is the same as in-process: the same evidence and prompt (as chat messages: the server
applies the model's own chat template), the same quote checking. Where the server takes a GBNF grammar the
answer format is enforced as in-process (rag.models.server_kinds); elsewhere the parser reads loose output.
Log-probabilities are asked for and fill `Usage.logprobs`; a server that gives none sets
`Usage.logprobs_available` to False, and the confidence then leaves those signals out instead of reading them as
improbable.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

from rag.errors import (
    ModelServerAuthError,
    ModelServerBusy,
    ModelServerDisconnected,
    ModelServerError,
    ModelServerFailed,
    ModelServerTimeout,
    ModelServerUnreachable,
)
from rag.models.generator import Guess, Usage
from rag.models.identity import ModelIdentity, gguf_identity
from rag.models.server_kinds import detect

log = logging.getLogger(__name__)

RETRIES = 3  # for 429 and 503, with exponential back-off (or the server's Retry-After, capped)
MAX_RETRY_WAIT_S = 30.0
CONNECT_TIMEOUT_S = 5.0
_MESSAGE_OVERHEAD = 4  # template tokens around each message, when the server reports no prompt count


def served_identity(model_id: str, cache_dir: str | Path | None) -> ModelIdentity:
    """A served model's identity: its id; and when the id is the path of a GGUF file on this machine (llama.cpp's
    servers name a model by its file), that file's digest too, so the file's calibration applies."""
    path = Path(model_id).expanduser()
    if cache_dir is not None and path.suffix.lower() == ".gguf" and path.is_file():
        return gguf_identity(model_id, path, cache_dir)
    return ModelIdentity(model_id)


def _message(text: str, status: int) -> str:
    """The error message in a server's error body (OpenAI's, FastAPI's or plain text)."""
    try:
        data = json.loads(text)
        error = data.get("error", data.get("detail", data)) if isinstance(data, dict) else data
        message = error.get("message", error) if isinstance(error, dict) else error
        return str(message)[:300]
    except ValueError:
        return text.strip()[:300] or f"HTTP {status}"


class RemoteGenerator:
    """A chat model behind an OpenAI-compatible HTTP API, streamed over server-sent events."""

    def __init__(self, url: str, model_id: str = "", api_key: str | None = None, timeout: float = 300.0,
                 server: str = "auto", backoff: float = 1.0, cache_dir: str | Path | None = None,
                 logprobs: bool = True):
        import httpx

        self.url = url.rstrip("/")
        self._root = self.url[:-3] if self.url.endswith("/v1") else self.url
        loopback = urlsplit(self.url).hostname in ("127.0.0.1", "localhost", "::1")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # A server on this machine is reached directly, whatever proxy the environment names.
        self._client = httpx.Client(timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT_S), headers=headers,
                                    trust_env=not loopback)
        self._timeout, self._backoff, self._keyed = timeout, backoff, bool(api_key)
        model = self._choose(self._open("GET", f"{self.url}/models").json().get("data") or [], model_id)
        self.model_id = self.name = str(model["id"])
        self.identity = served_identity(self.model_id, cache_dir)
        self.kind = detect(model, server, self._vllm_version)
        self._counts: dict[str, int] = {}
        self._estimate = not self.kind.tokenize_path  # count tokens with tiktoken instead of asking
        self._bos: int | None = None
        self._send_logprobs = logprobs
        log.info("model server %s (%s): model %s", self.url, self.kind.name, self.model_id)

    def _choose(self, models: list[dict], wanted: str) -> dict:
        ids = [str(m.get("id")) for m in models]
        if wanted:
            if wanted in ids:
                return models[ids.index(wanted)]
            raise ModelServerError(f"The model server at {self.url} serves no model {wanted!r} (it serves "
                                   f"{', '.join(ids) or 'none'}): set --model-id or RAG_MODEL_ID to one of them.")
        if len(models) == 1:
            return models[0]
        if not models:
            raise ModelServerError(f"The model server at {self.url} lists no model at /v1/models: load one there.")
        raise ModelServerError(f"The model server at {self.url} serves several models ({', '.join(ids)}): choose "
                               "one with --model-id or RAG_MODEL_ID.")

    # -- requests ---------------------------------------------------------------------------------------------

    def _open(self, method: str, url: str, body: dict | None = None, stream: bool = False):
        """The response of a request that succeeded; 429 and 503 are retried, every failure is a RagError."""
        import httpx

        for attempt in range(RETRIES + 1):
            try:
                response = self._client.send(self._client.build_request(method, url, json=body), stream=stream)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise ModelServerUnreachable(
                    f"Nothing answers at the model server {self.url} ({exc}): start it (for example `python -m "
                    "llama_cpp.server --model MODEL.gguf --port 8080`), or check --model / RAG_MODEL.") from exc
            except httpx.TimeoutException as exc:
                raise self._timed_out() from exc
            except httpx.HTTPError as exc:
                raise ModelServerDisconnected(f"The model server at {self.url} closed the connection ({exc}): "
                                              "check that it still runs, then try again.") from exc
            if response.status_code < 400:
                return response
            text = response.read().decode("utf-8", "replace")
            response.close()
            if response.status_code in (429, 503) and attempt < RETRIES:
                time.sleep(self._wait(response.headers.get("retry-after"), attempt))
                continue
            raise self._status_error(response.status_code, _message(text, response.status_code))
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _wait(self, retry_after: str | None, attempt: int) -> float:
        try:
            return min(MAX_RETRY_WAIT_S, max(0.0, float(retry_after)))
        except (TypeError, ValueError):
            return min(MAX_RETRY_WAIT_S, self._backoff * 2 ** attempt)

    def _timed_out(self) -> ModelServerTimeout:
        return ModelServerTimeout(f"The model server at {self.url} sent nothing for {self._timeout:g} s: it may be "
                                  "overloaded or stuck. Try again, or allow it longer with model_timeout "
                                  "(RAG_MODEL_TIMEOUT).")

    def _status_error(self, status: int, message: str) -> ModelServerError:
        where = f"The model server at {self.url}"
        if status in (401, 403):
            fix = ("set RAG_LLM_API_KEY to the key it expects" if not self._keyed else
                   "RAG_LLM_API_KEY does not hold the key it expects")
            return ModelServerAuthError(f"{where} refused the request ({status}: {message}): {fix}.")
        if status in (429, 503):
            return ModelServerBusy(f"{where} is busy ({status}: {message}) and still was after {RETRIES} retries: "
                                   "try again later, or give it more parallel slots.")
        if status >= 500:
            return ModelServerFailed(f"{where} failed ({status}: {message}): see its log, and try again once it "
                                     "is healthy.")
        hint = " Is --model the server's /v1 address?" if status == 404 else ""
        return ModelServerError(f"{where} rejected the request ({status}: {message}).{hint}")

    def _post_json(self, path: str, body: dict) -> dict:
        return self._open("POST", f"{self._root}{path}", body).json()

    def _vllm_version(self) -> str:
        try:
            return str(self._open("GET", f"{self._root}/version").json().get("version", ""))
        except (ModelServerError, ValueError):
            return ""

    def close(self) -> None:
        self._client.close()

    # -- tokens -----------------------------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """The served model's count where the server tokenizes (cached: evidence sentences recur), else an
        estimate with tiktoken's cl100k, which counts within about 10-20% of these models' tokenizers."""
        if text in self._counts:
            return self._counts[text]
        count = None
        if not self._estimate:
            try:
                count = self.kind.count(self._post_json, self.model_id, text)
            except ModelServerError as exc:
                if type(exc) is not ModelServerError:
                    raise  # unreachable, busy, refused: the answer would fail the same way
                log.warning("the model server does not tokenize (%s): token counts are estimates", exc)
                self._estimate = True
        if count is None:
            from rag.ingest.chunking import count_tokens

            count = count_tokens(text)
        elif self.kind.name == "llama-cpp-python":
            count -= self._bos_tokens()  # its count includes the BOS token the model adds
        if len(self._counts) > 50_000:
            self._counts.clear()
        self._counts[text] = max(0, count)
        return self._counts[text]

    def _bos_tokens(self) -> int:
        if self._bos is None:
            self._bos = int(self._post_json(self.kind.tokenize_path, {"input": "", "model": self.model_id})["count"])
        return self._bos

    # -- answers ----------------------------------------------------------------------------------------------

    def _body(self, messages: list[dict], max_tokens: int, temperature: float, grammar: str | None) -> dict:
        body = {"model": self.model_id, "messages": messages, "max_tokens": max_tokens, "temperature": temperature,
                "stream": True, "stream_options": {"include_usage": True}, **self.kind.sampling,
                **self.kind.grammar_fields(grammar)}
        if self._send_logprobs:
            body |= {"logprobs": True, "top_logprobs": 1}  # llama-cpp-python gives none without top_logprobs
        return body

    def _start(self, messages: list[dict], max_tokens: int, temperature: float, grammar: str | None):
        url = f"{self.url}/chat/completions"
        try:
            return self._open("POST", url, self._body(messages, max_tokens, temperature, grammar), stream=True)
        except ModelServerError as exc:
            # Some servers refuse log-probabilities outright: answer without them (the confidence knows).
            if type(exc) is not ModelServerError or "logprob" not in str(exc).lower() or not self._send_logprobs:
                raise
            self._send_logprobs = False
            return self._open("POST", url, self._body(messages, max_tokens, temperature, grammar), stream=True)

    def stream(self, messages: list[dict], max_tokens: int, temperature: float, usage: Usage,
               grammar: str | None = None, prefill: str = "", guess: Guess | None = None) -> Iterator[str]:
        """Stream the reply; `prefill` goes as a last assistant message, which llama.cpp's servers continue. A
        server writes every token itself: `guess` is ignored."""
        import httpx

        if prefill:
            messages = [*messages, {"role": "assistant", "content": prefill}]
        response = self._start(messages, max_tokens, temperature, grammar)
        finished = written = False
        try:
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue  # blank separators, ": ping" comments
                data = line[5:].strip()
                if data == "[DONE]":
                    finished = True
                    break
                pieces, ended = self._read_chunk(json.loads(data), usage)
                for text in pieces:
                    written = True
                    yield text
                finished = finished or ended
        except httpx.TimeoutException as exc:
            raise self._timed_out() from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise self._broken() from exc
        finally:
            response.close()
        if not finished:
            raise self._broken()
        usage.logprobs_available = bool(usage.logprobs) or not written
        if not usage.prompt_tokens:
            usage.prompt_tokens = sum(self.count_tokens(m["content"]) + _MESSAGE_OVERHEAD for m in messages)

    def _broken(self) -> ModelServerDisconnected:
        return ModelServerDisconnected(f"The model server at {self.url} closed the connection in the middle of the "
                                       "answer (it stopped or restarted): check that it runs, then ask again.")

    def _read_chunk(self, chunk: dict, usage: Usage) -> tuple[list[str], bool]:
        """The text pieces of one streamed chunk (its log-probabilities and counts go to `usage`), and whether
        it ends the answer."""
        if "error" in chunk:
            error = chunk["error"]
            raise ModelServerFailed(f"The model server at {self.url} stopped the answer: "
                                    f"{error.get('message', error) if isinstance(error, dict) else error}")
        if chunk.get("usage"):
            usage.prompt_tokens = int(chunk["usage"].get("prompt_tokens") or usage.prompt_tokens)
            usage.completion_tokens = int(chunk["usage"].get("completion_tokens") or usage.completion_tokens)
        pieces, ended = [], False
        for choice in chunk.get("choices") or []:
            picks = (choice.get("logprobs") or {}).get("content") or []
            usage.logprobs.extend(float(p["logprob"]) for p in picks if p.get("logprob") is not None)
            text = (choice.get("delta") or {}).get("content")
            if text:
                usage.completion_tokens += max(1, len(picks))
                pieces.append(text)
            ended = ended or bool(choice.get("finish_reason"))
        return pieces, ended
