"""Which articles report the same event: wire copies, and reports close in time, alike in content and names.

Articles with an event day are grouped first, in date order: one joins an event whose day is within
`dating.TOLERANCE` of its own and whose reports it resembles (TF-IDF cosine of their openings and the share
of named entities in common, both weighted by rarity among the story's articles). Undated articles come next:
a copy joins its original, any other joins only with a stricter resemblance and when no date it mentions is
later than the event (it then takes the event's day); the rest stand alone.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from rag.dates import MONTHS, WEEKDAYS
from rag.text import STOPWORDS, content_terms, fold, jaccard, sentence_spans, shingles
from rag.timeline.dating import TOLERANCE, Mentions, consistent
from rag.types import Document

_HEAD = 3000  # characters of an article compared: the opening says which event it reports
_COPY = 0.5  # share of 4-word shingles two copies of one wire story have in common (as rag.answer.evidence)
# The articles of one story all share its words and names; weighted by rarity among them, what two reports of
# one event share on top scores 0.1-0.2 on the sample corpus, reports of unrelated stories ~0.0-0.03. Time is
# what separates the events of one story; resemblance keeps another story's report of the same days out.
SAME_EVENT = 0.06  # resemblance for two dated reports within the tolerance to be one event
SAME_EVENT_UNDATED = 0.1  # ... for an undated report whose mentioned dates fit the event's day
SAME_UNDATED = 0.3  # ... for two undated reports, where no day can help
_NAME = re.compile(r"(?<![\w'’])(?:[A-Z][\w'’-]+)(?:\s+(?:al-|el-|bin\s+|de\s+|of\s+)?[A-Z][\w'’-]+)*")
_NOT_NAMES = frozenset(STOPWORDS | set(WEEKDAYS) | set(MONTHS) | {"mr", "mrs", "ms", "dr", "president", "minister",
                                                                   "prime", "secretary", "spokesman", "spokesperson"})


@dataclass
class Article:
    """One retrieved article with what grouping compares: its event day, gist vector, names and shingles."""

    doc: Document
    rank: int  # its best chunk's place in the retrieval (0 = best)
    lede: str
    day: str | None  # the day of the event it reports (None: undated article)
    mentions: Mentions
    names: frozenset[str] = frozenset()
    grams: frozenset = frozenset()
    terms: Counter = field(default_factory=Counter)

    def __post_init__(self):
        # From the lede on: in a round-up of the day's news, where this story's paragraph starts.
        start = max(0, self.doc.text.find(" ".join(self.lede.split()[:6])))
        head = self.doc.text[start:start + _HEAD]
        self.names = frozenset(names(head))
        self.grams = frozenset(shingles(head))
        self.terms = Counter(content_terms(f"{self.doc.title} {head}"))


@dataclass
class Pool:
    """What resemblance weighs words and names by: how rare each is among the story's articles."""

    names: dict[str, float]
    vectors: dict[int, dict[str, float]]  # id(article) -> its unit TF-IDF vector

    @classmethod
    def of(cls, articles: list[Article]) -> Pool:
        total = len(articles) + 1
        name_counts = Counter(n for a in articles for n in a.names)
        term_counts = Counter(t for a in articles for t in a.terms)
        vectors = {}
        for a in articles:
            weights = {t: (1 + math.log(c)) * math.log(total / term_counts[t]) for t, c in a.terms.items()}
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            vectors[id(a)] = {t: w / norm for t, w in weights.items()}
        return cls({n: math.log(total / c) for n, c in name_counts.items()}, vectors)

    def cosine(self, a: Article, b: Article) -> float:
        va, vb = self.vectors[id(a)], self.vectors[id(b)]
        return sum(w * vb.get(t, 0.0) for t, w in va.items())


@dataclass
class Event:
    """Articles reporting one event, in the order they joined; `day` is the day most of them give."""

    articles: list[Article] = field(default_factory=list)

    @property
    def day(self) -> str | None:
        days = Counter(a.day for a in self.articles if a.day)
        if not days:
            return None
        top = max(days.values())
        return min(d for d, n in days.items() if n == top)


def names(text: str) -> set[str]:
    """The named entities of `text`, folded: capitalised runs ("Kataib Hezbollah"), a sentence's first word left out
    (it is capitalised anyway), weekdays, months and titles too."""
    found: set[str] = set()
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        for match in _NAME.finditer(sentence):
            words = match.group().split()
            if not sentence[:match.start()].strip(" \"“‘'(["):
                words = words[1:]
            words = [w for w in fold(" ".join(words)).replace("'s", "").split() if w not in _NOT_NAMES]
            if words and len(" ".join(words)) > 1:
                found.add(" ".join(words))
                found.add(words[-1])  # "Kirby" in one report is "John Kirby" in another
    return found


def _overlap(a: frozenset, b: frozenset, weight: dict[str, float]) -> float:
    """Weighted share of the smaller set's names found in the other: a short report naming the same people scores
    high, and names every article of the story shares ("Iraq", "Pentagon") count for little."""
    if not a or not b:
        return 0.0
    shared = sum(weight.get(n, 1.0) for n in a & b)
    return shared / min(sum(weight.get(n, 1.0) for n in a), sum(weight.get(n, 1.0) for n in b))


def resemblance(a: Article, b: Article, pool: Pool) -> float:
    """1.0 for copies; else the mean of the TF-IDF cosine of their openings and their named entities' overlap."""
    if is_copy(a, b):
        return 1.0
    return 0.5 * pool.cosine(a, b) + 0.5 * _overlap(a.names, b.names, pool.names)


def is_copy(a: Article, b: Article) -> bool:
    return jaccard(set(a.grams), set(b.grams)) >= _COPY


def _near(a: str, b: str) -> bool:
    return abs(date.fromisoformat(a) - date.fromisoformat(b)) <= TOLERANCE


def _mean_resemblance(article: Article, event: Event, pool: Pool) -> float:
    return sum(resemblance(article, other, pool) for other in event.articles) / len(event.articles)


def _best(article: Article, events: list[Event], threshold: float, allowed, pool: Pool) -> Event | None:
    scored = [(_mean_resemblance(article, e, pool), -i, e) for i, e in enumerate(events) if allowed(e)]
    scored = [s for s in scored if s[0] >= threshold]
    return max(scored, key=lambda s: s[:2])[2] if scored else None


def group(articles: list[Article]) -> list[Event]:
    """The events the articles report (see the module's docstring), in no particular order."""
    events: list[Event] = []
    pool = Pool.of(articles)
    for article in sorted((a for a in articles if a.day), key=lambda a: (a.day, a.rank)):
        copy_of = next((e for e in events if any(is_copy(article, o) for o in e.articles)), None)
        event = copy_of or _best(article, events, SAME_EVENT, lambda e: e.day and _near(e.day, article.day), pool)
        _join(events, event, article)
    for article in sorted((a for a in articles if not a.day), key=lambda a: a.rank):
        copy_of = next((e for e in events if any(is_copy(article, o) for o in e.articles)), None)

        event = (copy_of
                 or _best(article, events, SAME_EVENT_UNDATED,
                          lambda e, a=article: e.day and consistent(a.mentions, date.fromisoformat(e.day)), pool)
                 or _best(article, events, SAME_UNDATED, lambda e: e.day is None, pool))
        _join(events, event, article)
    return events


def _join(events: list[Event], event: Event | None, article: Article) -> None:
    if event is None:
        events.append(Event([article]))
    else:
        event.articles.append(article)
