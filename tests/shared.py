"""Test data and helpers several test modules use: answer shapes, evidence groups, seed copies, free ports, and
the evaluation's small corpus, gold file and scripted models."""

from __future__ import annotations

import json
import re
import socket
import time
from pathlib import Path

from rag.answer.evidence import EvidenceGroup, Sentence
from rag.config import Config
from rag.errors import ModelError
from rag.evaluation.gold import EvalQuestion
from rag.ingest.chunking import chunk_document
from rag.store import open_store
from rag.types import Answer, Citation, Document, Timings
from tests.fakes import FakeGenerator, quoted

# What `rag ask --json` prints (rag.types.Answer.to_json), locally and through a server.
JSON_KEYS = {"question", "answer", "abstained", "citations", "passages", "evidence", "confidence", "timings", "model",
             "embedder", "refused", "dangling", "signals", "calibrated", "assembled"}
PASSAGE_KEYS = {"n", "doc_id", "source", "title", "outlet", "date", "chunk_id", "text"}
TIMING_KEYS = {"retrieve_ms", "evidence_ms", "prompt_tokens", "first_token_ms", "first_quote_ms", "completion_tokens",
               "total_ms", "first_answer_ms"}

RUDAW = ("The ministry denied its involvement in the airstrikes. Twenty-two militiamen were killed in the strikes, "
         "the Syrian Observatory for Human Rights (SOHR) reported.")
ESTA = "The official said the strikes killed one fighter and wounded four. Kataib Hezbollah later confirmed it."


def sentences_group(doc_id: str, outlet: str, *sentences: str, title: str = "Strikes in Syria",
                    date: str = "2021-02-26") -> EvidenceGroup:
    """An article of `sentences` (joined by spaces) with every one of them shown."""
    text = " ".join(sentences)
    doc = Document(doc_id=doc_id, source=f"{doc_id}.txt", title=title, text=text, outlet=outlet, date=date)
    spans, start = [], 0
    for sentence in sentences:
        spans.append(Sentence(doc_id, start, start + len(sentence), sentence))
        start += len(sentence) + 1
    return EvidenceGroup(doc=doc, chunk_id=f"{doc_id}:0", sentences=spans)


def evidence_group(doc_id: str, outlet: str, text: str) -> EvidenceGroup:
    """An article's evidence group with every sentence of `text` shown."""
    doc = Document(doc_id, f"{doc_id}.txt", f"{outlet} story", text, outlet=outlet, date="2021-02-27")
    sentences = []
    start = 0
    for part in text.split(". "):
        part = part if part.endswith(".") else part + "."
        begin = text.index(part.rstrip("."), start)
        sentences.append(Sentence(doc_id, begin, begin + len(part), part))
        start = begin + len(part)
    return EvidenceGroup(doc, f"{doc_id}:0", sentences=sentences)


def grammar_takes(llm, grammar: str, text: str) -> bool:
    """Whether llama.cpp's grammar sampler lets the model write `text`, token by token (as rag's decoding asks)."""
    from llama_cpp import LlamaGrammar, llama_sampler_accept

    from rag.models.decoding import LlamaDraftModel

    checker = LlamaDraftModel(llm, LlamaGrammar.from_string(grammar, verbose=False))
    try:
        for token in llm.tokenize(text.encode("utf-8"), add_bos=False, special=False):
            if not checker._allowed(token, 0.0):
                return False
            llama_sampler_accept(checker._grammar, token)
        return True
    finally:
        checker.close()


GROUPS = [evidence_group("rudaw", "Rudaw", RUDAW), evidence_group("esta", "ESTA", ESTA)]


