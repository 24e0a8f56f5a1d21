"""The answer stages and the bugs the old shape hid: per-call calibration, [10], one search, one parse, seams."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, replace

import pytest

from rag.answer import evidence as evidence_module
from rag.answer.assistant import Assistant
from rag.answer.compose import compose
from rag.answer.confidence import Calibration
from rag.answer.format import AnswerTail, Quote, grammar_for, parse_draft
from rag.answer.prompting import Templates
from rag.answer.quotes import verify
from rag.answer.stages import STAGES
from rag.store import open_store
from rag.types import Answer, Citation, Quoted
from tests.fakes import DENIAL, FakeEmbedder, FakeGenerator
from ui.render import answer_html

QUESTION = "Who denied the intelligence sharing?"


def _assistant(config, reply=DENIAL, **kwargs) -> Assistant:
    return Assistant(config, embedder=FakeEmbedder(), generator=FakeGenerator(reply), **kwargs)


def test_the_stages_run_in_order():
    assert [stage.__name__ for stage in STAGES] == ["retrieve", "select", "generate", "refocus", "check", "score"]


def test_a_stage_can_be_added_without_touching_the_others(seed_index):
    seen = []

    def rerank(assistant, state):  # a reranker would be a stage like this, between retrieve and select
        seen.append(len(state.hits))
        state.hits = list(reversed(state.hits))
        yield from ()

    assistant = _assistant(seed_index)
    assistant.stages = (STAGES[0], rerank, *STAGES[1:])
    answer = assistant.ask(QUESTION)
    assert seen and seen[0] > 1 and answer.text


def test_a_calibration_given_per_call_is_the_one_used(seed_index, tmp_path):
    shipped = Calibration.load()
    strict = tmp_path / "strict.json"
    strict.write_text(replace(shipped, threshold=1.0).to_json())
    assistant = _assistant(seed_index)
    assert not assistant.ask(QUESTION).abstained
    refused = assistant.ask(QUESTION, calibration=str(strict))
    assert refused.abstained and refused.refused  # the per-call file decided, not the one loaded at start
    assert not assistant.ask(QUESTION).abstained  # and it did not stick


def test_an_answer_assembled_from_the_articles_is_gated_not_weighed(seed_index, tmp_path, monkeypatch):
    from rag.answer import stages
    from rag.answer.compose import Composed

    def assembled(question, parsed, composed, verified, groups, passages):
        text = "Iraq's Ministry of Defense denied the intelligence sharing [1]."
        return Composed(text, False, passages[:1], composed.evidence, assembled=True), verified

    strict = tmp_path / "strict.json"
    strict.write_text(replace(Calibration.load(), threshold=1.0).to_json())
    assistant = _assistant(seed_index)
    assert assistant.ask(QUESTION, calibration=str(strict)).abstained  # the model's answer is weighed
    monkeypatch.setattr(stages, "ASSEMBLERS", (assembled,))
    answer = assistant.ask(QUESTION, calibration=str(strict))
    assert not answer.abstained and answer.text.startswith("Iraq's Ministry")
    assert answer.assembled and Answer.from_json(answer.to_json()).assembled  # said so to the reader, not hidden
    assert "Put together from the articles" in answer_html(answer, 0)


def test_retrieval_searches_once_per_question(seed_index):
    store = open_store(seed_index.index_dir)
    calls = {"hybrid": 0, "dense": 0, "keyword": 0}

    class Counting:
        def __getattr__(self, name):
            return getattr(store, name)

        def hybrid_search(self, query):
            calls["hybrid"] += 1
            return store.hybrid_search(query)

        def dense_search(self, *args, **kwargs):
            calls["dense"] += 1
            return store.dense_search(*args, **kwargs)

        def keyword_search(self, *args, **kwargs):
            calls["keyword"] += 1
            return store.keyword_search(*args, **kwargs)

    answer = Assistant(seed_index, index=Counting(), embedder=FakeEmbedder(), generator=FakeGenerator()).ask(QUESTION)
    assert calls == {"hybrid": 1, "dense": 0, "keyword": 0}
    assert answer.signals.dense_top > 0 and answer.signals.keyword_top > 0


def test_the_question_is_parsed_once(seed_index, monkeypatch):
    real = evidence_module.Question.parse.__func__
    parsed = []

    def counting(cls, question):
        parsed.append(question)
        return real(cls, question)

    monkeypatch.setattr(evidence_module.Question, "parse", classmethod(counting))
    _assistant(seed_index).ask(QUESTION)
    assert parsed == [QUESTION]


def _passages(n: int) -> list[Citation]:
    return [Citation(n=i, doc_id=f"d{i}", source="s", title="t", outlet="o", date=None, chunk_id=f"d{i}:0",
                     text=f"Passage number {i} says the bridge number {i} was closed.") for i in range(1, n + 1)]


def test_the_grammar_can_cite_passage_ten_when_there_are_ten():
    template = Templates.load("").grammar
    assert grammar_for(template, 4) == template  # one digit, as before, when nine or fewer are shown
    wide = grammar_for(template, 12)
    assert "passage ::= [1-9] [0-9]?" in wide and "[1-9]\n" not in wide.split("passage ::=")[1]
    pytest.importorskip("llama_cpp")
    from llama_cpp import LlamaGrammar

    LlamaGrammar.from_string(wide, verbose=False)  # still a valid llama.cpp grammar


def test_an_answer_citing_passage_ten_keeps_its_citation():
    from rag.answer.evidence import EvidenceGroup, Sentence
    from rag.types import Document

    passages = _passages(10)
    groups = [EvidenceGroup(Document(p.doc_id, "s", "t", p.text), p.chunk_id,
                            sentences=[Sentence(p.doc_id, 0, len(p.text), p.text)]) for p in passages]
    draft = parse_draft('QUOTE [10]: "Passage number 10 says the bridge number 10 was closed"\n'
                        "ANSWER: The bridge number 10 was closed [10].\n")
    composed = compose(draft, verify(draft.quotes, groups), passages)
    assert composed.text.endswith("[10].") and [c.n for c in composed.citations] == [10]


def test_the_server_does_not_import_the_chat_ui():
    code = ("import sys, rag.server.app, rag.server.context; "
            "print(sorted(m for m in sys.modules if m == 'ui' or m.startswith('ui.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_chat_service_takes_its_embedder_from_the_factory(config, fake_models):
    from rag.chat import ChatService

    service = ChatService(replace(config, embedder="fake-embedder", model="fake-llm"))
    assert isinstance(service.assistant.embedder, FakeEmbedder)


def test_answer_json_round_trip_keeps_every_field(seed_index):
    from rag.types import Answer

    answer = _assistant(seed_index).ask(QUESTION)
    data = json.loads(json.dumps(answer.to_json()))
    again = Answer.from_json(data)
    assert asdict(again) == asdict(replace(answer, confidence=round(answer.confidence, 3)))


def test_each_quote_is_shown_verified_as_soon_as_its_line_is_written(seed_index):
    events = list(_assistant(seed_index).stream(QUESTION))
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("Quoted") < kinds.index("Token")  # before any of the answer
    quoted = next(e for e in events if isinstance(e, Quoted))
    assert quoted.n == 1 and quoted.sentence.startswith("The ministry denied its involvement in the airstrikes")
    assert events[-1].answer.timings.first_quote_ms is not None


def test_a_made_up_quote_is_not_shown(seed_index):
    reply = 'QUOTE [1]: "Zorvath bridge reopened to traffic on Monday"\nANSWER: It reopened [1].\n'
    events = list(_assistant(seed_index, reply).stream(QUESTION))
    assert not any(isinstance(e, Quoted) for e in events)


def test_quote_lines_are_picked_out_as_they_close():
    tail = AnswerTail()
    tail.feed('QUOTE [2]: "The minis', 3)
    assert tail.closed_quotes() == []
    tail.feed('try denied it"\nQUOTE [1', 9)
    assert tail.closed_quotes() == [Quote(2, "The ministry denied it")]
    tail.feed(']: "x y z"\nANSWER: It was denied [2].\n', 20)
    assert tail.closed_quotes() == [Quote(1, "x y z")] and tail.closed_quotes() == []


def test_no_cjk_in_an_english_answer():
    template = Templates.load("").grammar
    english = grammar_for(template, 4, "The ministry denied its involvement in the airstrikes.")
    assert "\\u4e00-\\u9fff" in english.split("clause  ::=")[1]
    assert "\\u4e00-\\u9fff" in english.split("quote   ::=")[1].split("\n")[0]  # quotes are copied: none there either
    assert grammar_for(template, 4, "国防部否认参与空袭。") == template  # Chinese articles: Chinese answers allowed
    passages = _passages(1)
    from rag.answer.evidence import EvidenceGroup, Sentence
    from rag.types import Document

    p = passages[0]
    groups = [EvidenceGroup(Document(p.doc_id, "s", "t", p.text), p.chunk_id,
                            sentences=[Sentence(p.doc_id, 0, len(p.text), p.text)])]
    draft = parse_draft(f'QUOTE [1]: "{p.text[:40]}"\nANSWER: The bridge number 1 was closed by the coalition设施 [1].\n')
    assert compose(draft, verify(draft.quotes, groups), passages).abstained
