"""Load test of `rag serve`: concurrent chat requests and searches against one server with one model; prints a table.

    nice -n 19 .venv/bin/python eval/load_serve.py                      # 16 chats + 50 searches, smollm2-135m
    nice -n 19 .venv/bin/python eval/load_serve.py --chats 16 --searches 50 --queue-size 10 --model smollm2-135m

It ingests the sample corpus into a temporary index (unless --index is given), starts `rag serve --no-chat` on a
free port in its own process and waits for the model. First each distinct question is asked alone, one after the
other: its answer then is the reference. Then every chat request (half streamed, half not) and every search are
sent at the same moment. A 429 is the designed refusal of a full queue: the request is sent again after its
Retry-After, and counted. An answer is "mixed" if its text or its `question` differs from the reference for the
question it asked (temperature 0: the same question gets the same answer). Queue wait is the server's own figure
(`timings.queue_ms`), latency is the client's wall time per request (retries included).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "corpus" / "seeds"
GOLD = REPO / "eval" / "gold" / "seeds.jsonl"
RAG = [sys.executable, "-m", "rag.cli"]


@dataclass
class Outcome:
    """One request as the client saw it."""

    kind: str  # chat-stream, chat, search
    question: str
    statuses: list[int] = field(default_factory=list)
    seconds: float = 0.0
    queue_ms: float | None = None
    answer: str | None = None
    asked: str | None = None  # the question the server says it answered
    error: str | None = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _questions(n: int) -> list[str]:
    lines = GOLD.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines[:n]]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else float("nan")


async def _chat_once(client: httpx.AsyncClient, url: str, question: str, stream: bool, out: Outcome) -> httpx.Response:
    body = {"model": "rag-news", "stream": stream, "messages": [{"role": "user", "content": question}]}
    if not stream:
        response = await client.post(f"{url}/v1/chat/completions", json=body)
        if response.status_code == 200:
            data = response.json()
            out.answer, out.asked, out.queue_ms = data["answer"], data["question"], data["timings"]["queue_ms"]
        return response
    async with client.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
        if response.status_code == 200:
            async for line in response.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                if "error" in chunk:
                    out.error = chunk["error"]["message"]
                elif chunk["choices"][0]["finish_reason"]:
                    out.answer, out.asked = chunk["answer"], chunk["question"]
                    out.queue_ms = chunk["timings"]["queue_ms"]
        else:
            await response.aread()
        return response


async def chat(client: httpx.AsyncClient, url: str, question: str, stream: bool, retries: int = 10) -> Outcome:
    out, started = Outcome("chat-stream" if stream else "chat", question), time.perf_counter()
    for _ in range(retries):
        response = await _chat_once(client, url, question, stream, out)
        out.statuses.append(response.status_code)
        if response.status_code != 429:
            break
        await asyncio.sleep(float(response.headers.get("retry-after", "1")))
    if out.statuses[-1] != 200:
        out.error = out.error or response.text[:200]
    out.seconds = time.perf_counter() - started
    return out


async def search(client: httpx.AsyncClient, url: str, query: str) -> Outcome:
    out, started = Outcome("search", query), time.perf_counter()
    response = await client.post(f"{url}/v1/search", json={"query": query, "k": 5})
    out.statuses.append(response.status_code)
    if response.status_code != 200 or not response.json()["data"]:
        out.error = response.text[:200]
    out.seconds = time.perf_counter() - started
    return out


def _start_server(index: str, model: str, port: int, queue_size: int, cache: str) -> subprocess.Popen:
    env = {**os.environ, "RAG_CACHE_DIR": cache}
    return subprocess.Popen([*RAG, "serve", "--index", index, "--model", model, "--port", str(port), "--no-chat",
                             "--queue-size", str(queue_size)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _wait_ready(url: str, server: subprocess.Popen, seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"rag serve exited with code {server.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).json().get("model_loaded"):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    sys.exit("rag serve did not load its model in time")


async def run_load(url: str, questions: list[str], chats: int, searches: int
                   ) -> tuple[dict, list[Outcome], float]:
    limits = httpx.Limits(max_connections=chats + searches + 10)
    async with httpx.AsyncClient(timeout=httpx.Timeout(None, connect=10), limits=limits, trust_env=False) as client:
        reference = {}
        for question in questions:  # alone, one at a time
            solo = await chat(client, url, question, stream=False)
            reference[question] = (solo.answer, solo.asked)
        tasks = [chat(client, url, questions[i % len(questions)], stream=i % 2 == 0) for i in range(chats)]
        tasks += [search(client, url, questions[i % len(questions)]) for i in range(searches)]
        started = time.perf_counter()
        outcomes = list(await asyncio.gather(*tasks))
        return reference, outcomes, time.perf_counter() - started


def _row(name: str, outcomes: list[Outcome], reference: dict | None) -> str:
    refused = sum(o.statuses.count(429) for o in outcomes)
    errors = sum(1 for o in outcomes if o.statuses[-1] != 200 or o.error)
    mixed = "–" if reference is None else str(sum(1 for o in outcomes if o.answer is not None
                                                  and (o.answer, o.asked) != reference[o.question]))
    seconds = [o.seconds for o in outcomes]
    waits = [o.queue_ms / 1000 for o in outcomes if o.queue_ms is not None]
    wait = f"{_percentile(waits, 0.5):.1f} / {_percentile(waits, 0.95):.1f} s" if waits else "–"
    return (f"| {name} | {len(outcomes)} | {sum(o.statuses[-1] == 200 for o in outcomes)} | {refused} | {errors} | "
            f"{mixed} | {_percentile(seconds, 0.5):.2f} / {_percentile(seconds, 0.95):.2f} s | {wait} |")


def report(reference: dict, outcomes: list[Outcome], wall: float) -> None:
    chats = [o for o in outcomes if o.kind.startswith("chat")]
    searches = [o for o in outcomes if o.kind == "search"]
    print("| requests | sent | answered (200) | 429 (designed, then retried) | errors | mixed answers | "
          "latency p50 / p95 | queue wait p50 / p95 |")
    print("|---|---|---|---|---|---|---|---|")
    print(_row("chat (half streamed)", chats, reference))
    print(_row("search", searches, None))
    print(f"\nall {len(outcomes)} requests sent at once; done in {wall:.1f} s")
    for o in outcomes:
        if o.error:
            print(f"error: {o.kind} {o.question!r}: {o.statuses} {o.error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", help="an index to serve (default: the sample corpus, ingested into a temp folder)")
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--chats", type=int, default=16)
    parser.add_argument("--searches", type=int, default=50)
    parser.add_argument("--questions", type=int, default=8, help="distinct questions among the chats")
    parser.add_argument("--queue-size", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="load-serve-") as tmp:
        index = args.index or str(Path(tmp) / "index")
        if not args.index:
            subprocess.run([*RAG, "ingest", str(SEEDS), "--index", index], check=True, capture_output=True)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server = _start_server(index, args.model, port, args.queue_size, str(Path(tmp) / "cache"))
        try:
            _wait_ready(url, server)
            reference, outcomes, wall = asyncio.run(run_load(url, _questions(args.questions), args.chats,
                                                             args.searches))
            report(reference, outcomes, wall)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)


if __name__ == "__main__":
    main()
