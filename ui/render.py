"""HTML for the chat: answers with linked [n] markers, source cards with the cited sentences highlighted.

No Gradio here, so it is testable on its own. Everything that came from an article or the model (titles,
outlets, passage text, the answer) is untrusted and goes through html.escape; the only markup is ours.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Iterable, Sequence

from rag.answer.citations import MARKER_RE, answer_sentences, cited_numbers
from rag.text import content_words, sentence_spans
from rag.types import Answer, Citation, Document

_SNIPPET_CHARS = 220
LOW_CONFIDENCE = 0.6  # answers below this are shown with a warning


def esc(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def anchor(turn: int, n: int) -> str:
    """The element id of passage n's card under answer number `turn`."""
    return f"src-{turn}-{n}"


# -- which sentences to highlight -------------------------------------------------------------------------

def citing_sentences(answer_text: str, n: int) -> list[str]:
    """The sentences of the answer that cite passage n."""
    return [s for s in answer_sentences(answer_text) if n in cited_numbers(s)]


def _overlap_words(text: str) -> set[str]:
    return {w.removesuffix("'s") for w in content_words(MARKER_RE.sub(" ", text))}


def highlight_spans(passage_text: str, answer_text: str, n: int) -> list[tuple[int, int]]:
    """Character spans of the passage sentences to highlight for passage n.

    For each answer sentence that cites [n], the passage sentence sharing the most meaningful words with it
    (the first on a tie; none when nothing is shared). Sorted, without duplicates.
    """
    spans = sentence_spans(passage_text)
    if not spans:
        return []
    words = [_overlap_words(passage_text[s:e]) for s, e in spans]
    chosen: set[tuple[int, int]] = set()
    for sentence in citing_sentences(answer_text, n):
        wanted = _overlap_words(sentence)
        scores = [len(wanted & w) for w in words]
        best = max(scores)
        if best > 0:
            chosen.add(spans[scores.index(best)])
    return sorted(chosen)


# -- pieces of HTML ---------------------------------------------------------------------------------------

def _paragraphs(escaped: str) -> str:
    # No blank lines may appear in the HTML: the chat renders messages as Markdown, where a blank line ends
    # an HTML block and indented text after it would become a code block.
    return re.sub(r"\n\s*\n", "<br><br>", escaped).replace("\n", "<br>")


