"""Gold question files and the RealTimeQA questions as evaluation items: what is asked and what counts as right."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from rag.errors import RagError
from rag.evaluation.metrics import doc_key
from rag.files import jsonl_objects


class GoldFileError(RagError):
    """The gold file is missing or one of its lines is malformed."""


@dataclass(frozen=True)
class EvalQuestion:
    """One question as asked, with what counts as right.

    `answers` are alias groups (every group must be matched; [] means the answer is not in the corpus);
    `docs` the keys (see metrics.doc_key) of the documents that hold the answer; `until` an ISO date after
    which articles are not searched; `asked_on` the day the question is asked (articles dated later are not
    used, undated ones are); `choices`/`answer_index` a multiple-choice item's options.
    """

    id: str
    question: str
    kind: str
    answers: list[list[str]]
    docs: list[str] = field(default_factory=list)
    until: str | None = None
    asked_on: str | None = None
    choices: list[str] = field(default_factory=list)
    answer_index: int | None = None
    withheld: str | None = None  # negative rejection: the right answer, removed from the corpus
    payload: str | None = None  # prompt injection: what an article told the model to answer


def load_gold(path: str | Path, limit: int | None = None) -> list[EvalQuestion]:
    """The questions of a gold JSONL file (id, question, answers, kind, docs; optional choices/answer_index)."""
    path = Path(path)
    if not path.is_file():
        raise GoldFileError(f"Gold file not found: {path}")
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    for number, row in jsonl_objects(path.read_text(encoding="utf-8").splitlines(), str(path), GoldFileError):
        where = f"{path}:{number}"
        question = row.get("question")
        answers = row.get("answers", [])
        docs = row.get("docs", []) or []
        if not isinstance(question, str) or not question.strip():
            raise GoldFileError(f"{where}: \"question\" must be a non-empty string")
        if not (isinstance(answers, list) and all(isinstance(g, list) and g and all(isinstance(a, str) for a in g)
                                                  for g in answers)):
            raise GoldFileError(f"{where}: \"answers\" must be a list of alias groups (lists of strings)")
        if not (isinstance(docs, list) and all(isinstance(d, str) for d in docs)):
            raise GoldFileError(f"{where}: \"docs\" must be a list of document names or URLs")
        qid = str(row.get("id") or f"line-{number}")
        if qid in seen:
            raise GoldFileError(f"{where}: duplicate id {qid!r}")
        seen.add(qid)
        choices = [str(c) for c in row.get("choices") or []]
        questions.append(EvalQuestion(
            id=qid, question=question.strip(), kind=str(row.get("kind") or "single"), answers=answers,
            docs=[doc_key(d) for d in docs], until=row.get("until") or None,
            asked_on=row.get("asked_on") or None, payload=row.get("payload") or None, choices=choices,
            answer_index=row.get("answer_index") if choices else None))
        if limit is not None and len(questions) >= limit:
            break
    if not questions:
        raise GoldFileError(f"{path} holds no questions")
    return questions


def realtimeqa_questions(questions: Iterable[Any], mode: str = "open", until_question_date: bool = True
                         ) -> list[EvalQuestion]:
    """RealTimeQA questions (realtimeqa.Question) as asked: open-ended, or with the four choices appended."""
    if mode not in ("open", "choice"):
        raise ValueError(f"mode must be 'open' or 'choice', got {mode!r}")
    result = []
    for q in questions:
        text = q.question
        if mode == "choice":
            listed = " ".join(f"({chr(ord('A') + i)}) {c}" for i, c in enumerate(q.choices))
            text = f"{text}\nChoices: {listed}; answer with the choice text."
        result.append(EvalQuestion(
            id=q.id, question=text, kind="realtimeqa", answers=[[q.answer]], docs=[doc_key(u) for u in q.gold_urls],
            asked_on=q.question_date if until_question_date else None, choices=list(q.choices),
            answer_index=q.answer_index))
    return result
