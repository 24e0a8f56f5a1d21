"""The negative-rejection benchmark: questions asked over a corpus from which every article holding their answer
was removed, so the only honest reply is "I cannot find the answer".

From RealTimeQA's weeks: a question is kept when its answer is specific enough to screen the corpus with (its
normalised text is long enough and appears in few articles; a bare "Florida" would empty the corpus), and every
article containing any kept question's answer, or listed as its gold article, is dropped. An answer that still
contains the right answer came from the model's own memory (Qwen2.5 was trained after 2022).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from rag.evaluation.scoring import normalize
from rag.text import STOPWORDS

MIN_CHARACTERS = 4  # "UK" or "Ohio"-length answers match too much
MAX_SHARE = 0.01  # at most 1% of the articles may contain the answer


@dataclass(frozen=True)
class RejectionSet:
    """The screened questions and what is left of the corpus."""

    questions: list[Any]  # realtimeqa.Question, each with its (removed) answer
    articles: list[Any]  # realtimeqa.Article
    removed: int  # articles dropped because they hold a kept question's answer
    skipped: list[tuple[str, str]]  # (question id, why it could not be screened)


def _padded(text: str) -> str:
    return f" {normalize(text)} "


def _words(text: str) -> set[str]:
    return {w for w in text.split() if w not in STOPWORDS}


def holds(answer: str, text: str, words: set[str] | None = None) -> bool:
    """Does a normalised, padded article text hold the answer: the whole phrase, or (for a longer answer that
    an article may word differently, "ban on assault weapons") every one of its content words?"""
    needle = normalize(answer)
    if f" {needle} " in text:
        return True
    wanted = _words(needle)
    return len(wanted) >= 2 and wanted <= (words if words is not None else _words(text))


def screenable(answer: str, texts: list[str], max_share: float = MAX_SHARE,
               vocabularies: list[set[str]] | None = None) -> str | None:
    """None when `answer` can screen the corpus, else why not."""
    needle = normalize(answer)
    if len(needle.replace(" ", "")) < MIN_CHARACTERS:
        return f"answer {answer!r} is too short to screen with"
    vocabularies = vocabularies or [_words(t) for t in texts]
    holding = sum(holds(answer, t, v) for t, v in zip(texts, vocabularies))
    if holding > max_share * len(texts):
        return f"answer {answer!r} is in {holding} of {len(texts)} articles"
    return None


def build(articles: list[Any], questions: list[Any], max_share: float = MAX_SHARE) -> RejectionSet:
    """Keep the questions whose answers screen well; drop every article that holds one of their answers."""
    texts = [_padded(f"{a.title} {a.text}") for a in articles]
    vocabularies = [_words(t) for t in texts]
    kept, skipped = [], []
    for question in questions:
        reason = screenable(question.answer, texts, max_share, vocabularies)
        if reason:
            skipped.append((question.id, reason))
        else:
            kept.append(question)
    gold = {url for q in kept for url in q.gold_urls}
    left = [a for a, text, vocabulary in zip(articles, texts, vocabularies)
            if a.url not in gold and not any(holds(q.answer, text, vocabulary) for q in kept)]
    return RejectionSet(kept, left, len(articles) - len(left), skipped)


def as_eval_questions(rejection: RejectionSet, until_question_date: bool = True) -> list[Any]:
    """The kept questions as evaluation items whose right reply is an abstention (the answer kept aside)."""
    from rag.evaluation.gold import realtimeqa_questions

    items = realtimeqa_questions(rejection.questions, "open", until_question_date)
    return [replace(item, kind="rejection", answers=[], docs=[], choices=[], answer_index=None,
                    withheld=question.answer) for item, question in zip(items, rejection.questions)]
