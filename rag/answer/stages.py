"""The answer path as a list of stages: retrieve -> select evidence -> generate -> refocus -> check -> score.

Each stage reads and writes the question's AskState and may yield events for the caller (the evidence found,
the answer's tokens). Changing how answers are checked is one stage; a reranker would be one more in STAGES.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Callable, Iterator, Protocol

from rag.answer.calibrations import Chosen
from rag.answer.choices import answer_with_choices
from rag.answer.citations import cited_numbers
from rag.answer.compose import abstention, compose
from rag.answer.confidence import gated, signals
from rag.answer.disputes import settle_nothing
from rag.answer.evidence import select_evidence
from rag.answer.format import ANSWER_MARK, AnswerTail, answer_giving, grammar_for, parse_draft
from rag.answer.meeting import without_unmet_clauses
from rag.answer.prompting import Templates, build_messages, render_passages, to_citation
from rag.answer.quote_drafts import QuoteDrafter
from rag.answer.quotes import answer_as_quote, verify
from rag.answer.reply_guesses import ReplyDrafter
from rag.answer.reports import answer_with_report_date
from rag.answer.retrieve import Retriever
from rag.answer.slots import before_value, better_value
from rag.answer.state import AskState
from rag.answer.titles import answer_with_posts
from rag.answer.tolls import answer_with_tolls
from rag.config import Config
from rag.models.generator import Generator, Usage
from rag.types import Event, Quoted, Retrieved, Token


class Parts(Protocol):
    """What the stages use of the Assistant that runs them: its templates, model and index."""

    templates: Templates

    @property
    def generator(self) -> Generator: ...

    def retriever(self, config: Config) -> Retriever: ...

    def start_loading_generator(self) -> None: ...

    def calibration_for(self, config: Config) -> Chosen: ...


Stage = Callable[[Parts, AskState], Iterator[Event]]


def retrieve(assistant: Parts, state: AskState) -> Iterator[Event]:
    """The best chunks by hybrid search, and how well anything matched (for the confidence)."""
    retriever = assistant.retriever(state.config)  # opens the index first: no model loads when there is none
    # With more than two cores llama.cpp reads the model file while we search. On two, the load and the search
    # only slowed each other down (Intel Xeon: retrieval 0.37 -> 0.15 s with the load after it, the first token
    # no later; the evidence waits for the model's tokenizer either way).
    if (os.cpu_count() or 1) > 2:
        assistant.start_loading_generator()
    state.hits, state.scores = retriever.search_scored(state.question, state.config.candidates, state.filters)
    assistant.start_loading_generator()  # a no-op when the model is loading or loaded already
    state.timings.retrieve_ms = state.elapsed_ms()
    yield from ()


def select(assistant: Parts, state: AskState) -> Iterator[Event]:
    """The best sentences of the best articles within the evidence budget, numbered as the model will see them."""
    config = state.config
    state.groups = select_evidence(state.question, state.hits, assistant.generator.count_tokens,
                                   config.evidence_tokens, config.max_sentences, max_articles=config.k,
                                   asked_on=state.asked_on, parsed=state.parsed)
    state.passages = [to_citation(n, group) for n, group in enumerate(state.groups, start=1)]
    # Rendered once (relative dates resolved): the prompt and the quote guesses both read it.
    state.shown = render_passages(assistant.templates.evidence, state.passages)
    state.timings.evidence_ms = state.elapsed_ms()
    yield Retrieved(state.passages)


def generate(assistant: Parts, state: AskState) -> Iterator[Event]:
    """The model quotes the evidence, then answers; only the answer streams to the user."""
    if not state.passages:
        return
    messages, grammar = prompt(assistant.templates, state)
    tail, usage, quoted = AnswerTail(), state.usage, set()
    guess = ReplyDrafter(QuoteDrafter(state.shown), state.question) if state.config.draft_quotes else None
    for piece in assistant.generator.stream(messages, state.config.max_answer_tokens, state.config.temperature,
                                            usage, grammar=grammar, guess=guess):
        if state.timings.first_token_ms is None:
            state.timings.first_token_ms = state.elapsed_ms()
        new = tail.feed(piece, usage.completion_tokens)
        if "\n" in piece:
            yield from _quoted(tail, state, quoted)
        if new:
            if state.timings.first_answer_ms is None:
                state.timings.first_answer_ms = state.elapsed_ms()
            state.streamed += new
            yield Token(new)
    state.timings.prompt_tokens, state.timings.completion_tokens = usage.prompt_tokens, usage.completion_tokens
    state.raw, state.answer_start = tail.raw, tail.start_token


def prompt(templates: Templates, state: AskState) -> tuple[list[dict], str | None]:
    """The chat messages and grammar the model answers a selected question's evidence with."""
    messages = build_messages(templates, state.question, state.shown, state.asked_on)
    evidence = " ".join(f"{p.title} {p.text}" for p in state.passages)  # as stored, not as rendered (state.shown)
    return messages, grammar_for(templates.grammar, len(state.passages), evidence, state.parsed.wants)


def _quoted(tail: AnswerTail, state: AskState, shown: set) -> Iterator[Event]:
    """Each QUOTE line just completed, as the evidence sentence it verifies against (made-up quotes show nothing)."""
    for found in verify(tail.closed_quotes(), state.groups):
        key = (found.sentence.doc_id, found.sentence.start)
        if key not in shown:
            shown.add(key)
            if state.timings.first_quote_ms is None:
                state.timings.first_quote_ms = state.elapsed_ms()
            yield Quoted(found.n, found.sentence.text)


