"""Model servers on 127.0.0.1 for the remote backend's tests: a scripted fake (statuses, streams cut short,
silence) and llama-cpp-python's real OpenAI-compatible server over the tiny SmolLM2."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from tests.shared import free_port


@dataclass
class Script:
    """What the fake answers: the models it lists, then per chat request a status (or a stream)."""

    models: list[dict] = field(default_factory=lambda: [{"id": "fake-model", "object": "model",
                                                         "owned_by": "llamacpp"}])
    reply: str = ('QUOTE [1]: "The ministry denied its involvement in the airstrikes"\n'
                  "ANSWER: The ministry denied it [1].\n")
    logprobs: bool = True
    statuses: list[int] = field(default_factory=list)  # answered (with Retry-After: 0) before the stream, in turn
    cut_after: int | None = None  # pieces streamed before the connection is dropped
    stall_s: float = 0.0  # silence before the first piece
    key: str | None = None  # required as a Bearer token
    requests: list[dict] = field(default_factory=list)  # the chat bodies received
    tokenized: list[str] = field(default_factory=list)


def _pieces(text: str) -> list[str]:
    import re

    return re.findall(r"\S+\s*|\s+", text)


class _Handler(BaseHTTPRequestHandler):
    script: Script

    def log_message(self, *args):  # quiet
        pass

    def _json(self, status: int, data: dict, headers: dict | None = None) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(body)),
                            **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _allowed(self) -> bool:
        if self.script.key and self.headers.get("Authorization") != f"Bearer {self.script.key}":
            self._json(401, {"error": {"message": "Invalid API Key", "type": "authentication_error"}})
            return False
        return True

    def do_GET(self):
        if self._allowed():
            self._json(200, {"object": "list", "data": self.script.models})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if not self._allowed():
            return
        if self.path == "/tokenize":
            self.script.tokenized.append(body["content"])
            self._json(200, {"tokens": list(range(len(body["content"].split())))})
            return
        self.script.requests.append(body)
        if self.script.statuses:
            status = self.script.statuses.pop(0)
            self._json(status, {"error": {"message": f"scripted {status}"}}, {"Retry-After": "0"})
            return
        self._stream(body)

    def _stream(self, body: dict) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        time.sleep(self.script.stall_s)
        for i, piece in enumerate(_pieces(self.script.reply)):
            if self.script.cut_after is not None and i >= self.script.cut_after:
                return  # the connection closes without the end of the answer
            choice = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
            if self.script.logprobs and body.get("logprobs"):
                choice["logprobs"] = {"content": [{"token": piece, "logprob": -0.25}]}
            self._event({"choices": [choice]})
        self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        self._event({"choices": [], "usage": {"prompt_tokens": 321, "completion_tokens": 17}})
        self.wfile.write(b"data: [DONE]\n\n")

    def _event(self, data: dict) -> None:
        self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()


@contextlib.contextmanager
def fake_model_server(script: Script):
    """The fake on a free port; yields its /v1 URL."""
    handler = type("Handler", (_Handler,), {"script": script})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class LlamaServer:
    """llama-cpp-python's server in a child process; `stop()` kills it (mid-answer, if one is running)."""

    url: str
    process: subprocess.Popen

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)


@contextlib.contextmanager
def llama_server(model_path: Path, api_key: str | None = None):
    """`python -m llama_cpp.server` over `model_path` on 127.0.0.1 (one at a time: they share the cores)."""
    port = free_port()
    args = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--host", "127.0.0.1",
            "--port", str(port), "--n_ctx", "4096"]
    env = {**os.environ, **({"API_KEY": api_key} if api_key else {})}  # its setting, kept out of `ps`
    with tempfile.TemporaryFile() as log:  # not a pipe: llama.cpp's loading log would fill it and block the server
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log, env=env)
        server = LlamaServer(f"http://127.0.0.1:{port}/v1", process)
        try:
            _wait_until_up(server, log)
            yield server
        finally:
            server.stop()


def _wait_until_up(server: LlamaServer, log, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"llama_cpp.server exited: {log.read().decode(errors='replace')[-2000:]}")
        try:
            httpx.get(f"{server.url}/models", timeout=1)  # any answer (401 included) means it listens
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError("llama_cpp.server did not start in time")
