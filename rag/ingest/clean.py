"""Strip news-page clutter (comment policies, teasers, captions, app prompts) and repeated paragraphs."""

from __future__ import annotations

import re
import unicodedata

# A line that starts the page furniture after the article: everything from it on is dropped.
_END_MARKERS = re.compile(
    r"^(comments?|post a comment|leave a (comment|reply)|related( posts| articles| stories)?|"
    r"previous article|next article|the latest|read more|more from .{1,40}|you may also like|"
    r"recommended|most read|to participate in the discussion)\s*:?$",
    re.IGNORECASE,
)

# Single lines that are never article text.
_JUNK_LINES = [
    r"^a\+\s*a-$",
    r"^required$",
    r"^share( this( article)?)?:?$",
    r"^advertisement$",
    r"^log in or register$",
    r"^(daily |weekly )?newsletter.*",
    r"^\([\w .]+ with (afp|ap|reuters)\b[\w ,]*\)$",  # wire-credit line, e.g. "(FRANCE 24 with AFP and REUTERS)"
    r"^(sign up|subscribe)\b.*\b(newsletter|inbox|updates)\b.*",
    r"^get the latest news from around the world\b.*",
    r"^take .{0,40}news everywhere with you!?.*",
    r"^download the .{1,30} app\b.*",
    r"^follow us on\b.*",
    r"^- [\w .]+, \d{4}$",  # site stamps such as "- Sputnik International, 1920"
    r"^[^\x00-\x7f\s]{2,}(\s+[^\x00-\x7f\s]+)*$",  # a stray line in another script, e.g. a widget label
]
_JUNK = re.compile("|".join(f"(?:{p})" for p in _JUNK_LINES), re.IGNORECASE)

# Comment-moderation policy sentences, wherever they stand.
_MODERATION = re.compile(
    r"moderates all comments|community guidelines|comments (that do not meet|are not edited)|"
    r"we will not tolerate the following|to be approved for publication",
    re.IGNORECASE,
)

# Photo captions and credits: a credit or "Photo:" label marks them.
_CAPTION = re.compile(
    r"©|\bphoto:|\bpicture taken\b|\b(file photo|handout (satellite )?image|photo credit|getty images)\b|"
    r"^file\s*[–—-]\s|\((?:ap|afp|reuters|washington post) photo\)|,\s*\d{4},\s*\d{1,2}\.\d{1,2}\.\d{4}$",
    re.IGNORECASE,
)


def _key(line: str) -> str:
    """Compare paragraphs ignoring case, spacing and quote style, so a repeated body is caught."""
    folded = unicodedata.normalize("NFKC", line).lower()
    return re.sub(r"\W+", " ", folded).strip()


def is_headline(line: str) -> bool:
    """A short line without closing punctuation: a title or a teaser's headline."""
    words = line.split()
    return 3 <= len(words) <= 25 and not line.rstrip().endswith((".", "!", "?", ":", "\"", "”"))


def clean_lines(lines: list[str]) -> list[str]:
    """Keep the article's paragraphs in order, dropping clutter and later copies of a paragraph."""
    kept: list[str] = []
    seen: set[str] = set()
    skip_teaser_headline = False
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if _END_MARKERS.match(line):
            break
        if _JUNK.match(line) or _MODERATION.search(line):
            continue
        if _CAPTION.search(line):
            # A captioned image on a news page is often a teaser for another story: its headline follows.
            skip_teaser_headline = bool(kept)
            continue
        if skip_teaser_headline:
            skip_teaser_headline = False
            if is_headline(line):
                continue
        key = _key(line)
        if key in seen:
            continue
        seen.add(key)
        kept.append(line)
    return kept