def refocus(assistant: Parts, state: AskState) -> Iterator[Event]:
    """A count or date taken from a sentence that matches the question worse than another shown sentence with a
    value of its own: the answer line is written again, its first clause made to give that sentence's value
    (rag.answer.slots). The quotes stay; llama.cpp reads only the reply's last words again."""
    at = state.raw.find(ANSWER_MARK)
    if at < 0:
        return
    answer, wants = parse_draft(state.raw).answer, state.parsed.wants
    better = better_value(state.question, state.parsed, answer, state.groups) if answer else None
    opening = before_value(answer, wants, state.question) if better and better.phrases else None
    if opening is None:
        return
    messages, grammar = prompt(assistant.templates, state)
    if grammar is None:
        return
    # The model's own words up to its value stay ("Qasem Soleimani was killed in "); only the value and the
    # clause's end are written again, so the answer keeps the model's reading of the question.
    opening, usage = f"{state.raw[:at + len(ANSWER_MARK)]} {opening}", Usage()
    text = "".join(assistant.generator.stream(messages, state.config.max_answer_tokens, state.config.temperature,
                                              usage, grammar=answer_giving(grammar, better.phrases), prefill=opening))
    state.usage.completion_tokens += usage.completion_tokens
    state.timings.completion_tokens = state.usage.completion_tokens  # both passes' written tokens
    if not better.given_by(text):
        return  # a backend that ignores grammars wrote something else: the first answer stands
    state.raw, state.refocused = opening + text, better
    split = (state.answer_start or len(state.usage.logprobs)) - 1
    state.usage.logprobs[split:] = usage.logprobs
    yield from ()


def check(assistant: Parts, state: AskState) -> Iterator[Event]:
    """Quotes verified against the evidence (a refocused answer's is the sentence whose value it gives), a later
    clause about something else left out (rag.answer.meeting), the answer cited where its words are, disputes
    attributed (a yes/no answer that a shown sentence denies gives the claim and the denial; an either-or one whose
    shown sentences give both choices, or a question about someone's post whose shown sentences give several, each
    and who gives it: rag.answer.choices, rag.answer.titles; a toll one article, or the sources the question
    names, give from two sources, each count and who gives it: rag.answer.tolls); the date of a named outlet's
    report is its article's (rag.answer.reports)."""
    if not state.passages:
        return
    draft = state.draft = parse_draft(state.raw)
    verified = verify(draft.quotes, state.groups)
    if not verified and draft.answer and not draft.none:
        cited = cited_numbers(draft.answer)
        verified = answer_as_quote(draft.answer, state.question, state.groups, cited[0] if cited else 1)
    if state.refocused:  # the sentence whose value the answer now gives is its evidence
        verified = state.refocused.as_evidence(verified)
    trimmed = without_unmet_clauses(state.question, state.parsed, draft.answer, state.groups)
    if trimmed != draft.answer:  # a clause about something else left out, and the quotes only it cited
        only_dropped = set(cited_numbers(draft.answer)) - set(cited_numbers(trimmed))
        draft = state.draft = replace(draft, answer=trimmed)
        verified = [q for q in verified if q.n not in only_dropped] or verified
    composed = compose(draft, verified, state.passages)
    composed = settle_nothing(state.question, composed, verified, state.groups, state.passages)
    for assemble in ASSEMBLERS:  # each leaves an answer to a question not of its kind as it was
        composed, verified = assemble(state.question, state.parsed, composed, verified, state.groups, state.passages)
    state.composed, state.verified = composed, verified
    yield from ()


# Answers put together from the articles' own words where the shown sentences disagree, or from their dates: an
# either-or question's choices, the posts the articles give someone, the date of an outlet's report, a toll given
# from two sources (in one article, or by the sources the question names).
ASSEMBLERS = (answer_with_choices, answer_with_posts, answer_with_report_date, answer_with_tolls)


def score(assistant: Parts, state: AskState) -> Iterator[Event]:
    """The calibrated confidence (the model's own calibration, else a conservative default: the answer says
    which); an answer below the threshold, or gated (a date from memory, a restated question), becomes silence."""
    if state.composed.abstained:
        return
    chosen = assistant.calibration_for(state.config)
    state.calibration, state.calibrated = chosen.calibration, chosen.calibrated
    logprobs = state.usage.logprobs
    split = (state.answer_start or len(logprobs)) - 1
    state.signals = signals(state.question, state.parsed, state.groups, state.verified, state.composed.text,
                            logprobs[:split], logprobs[split:], state.scores, state.usage.logprobs_available)
    state.confidence = state.calibration.probability(state.signals)
    # The calibration weighs how well retrieval matched the question; an answer assembled from the shown sentences
    # that name what is asked (rag.answer.choices, .titles, .reports, .tolls) has shown that it did, and is gated only.
    unsure = state.confidence < state.calibration.threshold and not state.composed.assembled
    if unsure or gated(state.signals):
        refused = abstention()
        refused.refused = state.composed.text
        state.composed = refused
    yield from ()


STAGES: tuple[Stage, ...] = (retrieve, select, generate, refocus, check, score)
