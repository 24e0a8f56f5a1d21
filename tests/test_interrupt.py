"""SIGTERM and SIGINT during `rag ingest` remove the staging folder and leave the last index whole (real process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rag.ingest.pipeline import ingest
from rag.store import open_store
from tests.fakes import FakeEmbedder
from tests.shared import wait_for_marker

REPO = Path(__file__).resolve().parents[1]
BODY = "The council approved the budget on Monday after a long debate about schools and the harbour bridge. " * 4

# `rag ingest` with an embedder that marks when it is called (the staging folder exists by then) and then stalls.
STALLING_INGEST = """
import sys, time
from pathlib import Path
import rag.models.embedder
from tests.fakes import FakeEmbedder

class Stalling(FakeEmbedder):
    def embed(self, texts):
        Path(sys.argv[1]).touch()
        time.sleep(120)
        return super().embed(texts)

rag.models.embedder.SentenceTransformerEmbedder = lambda name, **kw: Stalling()
from rag.cli import main
main(sys.argv[2:])
"""


@pytest.mark.parametrize("signum, exit_code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_ingest_removes_staging_and_keeps_the_index(tmp_path, config, signum, exit_code):
    first = tmp_path / "first"
    first.mkdir()
    (first / "one.txt").write_text("Budget approved\n\n" + BODY)
    ingest([first], config, FakeEmbedder())
    more = tmp_path / "more"
    more.mkdir()
    for n in range(5):
        (more / f"story{n}.txt").write_text(f"Story number {n}\n\n{BODY} Item {n}.")
    marker = tmp_path / "embedding"
    process = subprocess.Popen(
        [sys.executable, "-c", STALLING_INGEST, str(marker), "ingest", str(more), "--index", config.index_dir],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        wait_for_marker(process, marker, seconds=60)
        index_dir = Path(config.index_dir)
        assert list(index_dir.glob(".staging-*")), "the ingest should be under way"
        os.kill(process.pid, signum)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == exit_code, err
    assert f"Interrupted by {signal.Signals(signum).name}" in err
    assert "Traceback" not in err
    assert list(index_dir.glob(".staging-*")) == []
    assert open_store(index_dir).stats().documents == 1  # the index as it was before