def passage_html(text: str, spans: Sequence[tuple[int, int]] = ()) -> str:
    """The passage text, escaped, with each span wrapped in <mark>."""
    out, position = [], 0
    for start, end in sorted(spans):
        if start < position:
            continue
        out.append(esc(text[position:start]))
        out.append(f'<mark class="rag-hl">{esc(text[start:end])}</mark>')
        position = end
    out.append(esc(text[position:]))
    return _paragraphs("".join(out))


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SNIPPET_CHARS else text[:_SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"


def _origin(source: str) -> str:
    if re.match(r"https?://", source):
        return f'<a href="{esc(source)}" target="_blank" rel="noopener noreferrer">{esc(source)}</a>'
    return esc(Path(source.split("#")[0]).name + ("#" + source.split("#", 1)[1] if "#" in source else ""))


def meta_line(outlet: str | None, date: str | None) -> str:
    return f"{esc(outlet or 'unknown outlet')} · {esc(date or 'date unknown')}"


def quote_spans(passage_text: str, quotes: Sequence[str]) -> list[tuple[int, int]]:
    """Where the verified quotes (evidence sentences, word for word) sit in the passage text."""
    spans = []
    for quote in quotes:
        at = passage_text.find(quote)
        if at >= 0:
            spans.append((at, at + len(quote)))
    return sorted(spans)


def source_card(passage: Citation, turn: int, answer_text: str = "", cited: bool = True, open_: bool = False,
                quotes: Sequence[str] = ()) -> str:
    """One passage as a collapsible card: number, title, outlet, date, and the passage with highlights (the
    verified quotes when there are any, else the sentences sharing most words with the answer)."""
    spans = quote_spans(passage.text, quotes) if cited and quotes else []
    if cited and answer_text and not spans:
        spans = highlight_spans(passage.text, answer_text, passage.n)
    quote = " … ".join(passage.text[s:e] for s, e in spans) if spans else passage.text
    classes = "rag-src" + (" rag-src-cited" if cited else "")
    return (
        f'<details class="{classes}" id="{anchor(turn, passage.n)}"{" open" if open_ else ""}>'
        f'<summary><span class="rag-src-n">{passage.n}</span>'
        f'<span class="rag-src-head"><span class="rag-src-title">{esc(passage.title)}</span>'
        f'<span class="rag-src-meta">{meta_line(passage.outlet, passage.date)}</span>'
        f'<span class="rag-src-quote">{esc(_snippet(quote))}</span></span></summary>'
        f'<div class="rag-src-body">{passage_html(passage.text, spans)}'
        f'<div class="rag-src-origin">{_origin(passage.source)}</div></div>'
        "</details>"
    )


def link_citations(escaped_answer: str, turn: int, known: Iterable[int]) -> str:
    """Turn the [n] markers of an (already escaped) answer into links to the cards below it."""
    known = set(known)

    def link(match: re.Match) -> str:
        numbers = [int(p) for p in re.split(r"[,;]", match.group(1))]
        if not all(n in known for n in numbers):
            return match.group()
        return "".join(f'<a class="rag-cite" href="#{anchor(turn, n)}" data-target="{anchor(turn, n)}">[{n}]</a>'
                       for n in numbers)

    return MARKER_RE.sub(link, escaped_answer)


def streaming_html(partial: str, status: str = "", rewritten: str | None = None,
                   quotes: Sequence[tuple[int, str]] = ()) -> str:
    """The answer while it streams in (markers not linked yet) with what is happening meanwhile; the verified
    quotes the model has written so far come first, each with its passage number."""
    body = _paragraphs(esc(partial)) if partial else f'<span class="rag-status">{esc(status)}</span>'
    cursor = '<span class="rag-cursor"></span>' if partial else ""
    quoted = "".join(f'<div class="rag-quote-live">[{n}] “{esc(sentence)}”</div>' for n, sentence in quotes)
    return (f'<div class="rag-msg">{quoted}<div class="rag-answer">{body}{cursor}</div>'
            f'{_rewritten(rewritten)}</div>')


def stopped_html(partial: str, rewritten: str | None = None) -> str:
    """An answer cut short with Stop: what had arrived, and no sources (nothing was resolved)."""
    body = _paragraphs(esc(partial)) if partial.strip() else ""
    return (f'<div class="rag-msg"><div class="rag-answer">{body}</div>'
            f'<div class="rag-stopped">Stopped.</div>{_rewritten(rewritten)}</div>')


def _rewritten(rewritten: str | None) -> str:
    if not rewritten:
        return ""
    return f'<div class="rag-rewrite">Searched for: “{esc(rewritten)}”</div>'


def answer_html(answer: Answer, turn: int, rewritten: str | None = None) -> str:
    """A finished answer: text with linked markers, the rewritten query, then its sources."""
    cited = {c.n for c in answer.citations}
    parts = ['<div class="rag-msg">']
    if answer.abstained:
        parts.append('<div class="rag-abstain"><strong>No answer found.</strong> '
                     f'{esc(answer.text)}</div>')
    else:
        text = _paragraphs(link_citations(esc(answer.text), turn, cited))
        if answer.assembled:
            parts.append('<div class="rag-low">Put together from the articles\' own sentences: each source is '
                         'named, check them below.</div>')
        elif answer.confidence is not None and answer.confidence < LOW_CONFIDENCE:
            parts.append('<div class="rag-low">Low confidence: check the quoted sources below.</div>')
        parts.append(f'<div class="rag-answer">{text}</div>')
    parts.append(_rewritten(rewritten))
    t = answer.timings
    sure = "" if answer.confidence is None else f" · confidence {answer.confidence:.0%}"
    parts.append(f'<div class="rag-timing">{esc(answer.model)} · {t.total_ms / 1000:.1f} s{sure}</div>')
    if answer.abstained or not answer.citations:
        if answer.passages:
            label = "Passages looked at" if answer.abstained else "No passage cited · passages looked at"
            parts.append(f'<div class="rag-sources"><div class="rag-sources-label">{label} '
                         f'({len(answer.passages)})</div>')
            parts.extend(source_card(p, turn, cited=False) for p in answer.passages)
            parts.append("</div>")
        else:
            parts.append('<div class="rag-sources-label">No passage matched the question and filters.</div>')
    else:
        parts.append(f'<div class="rag-sources"><div class="rag-sources-label">Sources ({len(answer.citations)})'
                     "</div>")
        quotes = {c.n: [e.quote for e in answer.evidence if e.n == c.n] for c in answer.citations}
        parts.extend(source_card(c, turn, answer.text, cited=True, quotes=quotes[c.n]) for c in answer.citations)
        others = [p for p in answer.passages if p.n not in cited]
        if others:
            parts.append(f'<details class="rag-more"><summary>Other passages looked at ({len(others)})</summary>')
            parts.extend(source_card(p, turn, cited=False) for p in others)
            parts.append("</details>")
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def error_html(message: str) -> str:
    return f'<div class="rag-msg"><div class="rag-error">{esc(message)}</div></div>'


def busy_html(waiting: int) -> str:
    """The polite refusal when the chat's queue is full: nothing was lost, the question is still in the box."""
    count = "1 question is" if waiting == 1 else f"{waiting} questions are"
    return (f'<div class="rag-msg"><div class="rag-busy">The model is busy: {count} waiting for it already, as '
            "many as this chat takes. Your question is still in the box; please send it again in a minute."
            "</div></div>")


def documents_html(documents: Sequence[Document], uploads_dir: str | Path | None = None) -> str:
    """The index's articles as a table (title, outlet, date), newest first; uploaded ones are marked."""
    if not documents:
        return '<div class="rag-docs-empty">No articles indexed yet: add some below.</div>'
    uploads = str(Path(uploads_dir).resolve()) if uploads_dir else None
    dated = sorted((d for d in documents if d.date), key=lambda d: (d.date, d.title.lower()), reverse=True)
    undated = sorted((d for d in documents if not d.date), key=lambda d: d.title.lower())
    rows = []
    for doc in dated + undated:
        uploaded = uploads is not None and doc.source.startswith(uploads)
        badge = ' <span class="rag-badge">uploaded</span>' if uploaded else ""
        rows.append(f'<tr><td class="rag-doc-title" title="{esc(doc.source)}">{esc(doc.title)}{badge}</td>'
                    f"<td>{esc(doc.outlet or '—')}</td><td class=\"rag-doc-date\">{esc(doc.date or '—')}</td></tr>")
    return ('<div class="rag-docs"><table><thead><tr><th>Title</th><th>Outlet</th><th>Date</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def ingest_html(lines_ok: Sequence[str], skipped: Sequence[tuple[str, str]], summary: str = "") -> str:
    """What an upload did: the files added and the ones skipped, with the reason for each."""
    parts = ['<div class="rag-ingest">']
    if summary:
        parts.append(f'<div class="rag-ingest-summary">{esc(summary)}</div>')
    if lines_ok:
        parts.append("<ul class=\"rag-ingest-ok\">" + "".join(f"<li>{esc(x)}</li>" for x in lines_ok) + "</ul>")
    if skipped:
        parts.append('<div class="rag-ingest-skipped-label">Skipped:</div><ul class="rag-ingest-skipped">'
                     + "".join(f"<li><strong>{esc(name)}</strong>: {esc(reason)}</li>" for name, reason in skipped)
                     + "</ul>")
    parts.append("</div>")
    return "".join(parts)


def upload_report_html(uploads: Sequence, report) -> str:
    """The ingest report of uploaded files (rag.chat.Upload: name, path, duplicate), named as uploaded."""
    names = {str(u.path): u.name for u in uploads}
    skipped = []
    for source, reason in report.failed:
        path, _, line = source.partition("#")  # a JSONL record is "file#line"
        skipped.append((names.get(path, Path(path).name) + (f"#{line}" if line else ""), reason))
    unreadable = {source for source, _ in report.failed}
    repeats = dict(report.duplicates)  # source -> the copy already in the index
    ok = [u.name + (" (already there)" if u.duplicate else "")
          + (f" (the same article as {Path(repeats[str(u.path)].partition('#')[0]).name})"
             if str(u.path) in repeats else "")
          for u in uploads if str(u.path) not in unreadable]
    summary = (f"Added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
               f"skipped {len(skipped)}" + (f", duplicates {len(repeats)}." if repeats else "."))
    return ingest_html(ok, skipped, summary)


# -- the timeline view ------------------------------------------------------------------------------------

_OPENING_CHARS = 1500  # of each article, shown when its event is opened


def _opening(text: str) -> str:
    return text if len(text) <= _OPENING_CHARS else text[:_OPENING_CHARS].rsplit(" ", 1)[0] + " …"


def timeline_html(timeline) -> str:
    """A story's events in date order, each a collapsible line (date, what happened, outlets with [n]) that
    opens its articles: title, outlet, date, the opening of the text and where it came from."""
    if not timeline.events:
        return '<div class="rag-timeline rag-empty">No articles about this story were found.</div>'
    parts = [f'<div class="rag-timeline"><div class="rag-tl-query">Timeline: {esc(timeline.query)}</div>']
    for event in timeline.events:
        when = f"after {event.date}" if event.date_estimated else (event.date or "undated")
        outlets: dict[str, list[int]] = {}
        for source in event.sources:
            outlets.setdefault(source.outlet or "unknown outlet", []).append(source.n)
        who = ", ".join(f"{esc(name)} " + "".join(f"[{n}]" for n in ns) for name, ns in outlets.items())
        parts.append(f'<details class="rag-tl-event"><summary><span class="rag-tl-date">{esc(when)}</span> '
                     f'<span class="rag-tl-summary">{esc(event.summary)}</span> '
                     f'<span class="rag-tl-outlets">— {who}</span></summary><div class="rag-tl-articles">')
        for source in event.sources:
            doc = timeline.articles.get(source.doc_id)
            body = passage_html(_opening(doc.text)) if doc else ""
            parts.append(f'<details class="rag-src"><summary><span class="rag-src-n">{source.n}</span>'
                         f'<span class="rag-src-head"><span class="rag-src-title">{esc(source.title)}</span>'
                         f'<span class="rag-src-meta">{meta_line(source.outlet, source.date)}</span></span></summary>'
                         f'<div class="rag-src-body">{body}<div class="rag-src-origin">{_origin(source.source)}</div>'
                         "</div></details>")
        parts.append("</div></details>")
    parts.append("</div>")
    return "".join(parts)
