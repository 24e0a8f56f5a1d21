"""The negative-rejection benchmark: questions asked over a corpus from which every article holding their answer
was removed, so the only honest reply is "I cannot find the answer".

From RealTimeQA's weeks: a question is kept when its answer is specific enough to screen the corpus with (its
normalised text is long enough and appears in few articles; a bare "Florida" would empty the corpus), and every
article containing any kept question's answer, or listed as its gold article, is dropped, as is every article
that names it by a shorter form of the name it ends with ("Jill Biden" for "First lady Dr. Jill Biden", "Cosby"
for "Bill Cosby"). An answer that still contains the right answer came from the model's own memory (Qwen2.5 was
trained after 2022).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from rag.evaluation.scoring import normalize
from rag.text import STOPWORDS

MIN_CHARACTERS = 4  # "UK" or "Ohio"-length answers match too much
MAX_SHARE = 0.01  # at most 1% of the articles may contain the answer
# A name's shorter form removes articles when it is in at most this share of them: "Jill Biden" (1.2% of the
# RealTimeQA articles) names the first lady; "Biden" (20%) names someone else too.
NAME_SHARE = 0.03
# A word is a name, not a common word, when at most this share of the articles that hold it write it in lower
# case ("Dodgers", "Cosby"; not "Tower", "Pizza", "Thunder").
LOWERCASE_SHARE = 0.1
# A shorter form that mostly follows other names ends those names too ("Airways"): it is not used.
OTHER_NAMES_SHARE = 0.5
_LOWERCASE_WORD = re.compile(r"(?<![\w'’.-])[a-z]+(?![\w'’-])")


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


@dataclass(frozen=True)
class Answered:
    """A question as the screening sees it: its id, every alias of its answer, and the keys of its gold articles
    (metrics.doc_key: a normalised URL, or a file's name)."""

    id: str
    aliases: tuple[str, ...]
    gold: tuple[str, ...] = ()


@dataclass(frozen=True)
class Screening:
    """What `screen` decided: the questions kept (their positions), the articles left (theirs), and why the
    others were skipped."""

    kept: list[int]
    left: list[int]
    skipped: list[tuple[str, str]]  # (question id, why it could not be screened)


class Prepared(NamedTuple):
    """An article's text as `screen` reads it. Computing it is most of the screening's time; a caller screening
    one article set several times can keep it."""

    padded: str  # normalised and padded
    words: set[str]  # its content words
    lowercase: frozenset[str]  # the words it writes in lower case somewhere (a word never so written is a name)


def prepared(text: str) -> Prepared:
    """An article's text prepared for `screen`."""
    padded = _padded(text)
    return Prepared(padded, _words(padded), frozenset(_LOWERCASE_WORD.findall(text)))


def _capitalised_tail(answer: str) -> list[str]:
    """The words that end `answer` and are all capitalised: the name it ends with ("Dr. Jill Biden")."""
    tail: list[str] = []
    for word in reversed(answer.split()):
        if not word[:1].isupper():
            break
        tail.insert(0, word)
    return tail


def name_forms(answer: str, texts: list[Prepared], share: float = NAME_SHARE) -> list[str]:
    """The shortest end of the name `answer` ends with that still names it in few articles ("Cosby" for "Bill
    Cosby", "Jill Biden" for "First lady Dr. Jill Biden"), normalised and padded; [] when there is none. Its first
    word must be a name (never, or almost never, written in lower case) and the form shorter than the answer."""
    tail = _capitalised_tail(answer)
    for start in range(len(tail) - 1, -1, -1):
        form = " ".join(tail[start:])
        needle = _padded(form)
        first = needle.split()[0] if needle.strip() else ""
        if len(needle.replace(" ", "")) < MIN_CHARACTERS or normalize(form) == normalize(answer):
            return []
        holding = [t for t in texts if needle in t.padded]
        if not holding or len(holding) > share * len(texts):
            continue  # named nowhere (nothing to remove), or a form that names others too ("Biden"): a longer one
        if sum(first in t.lowercase for t in holding) > LOWERCASE_SHARE * len(holding):
            return []  # a common word ("Tower"): no longer form starts with a name either
        if _after_other_names(holding, needle, set(_padded(answer).split())) > OTHER_NAMES_SHARE:
            continue  # the end of other names too ("Airways" of British Airways, JetBlue Airways): a longer form
        return [needle]
    return []


def _after_other_names(texts: list[Prepared], needle: str, named: set[str]) -> float:
    """The share of `needle`'s occurrences that follow a name other than the answer's ("british" before
    "airways" for "Qatar Airways"): a word outside the answer, not a stopword or a number, never written in lower
    case in that article."""
    before = [(word, text) for text in texts for word in re.findall(r"(\S+)" + re.escape(needle), text.padded)]
    others = sum(word not in named and word not in STOPWORDS and not word.isdigit() and word not in text.lowercase
                 for word, text in before)
    return others / len(before) if before else 0.0


def screen(texts: list[Prepared], keys: list[str], questions: list[Answered],
           max_share: float = MAX_SHARE) -> Screening:
    """Which questions can be made unanswerable over these articles (`prepared` texts, with their doc keys),
    and which articles are left once every article holding an alias of a kept question (or a shorter form of
    the name it ends with, `name_forms`), or listed as its gold article, is removed. A question is kept only when
    every alias of its answer screens (long enough, in at most `max_share` of the articles); otherwise it is
    skipped with the reason."""
    padded = [t.padded for t in texts]
    vocabularies = [t.words for t in texts]
    kept, skipped = [], []
    for position, question in enumerate(questions):
        reason = next((why for alias in question.aliases
                       if (why := screenable(alias, padded, max_share, vocabularies))), None)
        if not question.aliases:
            reason = "no answer to screen with"
        if reason:
            skipped.append((question.id, reason))
        else:
            kept.append(position)
    gold = {key for i in kept for key in questions[i].gold}
    aliases = [alias for i in kept for alias in questions[i].aliases]
    forms = [form for alias in aliases for form in name_forms(alias, texts)]
    left = [i for i, (key, text, vocabulary) in enumerate(zip(keys, padded, vocabularies))
            if key not in gold and not any(holds(alias, text, vocabulary) for alias in aliases)
            and not any(form in text for form in forms)]
    return Screening(kept, left, skipped)


def build(articles: list[Any], questions: list[Any], max_share: float = MAX_SHARE) -> RejectionSet:
    """Keep the questions whose answers screen well; drop every article that holds one of their answers."""
    result = screen([prepared(f"{a.title} {a.text}") for a in articles], [a.url for a in articles],
                    [Answered(q.id, (q.answer,), tuple(q.gold_urls)) for q in questions], max_share)
    left = [articles[i] for i in result.left]
    return RejectionSet([questions[i] for i in result.kept], left, len(articles) - len(left), result.skipped)


def as_eval_questions(rejection: RejectionSet, until_question_date: bool = True) -> list[Any]:
    """The kept questions as evaluation items whose right reply is an abstention (the answer kept aside)."""
    from rag.evaluation.gold import realtimeqa_questions

    items = realtimeqa_questions(rejection.questions, "open", until_question_date)
    return [replace(item, kind="rejection", answers=[], docs=[], choices=[], answer_index=None,
                    withheld=question.answer) for item, question in zip(items, rejection.questions)]