def copy_seeds(seeds: Path, target: Path, names: list[str] | None = None) -> Path:
    """Copy the sample articles (or only `names`) into `target`, to ingest and change without touching them."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(seeds.glob("*.txt")):
        if names is None or path.name in names:
            (target / path.name).write_bytes(path.read_bytes())
    return target


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the evaluation: a three-article corpus, its gold questions, and models that answer from a script ------------

FILLER = ("The statement was published on Friday and repeated by officials in several capitals, "
          "who gave no further details about the operation or its aftermath. ")
ARTICLES = {
    "alpha.txt": "Pentagon names its spokesman\n\nPentagon spokesman John Kirby said the strikes hit a border site "
                 "used by Kataib Hezbollah. " + FILLER,
    "beta.txt": "Ministry denies intelligence sharing\n\nThe Iraqi Defense Ministry denied sharing intelligence "
                "with the coalition before the strikes. " + FILLER,
    "gamma.txt": "Erbil holds a festival\n\nA lantern festival took place in Erbil, with music and food stalls "
                 "along the river. " + FILLER,
}
GOLD = [
    {"id": "g1", "question": "Who was the Pentagon spokesman quoted about the strikes?", "answers": [["Kirby"]],
     "kind": "single", "docs": ["alpha.txt"]},
    {"id": "g2", "question": "Who denied the intelligence sharing?",
     "answers": [["Defense Ministry", "Defence Ministry"]], "kind": "single", "docs": ["beta.txt"]},
    {"id": "g3", "question": "What were the names of the pilots?", "answers": [], "kind": "unanswerable", "docs": []},
    {"id": "g4", "question": "Which festival took place in Erbil?", "answers": [["lantern festival"]], "kind": "time",
     "docs": ["gamma.txt"]},
]


def scripted_generator(answer_for, name="fake-llm") -> FakeGenerator:
    """A fake LLM whose reply is answer_for(question, prompt)."""

    def reply(messages):
        prompt = messages[-1]["content"]
        question = re.search(r"Question(?: \(asked on [^)]*\))?:\s*(.+?)\s*$", prompt, re.DOTALL)
        return answer_for(question.group(1) if question else "", prompt)

    return FakeGenerator(reply, name=name)


def passage_with(prompt: str, word: str) -> int:
    """The number of the passage that mentions `word` (0 when none does)."""
    for match in re.finditer(r"^\[(\d+)\] (.*?)(?=^\[\d+\] |\Z)", prompt, re.MULTILINE | re.DOTALL):
        if word.lower() in match.group(2).lower():
            return int(match.group(1))
    return 0


def quoting(prompt: str, word: str, answer: str) -> str:
    """A reply in the answer grammar: the evidence sentence holding `word` quoted, then the answer."""
    n = passage_with(prompt, word)
    # Sentences not next to each other in their article are shown joined by " … ".
    sentence = next((s for s in re.split(r"(?<=[.!?])\s+|\s*…\s*", prompt) if word.lower() in s.lower()), word)
    sentence = sentence.split("\n")[-1]
    return quoted(answer.replace("[n]", f"[{n}]"), (n, sentence))


def scripted(question: str, prompt: str) -> str:
    """Right for g1/g2, abstains on g3, wrong with a dangling citation on g4."""
    if "spokesman" in question:
        return quoting(prompt, "Kirby", "John Kirby was the spokesman [n].")
    if "denied" in question:
        return quoting(prompt, "denied", "The Defense Ministry denied it [n].")
    if "pilots" in question:
        return "NONE\n"
    return quoting(prompt, "festival", "A music festival [9].")


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def write_gold(path: Path, rows=GOLD) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


class ScriptedAssistant:
    """Anything with ask(question, filters, on_token, **overrides) will do for run_eval."""

    def __init__(self):
        self.config = Config(model="scripted")
        self.calls = []

    def ask(self, question, filters=None, on_token=None, **overrides):
        self.calls.append((question, filters, overrides))
        if "boom" in question:
            raise ModelError("prompt too long")
        passage = Citation(1, "d1", "/corpus/alpha.txt", "Alpha", "Outlet", "2021-02-26", "c1", "Kirby said")
        abstained = "pilots" in question
        return Answer(question, "I cannot find it." if abstained else "Kirby [1].", abstained,
                      [] if abstained else [passage], [passage], Timings(10.0, 100, 50.0, 5, 1500.0),
                      "scripted", "fake-embedder")


def q(id, question, answers, kind="single", docs=("alpha.txt",), until=None):
    return EvalQuestion(id=id, question=question, kind=kind, answers=[list(g) for g in answers], docs=list(docs),
                        until=until)


def assert_index_whole(location: str, config: Config) -> int:
    """Every document in the index has all its chunks (none half-written); returns the document count."""
    store = open_store(location, "fake-embedder")
    try:
        store.check()
        documents = store.documents()
        expected = sum(len(chunk_document(d, config.chunk_tokens, config.overlap)) for d in documents)
        assert store.stats().chunks == expected
        return len(documents)
    finally:
        store.close()


def wait_for_marker(process, marker: Path, seconds: float, poll: float = 0.05) -> None:
    """Wait until the child process under test writes `marker` (the moment to interrupt it); fail with its output
    if it ends or the time runs out first."""
    deadline = time.monotonic() + seconds
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(poll)
    assert marker.exists(), process.communicate(timeout=10)
