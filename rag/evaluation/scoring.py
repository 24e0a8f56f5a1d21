"""Answer, abstention, retrieval and citation metrics as plain functions."""

from __future__ import annotations

import math
import re
from collections import Counter

from rag.answer.agreement import number_value
from rag.answer.citations import MARKER_RE, answer_sentences, strip_markers
from rag.text import STOPWORDS

_FOLDED_CHARACTERS = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
_PUNCTUATION = re.compile(r"[^\w\s]|_")
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")  # "10,000" is one number, not "10" and "000"
_DECIMAL_POINT = re.compile(r"(?<=\d)\.(?=\d)")  # "16.2" stays one word: it is not "16"
_MAX_TELLING_WORDS = 5  # a longer choice is a clause, half of whose words can describe another claim


def normalize(text: str) -> str:
    """Lowercase, drop punctuation and articles, collapse whitespace (SQuAD style)."""
    text = text.lower().translate(_FOLDED_CHARACTERS)
    # A space rather than nothing, so "Iraq’s" still contains the word "iraq".
    text = _PUNCTUATION.sub(" ", text)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def contains(answer: str, alias: str) -> bool:
    """True when the alias appears in the answer as whole words ("22" is not in "220")."""
    needle = normalize(alias)
    if not needle:
        return False
    # Normalized text is single-space separated, so padding gives word boundaries.
    return f" {needle} " in f" {normalize(answer)} "


def matches_alias_groups(answer: str, groups: list[list[str]]) -> bool:
    """True when every group has at least one alias contained in the answer."""
    if not groups:
        return False
    return all(any(contains(answer, alias) for alias in group) for group in groups)


def _choice_word(word: str) -> str:
    """A word as choices and answers are compared: numbers as digits ("six" -> "6"), plurals folded
    ("iPhones" -> "iphone", "risks" -> "risk")."""
    if (value := number_value(word)) is not None:
        return str(int(value)) if value.is_integer() else str(value)
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _choice_words(text: str) -> set[str]:
    text = _DECIMAL_POINT.sub("point", _THOUSANDS.sub("", text))
    return {_choice_word(w) for w in normalize(text).split() if w not in STOPWORDS}


def names_choice(answer: str, question: str, choices: list[str], index: int) -> bool:
    """True when a multiple-choice answer written in other words names choice `index` and no other: it holds at
    least half of the words that tell that choice apart (those in no other choice and not in the question; at most
    five: a longer choice is a clause, judged by its text alone), more of them than of any other choice's, and
    every number of the choice. "Oregon ... (New Jersey is the other)" names "New Jersey & Oregon", "six months"
    names "6", "the Avalanche" names "Colorado Avalanche"; "millions" does not name "2 million", nor "$16.2
    trillion" "$16 trillion", nor "Boris Johnson" (two of five telling words) "UK Prime Minister Boris Johnson"."""
    said, asked = _choice_words(strip_markers(answer)), _choice_words(question)  # "[3]" is no choice 3
    own = [_choice_words(choice) for choice in choices]

    def share(i: int) -> float:
        telling = own[i] - asked - set().union(*(words for j, words in enumerate(own) if j != i))
        return len(telling & said) / len(telling) if 0 < len(telling) <= _MAX_TELLING_WORDS else 0.0

    shares = [share(i) for i in range(len(choices))]
    numbers = {w for w in own[index] if number_value(w) is not None}
    rivals = [s for i, s in enumerate(shares) if i != index]
    return shares[index] >= 0.5 and all(s < shares[index] for s in rivals) and numbers <= said


def exact_match(answer: str, gold: str) -> float:
    return 1.0 if normalize(answer) == normalize(gold) else 0.0


def token_f1(answer: str, gold: str) -> float:
    """SQuAD token-level F1 between normalized answer and gold."""
    answer_tokens, gold_tokens = normalize(answer).split(), normalize(gold).split()
    if not answer_tokens or not gold_tokens:
        return 1.0 if answer_tokens == gold_tokens else 0.0
    shared = sum((Counter(answer_tokens) & Counter(gold_tokens)).values())
    if shared == 0:
        return 0.0
    precision, recall = shared / len(answer_tokens), shared / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def abstention_precision_recall(
    predicted: list[bool], should: list[bool]
) -> tuple[float | None, float | None]:
    """Precision and recall of abstaining; None where nothing was (or should be) abstained."""
    if len(predicted) != len(should):
        raise ValueError(f"length mismatch: {len(predicted)} predictions, {len(should)} labels")
    both = sum(1 for p, s in zip(predicted, should) if p and s)
    abstained, expected = sum(map(bool, predicted)), sum(map(bool, should))
    precision = both / abstained if abstained else None
    recall = both / expected if expected else None
    return precision, recall


def _distinct(items: list[str]) -> list[str]:
    # Several passages may come from one document; rank documents, not passages.
    return list(dict.fromkeys(items))


def recall_at_k(ranked_docs: list[str], expected: list[str], k: int) -> float | None:
    """Share of distinct expected docs among the first k distinct ranked docs."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    wanted = set(expected)
    if not wanted:
        return None
    return len(wanted.intersection(_distinct(ranked_docs)[:k])) / len(wanted)


def reciprocal_rank(ranked_docs: list[str], expected: list[str]) -> float | None:
    """1/rank of the first expected doc among distinct ranked docs; 0.0 if absent."""
    wanted = set(expected)
    if not wanted:
        return None
    for rank, doc in enumerate(_distinct(ranked_docs), start=1):
        if doc in wanted:
            return 1.0 / rank
    return 0.0


def cites_expected(cited_docs: list[str], expected: list[str]) -> bool:
    return not set(cited_docs).isdisjoint(expected)


def citation_precision(items: list[tuple[bool, list[str], list[str]]]) -> float | None:
    """Over correct answers with known expected docs, share citing at least one of them."""
    judged = [cites_expected(cited, expected) for correct, cited, expected in items if correct and expected]
    if not judged:
        return None
    return sum(judged) / len(judged)


def split_sentences(text: str) -> list[str]:
    """The answer's sentences; markers right after a full stop stay with their sentence."""
    return answer_sentences(text)


def cited_sentence_share(answer: str) -> float | None:
    """Share of sentences carrying at least one [n] citation marker."""
    sentences = split_sentences(answer)
    if not sentences:
        return None
    return sum(1 for s in sentences if MARKER_RE.search(s)) / len(sentences)


def percentile(values: list[float], q: float) -> float | None:
    """q-th percentile (0-100) with linear interpolation, as numpy's default."""
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within [0, 100], got {q}")
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    lower, upper = math.floor(position), math.ceil(position)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)
