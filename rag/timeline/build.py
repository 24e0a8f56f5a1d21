"""A story's timeline: retrieve its articles, group them into events, date each event, say what happened."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from rag.answer.retrieve import Filters, Retriever
from rag.config import Config
from rag.dates import resolve_relative
from rag.errors import RagError
from rag.models.embedder import Embedder
from rag.store.base import Store
from rag.text import content_terms
from rag.timeline.dating import estimate, event_day, mentions
from rag.timeline.grouping import Article, Event, group
from rag.timeline.lede import lede
from rag.types import Document

MAX_ARTICLES = 30
_CHUNKS_PER_ARTICLE = 4  # chunks retrieved per article wanted: a story's articles each match several times
_RELEVANT = 0.6  # share of the query's words an article must hold to be about the story


@dataclass(frozen=True)
class TimelineSource:
    """One article of an event, numbered [n] across the timeline."""

    n: int
    doc_id: str
    source: str
    title: str
    outlet: str | None
    date: str | None
    url: str | None


@dataclass(frozen=True)
class TimelineEvent:
    """What happened, when, and who reported it. `date` is YYYY-MM-DD, or YYYY-MM when only the month is known;
    `date_estimated` means the articles are undated and the event comes after that date (the latest they mention)."""

    date: str | None
    date_estimated: bool
    published: str | None  # the earliest publication date of its articles
    summary: str
    sources: tuple[TimelineSource, ...]

    @property
    def outlets(self) -> list[str]:
        return list(dict.fromkeys(s.outlet or "unknown outlet" for s in self.sources))


@dataclass(frozen=True)
class Timeline:
    """A story's events in date order; `articles` (doc id -> Document) lets a view open each source."""

    query: str
    events: tuple[TimelineEvent, ...]
    articles: dict[str, Document] = field(default_factory=dict, compare=False, repr=False)

    def to_json(self) -> dict:
        return {"query": self.query, "events": [asdict(e) for e in self.events]}


def coverage(terms: set[str], doc: Document) -> float:
    """Share of the query's distinct words found in the article (title and text)."""
    if not terms:
        return 1.0
    held = set(content_terms(f"{doc.title} {doc.text}"))
    return len(terms & held) / len(terms)


def story_articles(store: Store, embedder: Embedder, query: str, filters: Filters | None = None,
                   max_articles: int = MAX_ARTICLES) -> list[tuple[int, Document]]:
    """(rank, article) for the articles about the story, best match first: found by the hybrid search, kept when
    they hold most of the query's words (a search always returns something, related or not)."""
    k = min(200, max_articles * _CHUNKS_PER_ARTICLE)
    hits = Retriever(store, embedder).search(query, k, filters)
    terms = set(content_terms(query))
    docs = list({hit.doc.doc_id: hit.doc for hit in hits}.values())
    kept = [d for d in docs if coverage(terms, d) >= _RELEVANT]
    return list(enumerate(kept[:max_articles]))


def _articles(ranked: list[tuple[int, Document]], terms: set[str]) -> list[Article]:
    articles = []
    for rank, doc in ranked:
        first = lede(doc, terms)
        articles.append(Article(doc, rank, first, event_day(first, doc.date), mentions(doc.text)))
    return articles


def _summary(event: Event, terms: set[str]) -> str:
    """A lede naming at least half of what was asked, from a report of the event's own day (a follow-up's lede,
    "denied on Friday", tells less of what happened), then the one naming most, then the best-ranked; relative
    dates resolved."""
    def key(article: Article) -> tuple:
        named = len(terms & set(content_terms(article.lede)))
        return 2 * named >= len(terms), article.day == event.day, named, -article.rank

    best = max(event.articles, key=key)
    return resolve_relative(best.lede, best.doc.date)


def _dating(event: Event) -> tuple[str | None, bool]:
    if event.day:
        return event.day, False
    guesses = [g for a in event.articles if (g := estimate(a.mentions))]
    return (max(guesses)[0], True) if guesses else (None, False)


def _order(dated: tuple[str | None, bool], event: Event) -> tuple:
    day, estimated = dated
    best_rank = min(a.rank for a in event.articles)
    return (day is None, day or "", estimated, best_rank)


def assemble(query: str, events: list[Event]) -> Timeline:
    """Events in date order (estimated ones at their lower bound, undated ones last), sources numbered in order."""
    terms = set(content_terms(query))
    dated = [(_dating(e), e) for e in events]
    dated.sort(key=lambda pair: _order(*pair))
    out, n = [], 0
    for (day, estimated), event in dated:
        members = sorted(event.articles, key=lambda a: (a.doc.date is None, a.doc.date or "", a.rank))
        sources = []
        for article in members:
            n += 1
            d = article.doc
            sources.append(TimelineSource(n, d.doc_id, d.url or d.source, d.title, d.outlet, d.date, d.url))
        published = min((a.doc.date for a in members if a.doc.date), default=None)
        out.append(TimelineEvent(day, estimated, published, _summary(event, terms), tuple(sources)))
    return Timeline(query, tuple(out), {a.doc.doc_id: a.doc for e in events for a in e.articles})


def build_timeline(store: Store, embedder: Embedder, query: str, filters: Filters | None = None,
                   max_articles: int = MAX_ARTICLES) -> Timeline:
    """The timeline of the story `query` names, from the articles of `store` that match `filters`."""
    ranked = story_articles(store, embedder, query, filters, max_articles)
    return assemble(query, group(_articles(ranked, set(content_terms(query)))))


def timeline(config: Config, query: str, filters: Filters | None = None, max_articles: int = MAX_ARTICLES,
             embedder: Embedder | None = None) -> Timeline:
    """The timeline over the index `config` names (`rag timeline`)."""
    from rag.models.factories import make_embedder
    from rag.store import open_store

    if not query.strip():
        raise RagError("The query is empty: name the story, e.g. rag timeline \"US strikes on Iran-backed militias\"")
    embedder = embedder or make_embedder(config)
    store = open_store(config.index_dir, embedder.name, cache_dir=config.cache_dir)
    try:
        return build_timeline(store, embedder, query, filters, max_articles)
    finally:
        store.close()
