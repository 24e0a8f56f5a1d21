"""Sentence-level evidence: score the sentences of the retrieved articles against the question, keep the best.

A small model answers far better from six relevant sentences than from three 128-token chunks: it cannot copy
a neighbouring sentence or a caption that it is not shown. Retrieval finds the articles; this module picks what
the model reads, grouped by article (best first, as "Lost in the Middle" advises), wire copies collapsed into one
group that lists every outlet.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from rag.answer.asking import about_question, asking_sentence, is_polar, question_parts
from rag.dates import wants_recent
from rag.text import (
    DENIAL,
    capitalised_terms,
    content_terms,
    has_number,
    jaccard,
    looks_like_instruction,
    sentence_spans,
    shingles,
    words,
)
from rag.types import Document, Hit

# Words that open a sentence leaning on the one before ("He said...", "The ministry added..."): show both.
_LEANS_BACK = re.compile(r"^(?:[\"“‘]?)(?:he|she|it|they|this|that|these|those|his|her|its|their|the statement|"
                         r"the ministry|the spokesman|the spokeswoman|the official|the group|but|however|"
                         r"meanwhile|also)\b", re.IGNORECASE)
_DATE_WORDS = frozenset("january february march april may june july august september october november december "
                        "monday tuesday wednesday thursday friday saturday sunday yesterday today week month year "
                        "ago earlier later".split())
_WH = frozenset("who whom whose what which when where why how".split())
_COPY_SIMILARITY = 0.5  # share of 4-word shingles two articles have in common to count as copies of one story
_SAME_SENTENCE = 0.6


@dataclass(frozen=True)
class Sentence:
    """One sentence of an article, where it sits in the article text, and how well it answers the question."""

    doc_id: str
    start: int
    end: int
    text: str
    score: float = 0.0


@dataclass
class EvidenceGroup:
    """An article (with its copies from other outlets) and the sentences of it shown to the model, in text order."""

    doc: Document
    chunk_id: str
    copies: list[Document] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    best: float = 0.0

    @property
    def outlets(self) -> list[str]:
        names = [d.outlet for d in [self.doc, *self.copies] if d.outlet]
        return list(dict.fromkeys(names))

    def text(self) -> str:
        """The sentences joined; a gap in the article is shown as an ellipsis."""
        texts = {d.doc_id: d.text for d in [self.doc, *self.copies]}
        parts: list[str] = []
        previous: Sentence | None = None
        for sentence in self.sentences:
            if previous is not None and (previous.doc_id != sentence.doc_id
                                         or texts[sentence.doc_id][previous.end:sentence.start].strip()):
                parts.append("…")
            parts.append(sentence.text)
            previous = sentence
        return " ".join(parts)


# A quantity asked otherwise than "how many": "How old is he?", "to what level had US forces been reduced?", "what size
# did NATO plan to grow its mission to?" want a figure as surely (not "how far", often a stage; nor "to what extent").
_QUANTITY = r"\bhow (old|long|tall|high|heavy|deep|big|large)\b|\bwhat (level|size|age|height|length|weight|depth)\b"


@dataclass(frozen=True)
class Question:
    """What scoring needs from the question: its weighted terms and the kind of answer it wants."""

    terms: dict[str, float]
    wants: str | None  # "number", "date", "name" or None

    @classmethod
    def parse(cls, question: str) -> Question:
        # What is wanted is read from the sentence that asks: "…, a growing number of people are fleeing their
        # cities. Where are many Americans moving?" wants a place, not a number.
        lowered = " ".join(words(asking_sentence(question)))
        if re.search(r"\bhow (many|much)\b|\bnumber of\b|\btolls?\b|\bfigures?\b|\bpercent|" + _QUANTITY, lowered):
            wants = "number"
        elif re.search(r"\bwhen\b|\bwhat (date|day|year|month|time)\b|\bwhich (date|day|year|month)\b", lowered):
            wants = "date"
        elif re.search(r"\bwho\b|\bwhom\b|\bwhose\b|\bwhich (organi[sz]ation|group|company|country|official)", lowered):
            wants = "name"
        else:
            wants = None
        terms = [t for t in content_terms(question) if t not in _WH]
        return cls(terms={t: 1.0 for t in dict.fromkeys(terms)}, wants=wants)


def _article_sentences(doc: Document) -> list[Sentence]:
    """The article's sentences, without any that address a model instead of a reader (planted instructions)."""
    sentences = (Sentence(doc.doc_id, s, e, " ".join(doc.text[s:e].split())) for s, e in sentence_spans(doc.text))
    return [s for s in sentences if not looks_like_instruction(s.text)]


