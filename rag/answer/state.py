"""One question on its way through the answer stages: what each stage read and what it wrote."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rag.answer.compose import Composed, abstention
from rag.answer.confidence import Calibration, Signals
from rag.answer.evidence import EvidenceGroup, Question
from rag.answer.format import Draft
from rag.answer.quotes import VerifiedQuote
from rag.answer.retrieve import Filters, RetrievalScores
from rag.answer.slots import BetterValue
from rag.config import Config
from rag.models.generator import Usage
from rag.types import Citation, Hit, Timings


@dataclass
class AskState:
    """Everything about one question: the settings in force for it, then each stage's output.

    Stages read what earlier ones wrote; per-call overrides live in `config` (the calibration file too), never on the
    Assistant, so one Assistant can answer with different settings side by side (as `rag eval --sweep` does).
    """

    question: str
    config: Config  # the Assistant's settings with this call's overrides
    filters: Filters  # with asked_on filled in
    parsed: Question  # the question's terms and the kind of answer it wants, parsed once
    started: float = field(default_factory=time.perf_counter)
    timings: Timings = field(default_factory=Timings)
    # retrieve
    hits: list[Hit] = field(default_factory=list)
    scores: RetrievalScores = field(default_factory=RetrievalScores)
    # select evidence
    groups: list[EvidenceGroup] = field(default_factory=list)
    passages: list[Citation] = field(default_factory=list)
    shown: dict[int, str] = field(default_factory=dict)  # each passage's evidence as the model reads it, by number
    # generate
    raw: str = ""  # the model's whole output: quotes, then the answer
    streamed: str = ""  # the answer text as it streamed to the user
    usage: Usage = field(default_factory=Usage)
    answer_start: int | None = None  # the completion token where "ANSWER:" began
    # refocus
    refocused: BetterValue | None = None  # the sentence whose value the answer was written again with
    # check
    draft: Draft | None = None
    verified: list[VerifiedQuote] = field(default_factory=list)
    composed: Composed = field(default_factory=abstention)
    # score (the calibration is the model's: chosen once the model is known)
    calibration: Calibration | None = None
    calibrated: bool = True  # False: no calibration was fitted for this model (a conservative default scored it)
    signals: Signals | None = None
    confidence: float | None = None

    @property
    def asked_on(self) -> str:
        return self.filters.asked_on or ""

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000
