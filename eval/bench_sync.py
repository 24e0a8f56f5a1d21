"""How much a background sync slows answers down: the time of an answer alone, then while a sync runs.

    nice -n 0 .venv/bin/python eval/bench_sync.py [--model qwen2.5-coder-1.5b] [--answers 6] [--mode yielding|naive]

It indexes the sample corpus (the answers' index), then answers the same questions twice with one loaded model
(the ChatService `rag serve` and `rag ui` use): alone, and while a sync ingests RealTimeQA articles into a
second index over and over (a user reads for `--gap` seconds between answers, while the sync embeds, so every
answer starts with the sync busy; the sync rounds finished during the answers show it kept working). `--mode yielding` is the shipped
background sync (a child process at nice 19 with one torch thread, embedding paused while an answer is
written); `--mode naive` embeds in a thread of the same process at full priority, for comparison. The target
of issue 22: an answer during a sync takes at most 1.3x its time alone.

It runs the LLM: on a shared machine other llama.cpp jobs and this one slow each other down, so run it when the
cores are otherwise idle (check `uptime`). Not run by the tests; its figures are in README (Sync).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.chat import ChatService  # noqa: E402
from rag.config import Config  # noqa: E402
from rag.evaluation.runs import machine_info  # noqa: E402
from rag.ingest.pipeline import ingest  # noqa: E402
from rag.models.factories import make_embedder  # noqa: E402
from rag.sync import BackgroundSync  # noqa: E402
from rag.types import Done  # noqa: E402

QUESTIONS = ["Who denied the intelligence sharing?", "How many militiamen were killed in the strikes?",
             "Where did the Babil strike happen?", "What did Blinken say about the strikes?",
             "Who called the rocket launchers terrorists?", "Which base was the Kuwait attack launched from?"]


def answer_seconds(service: ChatService, questions: list[str], gap: float = 0.0) -> list[float]:
    """Each answer's wall time; `gap` seconds of a user reading between answers (not timed), in which a
    yielding sync embeds at full speed, so each answer starts while the sync is busy."""
    times = []
    for question in questions:
        time.sleep(gap)
        started = time.perf_counter()
        for event in service.ask(question):
            if isinstance(event, Done):
                break
        times.append(time.perf_counter() - started)
    return times


def sync_corpus(data: Path, folder: Path, articles: int) -> Path:
    """RealTimeQA articles as a corpus JSONL: what the background sync ingests."""
    from rag.evaluation import realtimeqa

    found, _ = realtimeqa.load(data)
    path = folder / "sync-corpus.jsonl"
    realtimeqa.write_corpus(found[:articles], path)
    return path


class Syncing:
    """Keeps a sync running until stopped: each round ingests the corpus into a fresh index."""

    def __init__(self, config: Config, service: ChatService, mode: str):
        self.config, self.service, self.mode = config, service, mode
        self.stop, self.rounds = threading.Event(), 0
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        embedder = make_embedder(self.config) if self.mode == "naive" else None
        background = BackgroundSync(self.config, self.service.busy)
        while not self.stop.is_set():
            shutil.rmtree(self.config.index_dir, ignore_errors=True)
            if self.mode == "naive":  # same process, full priority, never pausing
                ingest(list(self.config.sources), self.config, embedder)
            else:
                result = background.run_once()
                if result.error:
                    raise SystemExit(f"the sync failed: {result.error}")
            self.rounds += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--answers", type=int, default=6)
    parser.add_argument("--mode", choices=("yielding", "naive"), default="yielding")
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus" / "seeds"))
    parser.add_argument("--realtimeqa", default=str(ROOT.parent / "shared" / "bench" / "realtimeqa"))
    parser.add_argument("--sync-articles", type=int, default=10,
                        help="RealTimeQA articles each sync round ingests into a fresh index")
    parser.add_argument("--gap", type=float, default=3.0, help="seconds between answers (a user reading)")
    args = parser.parse_args()
    questions = (QUESTIONS * (args.answers // len(QUESTIONS) + 1))[:args.answers]
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as folder:
        work = Path(folder)
        config = Config(index_dir=str(work / "index"), model=args.model, cache_dir=str(work / "cache"))
        ingest([Path(args.corpus)], config, make_embedder(config))
        service = ChatService(config)
        answer_seconds(service, questions[:1])  # load the model and warm its caches
        alone = answer_seconds(service, questions, args.gap)
        sync_config = replace(config, index_dir=str(work / "sync-index"),
                              sources=(str(sync_corpus(Path(args.realtimeqa), work, args.sync_articles)),),
                              sync_every="30m")
        syncing = Syncing(sync_config, service, args.mode)
        syncing.thread.start()
        time.sleep(10)  # the sync is reading and embedding by now
        rounds_before = syncing.rounds
        during = answer_seconds(service, questions, args.gap)
        rounds_during = syncing.rounds - rounds_before
        syncing.stop.set()
        syncing.thread.join()  # a round ends soon (a small corpus); torch must not be torn down mid-embedding
        ratio = statistics.median(during) / statistics.median(alone)
        print(json.dumps({"cpu": machine_info().get("cpu"), "model": args.model, "mode": args.mode, "answers": len(questions),
                          "alone_s": [round(t, 2) for t in alone], "during_sync_s": [round(t, 2) for t in during],
                          "median_ratio": round(ratio, 2), "target": 1.3, "met": ratio <= 1.3,
                          "gap_s": args.gap, "sync_articles": args.sync_articles,
                          "sync_rounds_during_answers": rounds_during}, indent=1))


if __name__ == "__main__":
    main()