def _idf(question: Question, pool: list[set[str]]) -> dict[str, float]:
    n = len(pool) or 1
    return {t: math.log(1 + n / (1 + sum(t in s for s in pool))) for t in question.terms}


def answer_type_fits(sentence: str, question: Question, asked: set[str]) -> bool:
    if question.wants == "number":
        return has_number(sentence)
    if question.wants == "date":
        return bool(_DATE_WORDS.intersection(words(sentence))) or bool(re.search(r"\b(19|20)\d\d\b", sentence))
    if question.wants == "name":
        names = re.findall(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-zA-Z'’-]+", sentence)
        return any(n.lower() not in asked for n in names)
    return False


def _lexical(terms: set[str], idf: dict[str, float], weights: dict[str, float]) -> float:
    total = sum(idf[t] * weights[t] for t in idf)
    return sum(idf[t] * weights[t] for t in idf if t in terms) / total if total else 0.0


def _group_copies(docs: list[Document]) -> dict[str, str]:
    """doc_id -> the doc_id of the first article it copies (itself when it is an original)."""
    prints = [(d.doc_id, shingles(d.text[:3000])) for d in docs]
    primary: dict[str, str] = {}
    for i, (doc_id, grams) in enumerate(prints):
        primary[doc_id] = doc_id
        for other_id, other in prints[:i]:
            if primary[other_id] == other_id and jaccard(grams, other) >= _COPY_SIMILARITY:
                primary[doc_id] = other_id
                break
    return primary


def _priors(hits: list[Hit]) -> dict[str, list[tuple[int, int, float]]]:
    """Per document, the character spans of its retrieved chunks with a prior from their rank (1.0 for the best)."""
    spans: dict[str, list[tuple[int, int, float]]] = {}
    for rank, hit in enumerate(hits):
        spans.setdefault(hit.doc.doc_id, []).append((hit.chunk.start, hit.chunk.end, 2.0 / (rank + 2)))
    return spans


def _recency(docs: list[Document], question: str, asked_on: str | None) -> dict[str, float]:
    """1.0 for an article of the asked-on day, fading over a week; only for questions about the present."""
    if not asked_on or not wants_recent(question):
        return {}
    try:
        today = date.fromisoformat(asked_on)
        ages = {d.doc_id: (today - date.fromisoformat(d.date)).days for d in docs if d.date}
    except ValueError:
        return {}
    return {doc_id: math.exp(-max(age, 0) / 7) for doc_id, age in ages.items()}


def _part_scores(question: str, whole: Question, sentences: list[Sentence], terms: list[set[str]]
                 ) -> list[list[float]]:
    """For each part of the question, each sentence's match: weighted term coverage plus the answer-type fit.

    A part's own words weigh fully, the rest of the question's a little, so "who was among the victims?" still
    looks for the attack the first part named.
    """
    asked = set(words(question))
    scores = []
    for part in question_parts(question):
        parsed = whole if part == question else Question.parse(part)
        weights = {t: 0.3 for t in whole.terms} | parsed.terms
        idf = _idf(Question(weights, parsed.wants), terms)
        scores.append([_lexical(t, idf, weights) + 0.15 * answer_type_fits(s.text, parsed, asked)
                       for s, t in zip(sentences, terms)])
    return scores


def score_sentences(question: str, hits: list[Hit], asked_on: str | None = None, parsed: Question | None = None
                    ) -> tuple[list[Sentence], dict[str, Document], dict[str, str], list[list[float]]]:
    """Every sentence of the retrieved articles, scored; the articles by id; which article each copies; and the
    sentences' scores for each part of the question (for questions that ask two things)."""
    docs = list({h.doc.doc_id: h.doc for h in hits}.values())
    primary = _group_copies(docs)
    priors = _priors(hits)
    recency = _recency(docs, question, asked_on)
    sentences = [s for d in docs for s in _article_sentences(d)]
    terms = [set(content_terms(s.text)) for s in sentences]
    parts = _part_scores(question, parsed or Question.parse(question), sentences, terms)
    match = [max(column) for column in zip(*parts)] if sentences else []
    scored = []
    for i, sentence in enumerate(sentences):
        prior = max((p for s, e, p in priors.get(sentence.doc_id, []) if s <= sentence.start < e), default=0.0)
        same_doc = [j for j in (i - 1, i + 1) if 0 <= j < len(sentences) and sentences[j].doc_id == sentence.doc_id]
        context = max((match[j] for j in same_doc), default=0.0)
        score = match[i] + 0.35 * prior + 0.15 * context + 0.2 * recency.get(sentence.doc_id, 0.0)
        scored.append(Sentence(sentence.doc_id, sentence.start, sentence.end, sentence.text, score))
    return scored, {d.doc_id: d for d in docs}, primary, parts


def _previous(sentence: Sentence, by_doc: dict[str, list[Sentence]]) -> Sentence | None:
    siblings = by_doc[sentence.doc_id]
    index = next(i for i, s in enumerate(siblings) if s.start == sentence.start)
    return siblings[index - 1] if index > 0 else None


def _ranked(scored: list[Sentence], parts: list[list[float]]) -> list[Sentence]:
    """Best first; with a two-part question, each part's best sentence comes first so neither part goes unanswered."""
    ranked = sorted(scored, key=lambda s: s.score, reverse=True)
    if len(parts) < 2:
        return ranked
    leaders = []
    for column in parts:
        best = max(range(len(scored)), key=lambda i: (column[i], scored[i].score))
        if scored[best] not in leaders:
            leaders.append(scored[best])
    return leaders + [s for s in ranked if s not in leaders]


def select_evidence(question: str, hits: list[Hit], count_tokens: Callable[[str], int], budget: int,
                    max_sentences: int = 8, max_articles: int = 4, asked_on: str | None = None,
                    min_share: float = 0.35, parsed: Question | None = None) -> list[EvidenceGroup]:
    """The best sentences within `budget` tokens from at most `max_articles` stories, grouped by article, best
    article first; where they leave out a name the question asks about, the best sentence that names it too."""
    if not hits:
        return []
    scored, docs, primary, parts = score_sentences(question, hits, asked_on, parsed)
    by_doc: dict[str, list[Sentence]] = {}
    for s in scored:
        by_doc.setdefault(s.doc_id, []).append(s)
    ranked = _ranked(scored, parts)
    floor = ranked[0].score * min_share
    picks = _Picks(count_tokens, budget, max_sentences, max_articles, primary, by_doc)
    chosen, copies = picks.fill(ranked, floor)
    # "What death tolls did Reuters' sources and the Syrian Observatory give?": one article's sentences can fill
    # the budget before the Observatory's is reached. The source a question names is one the reader must see.
    shown = [s for group in chosen.values() for s in group.values()]
    naming = _naming_unshown(question, shown, docs, ranked, floor)
    # "Did Iraqi intelligence help the US choose the targets?": the ministry's denial ranked ninth, below the
    # claim and the Pentagon's own "did not use". A yes/no answer must see who denies it, where someone does.
    denial = _denial_unshown(question, shown, ranked, floor)
    first = list(dict.fromkeys(s for s in (naming, denial) if s is not None))
    if denial is not None:
        picks.budget += picks.cost(denial)  # on top of the budget: the claim and the other sides stay shown
    if first:
        chosen, copies = picks.fill([*first, *(s for s in ranked if s not in first)], floor)
    for doc_id, original in primary.items():
        if doc_id != original:
            copies.setdefault(original, set()).add(doc_id)  # every copy of a shown story names its outlet
    return _groups(chosen, copies, docs, hits)


_INITIALS = re.compile(r"\b([A-Z])\.([A-Z])\.(?:([A-Z])\.)?")  # "U.S." is the "US" a question writes


def _names(text: str) -> set[str]:
    """The capitalised words' stems, "U.S." read as "US"; a lower-case "us" or "observatory" names nothing."""
    return capitalised_terms(_INITIALS.sub(lambda m: "".join(g for g in m.groups() if g), text))


def _naming_unshown(question: str, shown: list[Sentence], docs: dict[str, Document], ranked: list[Sentence],
                    floor: float) -> Sentence | None:
    """The best sentence above `floor` naming most of the asking sentence's names that neither the `shown`
    sentences nor their articles' titles and outlets name; None when every name is shown or none can be.

    The asking sentence's first word is no name, and two letters (US, UN, PM) name the setting, not a subject."""
    asking = asking_sentence(question).split(maxsplit=1)
    asked = {t for t in _names(asking[-1] if len(asking) > 1 else "") - _DATE_WORDS if len(t) > 2}
    articles = {s.doc_id for s in shown}
    missing = asked - set().union(*(_names(s.text) for s in shown),
                                  *(_names(f"{docs[d].title or ''} {docs[d].outlet or ''}") for d in articles))
    if not missing:
        return None
    best = max((s for s in ranked if s.score >= floor), default=None,
               key=lambda s: (len(missing & _names(s.text)), s.score))
    return best if best is not None and missing & _names(best.text) else None


def _denial_unshown(question: str, shown: list[Sentence], ranked: list[Sentence], floor: float) -> Sentence | None:
    """For a yes/no question: the best sentence above `floor` about it (about_question) that denies something
    (rag.text.DENIAL), when no shown sentence about it does; None otherwise."""
    if not is_polar(question):
        return None
    asked, names = set(content_terms(question)), capitalised_terms(question)
    denies = [s for s in ranked if DENIAL.search(s.text) and about_question(asked, names, s.text)]
    if any(s in denies for s in shown):
        return None
    return next((s for s in denies if s.score >= floor), None)


class _Picks:
    """Sentences taken in the order given while they fit: the token budget, the sentence and article limits, no
    sentence twice (another outlet's copy of one names that outlet), a sentence leaning back with the one before."""

    def __init__(self, count_tokens: Callable[[str], int], budget: int, max_sentences: int, max_articles: int,
                 primary: dict[str, str], by_doc: dict[str, list[Sentence]]):
        self.count_tokens, self.budget = count_tokens, budget
        self.max_sentences, self.max_articles = max_sentences, max_articles
        self.primary, self.by_doc = primary, by_doc

    def picked(self, sentence: Sentence) -> list[Sentence]:
        """The sentence, with the one before it where it leans back on it ("The ministry denied …") or is short."""
        before = _previous(sentence, self.by_doc)
        if before is not None and (_LEANS_BACK.match(sentence.text) or len(sentence.text.split()) < 8):
            return [before, sentence]
        return [sentence]

    def cost(self, sentence: Sentence) -> int:
        """The tokens that showing the sentence takes (with the one before, where it is picked with it)."""
        return sum(self.count_tokens(s.text) + 1 for s in self.picked(sentence))

    def fill(self, order: list[Sentence], floor: float
             ) -> tuple[dict[str, dict[tuple[str, int], Sentence]], dict[str, set[str]]]:
        """Taken in `order` until one scores below `floor` or the sentence limit is met."""
        chosen: dict[str, dict[tuple[str, int], Sentence]] = {}
        copies: dict[str, set[str]] = {}
        prints: list[tuple[set, str]] = []
        used = 0
        for sentence in order:
            if sentence.score < floor or sum(map(len, chosen.values())) >= self.max_sentences:
                break
            group = self.primary[sentence.doc_id]
            if group not in chosen and len(chosen) >= self.max_articles:
                continue
            grams = shingles(sentence.text, 3)
            twin = next((g for p, g in prints if jaccard(grams, p) >= _SAME_SENTENCE), None)
            if twin is not None:
                if twin != group:
                    copies.setdefault(twin, set()).add(sentence.doc_id)  # the same sentence in another outlet's copy
                continue
            new = [s for s in self.picked(sentence) if (s.doc_id, s.start) not in chosen.get(group, {})]
            cost = sum(self.count_tokens(s.text) + 1 for s in new)
            if used + cost > self.budget:
                continue
            used += cost
            prints.append((grams, group))
            for s in new:
                chosen.setdefault(group, {})[(s.doc_id, s.start)] = s
            if sentence.doc_id != group:
                copies.setdefault(group, set()).add(sentence.doc_id)
        return chosen, copies


def _groups(chosen: dict[str, dict[tuple[str, int], Sentence]], copies: dict[str, set[str]], docs: dict[str, Document],
            hits: list[Hit]) -> list[EvidenceGroup]:
    groups = []
    for group_id, sentences in chosen.items():
        ordered = sorted(sentences.values(), key=lambda s: (s.doc_id != group_id, s.start))
        best = max(s.score for s in ordered)
        top = max(ordered, key=lambda s: s.score)
        chunk_id = next((h.chunk.chunk_id for h in hits if h.doc.doc_id == top.doc_id
                         and h.chunk.start <= top.start < h.chunk.end),
                        next(h.chunk.chunk_id for h in hits if h.doc.doc_id == top.doc_id))
        order = list(docs)
        others = [docs[d] for d in sorted(copies.get(group_id, ()), key=order.index) if d != group_id]
        groups.append(EvidenceGroup(docs[group_id], chunk_id, others, ordered, best))
    return sorted(groups, key=lambda g: g.best, reverse=True)
