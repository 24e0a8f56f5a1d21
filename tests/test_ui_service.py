"""Unit tests for rag.chat without models: the shared generator, streaming with follow-ups, uploads."""

import hashlib
import threading
import time
from dataclasses import dataclass, field, replace

import numpy as np
import pytest

from rag.answer.assistant import Assistant
from rag.chat import ChatService, model_choices, safe_name
from rag.config import Config
from rag.errors import ModelError, RagError
from rag.models.shared import SharedGenerator
from rag.types import Answer, Done, Failed, Retrieved, Rewrite, Timings, Token

ARTICLE = ("Zorvath bridge reopens after repairs\n\n12-03-2024\n\n"
           "ZORVATH — The old Kelmar bridge in the mountain town of Zorvath reopened to traffic on Monday after two "
           "years of repairs, the town council said. Mayor Ilsa Brandvik cut the ribbon at a ceremony attended by "
           "several hundred residents. The repairs cost 4.2 million euros.\n")


class FakeEmbedder:
    """Bag-of-words vectors: enough for the index to be written and searched without a model."""

    name, dim = "fake-embedder", 32

    def embed(self, texts):
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                vectors[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


class FakeGenerator:
    def __init__(self, name="fake", reply="How many were killed in the Babil strike?"):
        self.name, self.reply = name, reply

    def count_tokens(self, text):
        return len(text.split())

    def stream(self, messages, max_tokens, temperature, usage, grammar=None, prefill="", guess=None):
        yield self.reply


@dataclass
class FakeAssistant:
    """Streams the events of an answer made of `tokens` (instantly, or `delay` apart); records the questions."""

    tokens: list = field(default_factory=lambda: ["Four ", "were ", "killed ", "[1]."])
    delay: float = 0.0
    error: Exception | None = None
    asked: list = field(default_factory=list)
    finished: threading.Event = field(default_factory=threading.Event)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def stream(self, question, filters=None, asked_on=None, **overrides):
        self.asked.append((question, filters, overrides))
        try:
            if self.error:
                raise self.error
            yield Retrieved([])
            for token in self.tokens:
                time.sleep(self.delay)
                yield Token(token)
        except GeneratorExit:
            self.cancelled.set()  # the person stopped the answer: the stream was closed mid-way
            raise
        finally:
            self.finished.set()
        yield Done(Answer(question=question, text="".join(self.tokens), abstained=False, citations=[], passages=[],
                          timings=Timings(), model="fake", embedder="e"))


@pytest.fixture
def config(tmp_path):
    return Config(index_dir=str(tmp_path / "index"), model="smollm2-135m", embedder="fake-embedder")


def _ready(config):
    """Pretend an index exists (ask() checks for it before doing anything)."""
    from pathlib import Path

    Path(config.index_dir).mkdir(parents=True, exist_ok=True)
    (Path(config.index_dir) / "CURRENT").write_text("gen-x\n")


def _service(config, assistant=None, loader=None):
    return ChatService(config, assistant=assistant, embedder=FakeEmbedder(),
                       loader=loader or (lambda c: FakeGenerator(c.model)))


# -- the shared model -------------------------------------------------------------------------------------

def test_the_model_loads_once_for_many_concurrent_requests(config):
    loaded = []

    def slow_loader(c):
        time.sleep(0.2)
        loaded.append(c.model)
        return FakeGenerator(c.model)

    shared = SharedGenerator(config, slow_loader)
    threads = [threading.Thread(target=shared.use) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loaded == ["smollm2-135m"] and shared.loads == 1
    assert shared.name == shared.loaded == "smollm2-135m"


def test_switching_model_replaces_it_and_a_failed_switch_keeps_the_old_one(config):
    def loader(c):
        if c.model == "missing":
            raise ModelError("not installed")
        return FakeGenerator(c.model)

    shared = SharedGenerator(config, loader)
    assert shared.loaded is None and shared.name == "smollm2-135m"
    first = shared.use()
    assert shared.use("qwen2.5-coder-0.5b") is not first and shared.name == "qwen2.5-coder-0.5b"
    with pytest.raises(ModelError):
        shared.use("missing")
    assert shared.name == "qwen2.5-coder-0.5b" and shared.loads == 2
    assert list(shared.stream([], 5, 0.0, None)) == ["How many were killed in the Babil strike?"]


def test_model_choices_are_the_registry_llms():
    values = [value for _, value in model_choices("smollm2-135m")]
    assert values == ["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "smollm2-135m"]
    assert model_choices("/models/x.gguf")[-1] == ("x.gguf", "/models/x.gguf")


# -- streaming an answer ----------------------------------------------------------------------------------

def test_ask_streams_status_tokens_then_the_answer(config):
    _ready(config)
    assistant = FakeAssistant()
    events = list(_service(config, assistant).ask("How many were killed in Babil?", k=3))
    kinds = [type(e) for e in events]
    assert kinds[-1] is Done and Token in kinds and Rewrite in kinds
    assert "".join(e.text for e in events if isinstance(e, Token)) == "Four were killed [1]."
    assert events[-1].answer.text == "Four were killed [1]."
    assert assistant.asked == [("How many were killed in Babil?", None, {"k": 3})]


def test_the_answer_is_not_lost_when_tokens_and_the_end_arrive_together(config):
    _ready(config)
    assistant = FakeAssistant(tokens=[f"t{i} " for i in range(200)])
    for _ in range(5):
        events = list(_service(config, assistant).ask("Who?"))
        assert isinstance(events[-1], Done)
        assert "".join(e.text for e in events if isinstance(e, Token)) == "".join(assistant.tokens)


def test_a_follow_up_is_rewritten_with_the_history_before_retrieval(config):
    _ready(config)
    assistant = FakeAssistant()
    service = _service(config, assistant)
    history = [("What happened in the Babil strike?", "The US struck a base in Babil [1].")]
    events = list(service.ask("How many were killed there?", history))
    step = next(e for e in events if isinstance(e, Rewrite))
    assert step.changed and step.question == "How many were killed in the Babil strike?"
    assert assistant.asked[0][0] == "How many were killed in the Babil strike?"


def test_errors_are_reported_as_events(config):
    _ready(config)
    events = list(_service(config, FakeAssistant(error=RagError("The index is broken."))).ask("Who?"))
    assert [e for e in events if isinstance(e, Failed)] == [Failed("The index is broken.")]
    unexpected = list(_service(config, FakeAssistant(error=ValueError("bad"))).ask("Who?"))
    assert isinstance(unexpected[-1], Failed) and "bad" in unexpected[-1].message


def test_a_missing_index_or_empty_question_is_explained(config):
    service = _service(config, FakeAssistant())
    assert "No articles are indexed yet" in list(service.ask("Who?"))[0].message
    _ready(config)
    assert list(service.ask("   "))[0] == Failed("Type a question first.")


def test_closing_the_stream_cancels_the_generation(config):
    _ready(config)
    assistant = FakeAssistant(tokens=["x "] * 200, delay=0.01)
    stream = _service(config, assistant).ask("Who?")
    for event in stream:
        if isinstance(event, Token):
            break
    stream.close()
    assert assistant.finished.wait(5)
    assert assistant.cancelled.is_set()


# -- uploads ----------------------------------------------------------------------------------------------

def test_safe_names():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name(".hidden.txt") == "hidden.txt"
    assert safe_name("my article (1).txt") == "my_article_1_.txt"
    assert safe_name("...") == "upload"


def test_uploads_are_kept_in_the_index_folder_without_overwriting(config, tmp_path):
    service = _service(config, FakeAssistant())
    gradio_tmp = tmp_path / "gradio"
    (gradio_tmp / "a").mkdir(parents=True)
    (gradio_tmp / "b").mkdir()
    (gradio_tmp / "a" / "story.txt").write_text("first")
    (gradio_tmp / "b" / "story.txt").write_text("second")
    first, second = service.save_uploads([gradio_tmp / "a" / "story.txt", gradio_tmp / "b" / "story.txt"])
    again, = service.save_uploads([gradio_tmp / "a" / "story.txt"])
    assert first.path.parent == service.uploads_dir.resolve()
    assert (first.path.name, second.path.name) == ("story.txt", "story-2.txt")
    assert first.path.read_text() == "first" and second.path.read_text() == "second"
    assert again.duplicate and again.path == first.path


def test_added_files_are_ingested_answerable_and_bad_ones_skipped_with_reasons(config, tmp_path):
    config = replace(config, ui_allow_uploads=True)
    embedder = FakeEmbedder()
    assistant = Assistant(config, embedder=embedder, generator=FakeGenerator())
    service = ChatService(config, assistant=assistant, embedder=embedder)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "zorvath.txt").write_text(ARTICLE)
    (incoming / "empty.txt").write_text("")
    (incoming / "notes.docx").write_bytes(b"PK\x03\x04")
    seen = []
    uploads, report = service.add_files(sorted(incoming.iterdir()), lambda done, total, path: seen.append(done))
    assert report.added == 1 and len(report.failed) == 2
    reasons = dict(report.failed)
    assert reasons[str(service.uploads_dir.resolve() / "empty.txt")] == "empty file"
    assert "unsupported file type .docx" in reasons[str(service.uploads_dir.resolve() / "notes.docx")]
    assert sorted(p.name for p in service.uploads_dir.iterdir()) == ["zorvath.txt"]  # unreadable ones not kept
    assert seen == [1, 2, 3]
    assert [d.title for d in service.documents()] == ["Zorvath bridge reopens after repairs"]
    hits = assistant.retriever(config).search("Zorvath bridge", 2)
    assert hits and hits[0].doc.source.endswith("uploads/zorvath.txt")
    # A second upload goes into the same index, with the index's own chunking.
    (incoming / "second.txt").write_text(ARTICLE.replace("Zorvath", "Quellin"))
    _, report = service.add_files([incoming / "second.txt"])
    assert report.added == 1 and len(service.documents()) == 2


def test_uploads_are_refused_unless_turned_on(config, tmp_path):
    story = tmp_path / "story.txt"
    story.write_text(ARTICLE)
    service = _service(config, FakeAssistant())
    assert not service.uploads_allowed  # off by default
    with pytest.raises(RagError, match="--allow-uploads"):
        service.add_files([story])
    assert not service.uploads_dir.exists()  # nothing was copied into the index folder
