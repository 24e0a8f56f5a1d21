"""Speed on this machine, as figures and as ratios to raw llama.cpp: prints a Markdown table (and --json).

    .venv/bin/python eval/bench_speed.py                       # default model, 5 sample questions
    .venv/bin/python eval/bench_speed.py --model qwen2.5-coder-0.5b --questions 3 --json speed.json

1. The CPU (model name from /proc/cpuinfo) and raw llama-cpp-python speed for the model's GGUF: prompt tokens/s
   (one batch of 500 tokens of a sample article) and written tokens/s (64 greedy tokens, one at a time).
2. Cold `rag ask QUESTION --json --local` per question, each a new process (the model loaded, the saved prompt
   prefix restored): wall time, and the answer's own timings (retrieval, first quote, first answer token).
3. Warm: the same questions through one `rag serve --no-chat` (model already loaded), streamed, timed by the
   client: first quote chunk, first answer text, end.
Each answer's "raw" time is what raw llama.cpp (its defaults) needs for its prompt and written tokens at the
speeds of 1; the ratio is the answer's time over that (below 1: the pipeline beat reading the whole prompt and
writing token by token, e.g. by restoring the saved prefix, drafting copied quotes or loading the weights
without llama.cpp's repack, `llama_repack`; raw speed that way is printed too where rag does so).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "corpus" / "seeds"
GOLD = REPO / "eval" / "gold" / "seeds.jsonl"
RAG = [sys.executable, "-m", "rag.cli"]
sys.path.insert(0, str(REPO))
from tests.shared import free_port  # noqa: E402


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def questions(n: int) -> list[str]:
    """The first n answerable gold questions, one of each kind first (single, time, multi, conflict)."""
    rows = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    answerable = [r for r in rows if r["kind"] != "unanswerable"]
    firsts = list({r["kind"]: r for r in reversed(answerable)}.values())[::-1]
    ordered = firsts + [r for r in answerable if r not in firsts]
    return [r["question"] for r in ordered[:n]]


def raw_speed(model: str, repack: bool = True, path: Path | None = None) -> dict:
    """Raw llama-cpp-python on the model's GGUF as shipped (or `path`): prompt and written tokens per second;
    `repack`: the weights laid out for llama.cpp's extra kernels (its default) or as stored
    (rag.models.llama_layout)."""
    import llama_cpp

    from rag.config import load_config
    from rag.models.llama_layout import weights_layout
    from rag.models.registry import llm_path

    path = path or llm_path(model, load_config({}).cache_dir)
    with weights_layout(repack):
        llm = llama_cpp.Llama(str(path), n_ctx=2048, n_threads=os.cpu_count(), verbose=False)
    text = next(SEEDS.glob("*.txt")).read_text(encoding="utf-8", errors="replace")
    tokens = llm.tokenize(text.encode(), add_bos=False)[:500]
    prompt, written = [], []
    for _ in range(3):
        llm.reset()
        started = time.perf_counter()
        llm.eval(tokens)
        prompt.append(len(tokens) / (time.perf_counter() - started))
        started = time.perf_counter()
        for _ in range(64):
            llm.eval([llm.sample(temp=0.0)])
        written.append(64 / (time.perf_counter() - started))
    return {"gguf": path.name, "prompt_tps": statistics.median(prompt), "written_tps": statistics.median(written)}


def cold(index: str, model: str, question: str) -> dict:
    started = time.perf_counter()
    done = subprocess.run([*RAG, "ask", question, "--json", "--local", "--index", index, "--model", model],
                          capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"rag ask failed: {done.stderr[-2000:]}")
    t = json.loads(done.stdout)["timings"]
    return {"wall_s": wall, "retrieve_s": t["retrieve_ms"] / 1000, "evidence_s": _s(t.get("evidence_ms")),
            "first_quote_s": _s(t.get("first_quote_ms")),
            "first_token_s": _s(t.get("first_answer_ms")), "total_s": t["total_ms"] / 1000,
            "prompt_tokens": t["prompt_tokens"], "completion_tokens": t["completion_tokens"]}


def _s(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000


def warm(url: str, question: str) -> dict:
    """One streamed answer from a running server, timed by the client."""
    body = {"model": "rag-news", "stream": True, "messages": [{"role": "user", "content": question}]}
    started, first_quote, first_text, last = time.perf_counter(), None, None, {}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=900) as response:
        for line in response.iter_lines():
            if not line.startswith("data:") or line.strip() == "data: [DONE]":
                continue
            chunk = json.loads(line[5:])
            now = time.perf_counter() - started
            if chunk.get("quote") and first_quote is None:
                first_quote = now
            if chunk.get("choices", [{}])[0].get("delta", {}).get("content") and first_text is None:
                first_text = now
            if chunk.get("choices", [{}])[0].get("finish_reason"):
                last = chunk
    total = time.perf_counter() - started
    t = last.get("timings", {})
    return {"wall_s": total, "first_quote_s": first_quote, "first_token_s": first_text, "total_s": total,
            "prompt_tokens": t.get("prompt_tokens", 0), "completion_tokens": t.get("completion_tokens", 0)}


def serve(index: str, model: str, cache: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen([*RAG, "serve", "--index", index, "--model", model, "--port", str(port), "--no-chat"],
                              env={**os.environ, "RAG_CACHE_DIR": cache}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"rag serve exited with code {server.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).json().get("model_loaded"):
                return server, url
        except httpx.HTTPError:
            pass
        time.sleep(1)
    server.kill()
    sys.exit("rag serve did not load its model in time")


def with_ratio(row: dict, raw: dict) -> dict:
    """The row plus what raw llama.cpp would need for the same prompt and written tokens, and the ratio."""
    raw_s = row["prompt_tokens"] / raw["prompt_tps"] + row["completion_tokens"] / raw["written_tps"]
    return {**row, "raw_s": raw_s, "ratio": row["total_s"] / raw_s if raw_s else None}


def _stat(rows: list[dict], key: str) -> str:
    values = sorted(r[key] for r in rows if r.get(key) is not None)
    if not values:
        return "–"
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return f"{statistics.median(values):.2f} / {p95:.2f}"


def table(raw: dict, runs: dict[str, list[dict]]) -> str:
    keys = [("wall_s", "wall s"), ("retrieve_s", "retrieval s"), ("evidence_s", "evidence chosen s"),
            ("first_quote_s", "first quote s"),
            ("first_token_s", "first answer token s"), ("total_s", "answer s"), ("raw_s", "raw llama.cpp s"),
            ("ratio", "ratio to raw"), ("prompt_tokens", "prompt tokens"), ("completion_tokens", "written tokens")]
    lines = [f"CPU: {cpu_model()} ({os.cpu_count()} cores); model {raw['gguf']}: raw llama.cpp "
             f"{raw['prompt_tps']:.1f} prompt tokens/s, {raw['written_tps']:.1f} written tokens/s", "",
             "| run | " + " | ".join(label for _, label in keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name, rows in runs.items():
        lines.append(f"| {name} (median / p95 of {len(rows)}) | " + " | ".join(_stat(rows, k) for k, _ in keys) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--index", help="an index to ask (default: the sample corpus, ingested into a temp folder)")
    parser.add_argument("--json", dest="json_out", help="also write the figures to this JSON file")
    args = parser.parse_args()
    asked = questions(args.questions)
    raw = raw_speed(args.model)  # again at the end: the machine's better moment counts (other jobs come and go)
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as tmp:
        index = args.index or str(Path(tmp) / "index")
        if not args.index:
            subprocess.run([*RAG, "ingest", str(SEEDS), "--index", index], check=True, capture_output=True)
        cold_rows = [with_ratio(cold(index, args.model, q), raw) for q in asked]
        server, url = serve(index, args.model, str(Path(tmp) / "serve-cache"))
        try:
            warm(url, asked[0])  # the server's first answer saves its prompt prefix: not what people wait for
            warm_rows = [with_ratio(warm(url, q), raw) for q in asked]
        finally:
            server.terminate()
            server.wait(30)
    later = raw_speed(args.model)
    raw = {**raw, "prompt_tps": max(raw["prompt_tps"], later["prompt_tps"]),
           "written_tps": max(raw["written_tps"], later["written_tps"])}
    cold_rows = [with_ratio(r, raw) for r in cold_rows]
    warm_rows = [with_ratio(r, raw) for r in warm_rows]
    runs = {"cold `rag ask --local`": cold_rows, "warm `rag serve`": warm_rows}
    print(table(raw, runs))
    from rag.config import load_config
    from rag.models.factories import checked_layout
    from rag.models.registry import llm_path
    from rag.models.weights import weights_for

    config = load_config({"model": args.model})
    shipped = llm_path(args.model, config.cache_dir)
    loaded = weights_for(config.llama_weights, shipped, Path(config.cache_dir))  # a Q8_0 copy where AMX pays
    repack = checked_layout(config, loaded)
    if loaded != shipped or not repack:  # rag loads them otherwise: raw so too
        as_rag = raw_speed(args.model, repack=repack, path=loaded)
        raw["as_rag"] = as_rag
        print(f"\nraw llama.cpp with the weights as rag loads them on this CPU ({loaded.name}, "
              f"{'repacked' if repack else 'not repacked'}: `llama_weights`, `llama_repack`): "
              f"{as_rag['prompt_tps']:.1f} prompt tokens/s, {as_rag['written_tps']:.1f} written tokens/s")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"cpu": cpu_model(), "raw": raw, **runs}, indent=1) + "\n")


if __name__ == "__main__":
    main()
