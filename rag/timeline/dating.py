"""When an article's event happened: its lede's relative date resolved, or what the dates it mentions allow."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from rag.dates import MONTHS, first_relative_day, parse_date

# Month names as prose writes them, capitalised: "may" the verb is not May the month.
_NAMES = ("January|February|March|April|May|June|July|August|September|October|November|December|"
          "Jan\\.|Feb\\.|Aug\\.|Sept?\\.|Oct\\.|Nov\\.|Dec\\.")
_FULL = [re.compile(r"\b(?P<mon>" + _NAMES + r")\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d\d)\b"),
         re.compile(r"\b(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+(?P<mon>" + _NAMES + r"),?\s+(?P<y>(?:19|20)\d\d)\b")]
_MONTH_YEAR = re.compile(r"\b(?P<mon>" + _NAMES + r"),?\s+(?P<y>(?:19|20)\d\d)\b")
# A month without a year: "on February 15", "15 February", or a month after a word that places something in it
# ("in June", "since April", "earlier in June"). "next June", "by March" look ahead and are left out.
_MONTH_DAY = re.compile(r"\b(?P<mon>" + _NAMES + r")\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?\b(?!,?\s*\d)"
                        r"|\b(?P<d2>\d{1,2})(?:st|nd|rd|th)?\s+(?P<mon2>" + _NAMES + r")\b(?!,?\s*\d)")
_MONTH_ALONE = re.compile(r"\b(?:in|on|since|last|early|late|mid-?|earlier in|later in|from|during|throughout)\s+"
                          r"(?:early\s+|late\s+|mid-?)?(?P<mon>" + _NAMES + r")(?!\s*,?\s*\d)")
# Same event: reports of one event may date it a day or two apart (the strike, the statement the day after).
TOLERANCE = timedelta(days=3)
_HALF_YEAR = timedelta(days=183)
_WEEK = timedelta(days=7)  # a lede's explicit date further back is background, not the news


def _month(name: str) -> int:
    return MONTHS[name.lower().rstrip(".")]


@dataclass(frozen=True)
class Mentions:
    """The calendar references in an article's text: dated ones (a day or a month of a known year) and year-less
    ones ((month, day or None)), which news style writes for dates of the current year."""

    dated: tuple[tuple[date, bool], ...]  # (day, exact): exact False for "December 2021" (its first day)
    yearless: tuple[tuple[int, int | None], ...]

    @property
    def latest(self) -> tuple[date, bool] | None:
        """The latest dated reference: an undated article was written after it."""
        return max(self.dated, default=None)


def mentions(text: str) -> Mentions:
    dated: set[tuple[date, bool]] = set()
    for pattern in _FULL:
        for m in pattern.finditer(text):
            if iso := _iso(int(m["y"]), _month(m["mon"]), int(m["d"])):
                dated.add((date.fromisoformat(iso), True))
    for m in _MONTH_YEAR.finditer(text):
        dated.add((date(int(m["y"]), _month(m["mon"]), 1), False))
    yearless: set[tuple[int, int | None]] = set()
    for m in _MONTH_DAY.finditer(text):
        month, day = _month(m["mon"] or m["mon2"]), int(m["d"] or m["d2"])
        if 1 <= day <= 31:
            yearless.add((month, day))
    for m in _MONTH_ALONE.finditer(text):
        yearless.add((_month(m["mon"]), None))
    return Mentions(tuple(sorted(dated)), tuple(sorted(yearless, key=lambda x: (x[0], x[1] or 0))))


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def consistent(found: Mentions, day: date) -> bool:
    """Could an undated article that mentions these dates report an event of `day`?

    Not if it mentions a dated day or month after it (it was written later), nor a year-less month-day or month
    up to half a year after it: taken in the event's year, as news style means it, that is later too. One more
    than half a year ahead reads as last year's ("on December 30" in a January article).
    """
    latest = found.latest
    if latest and latest[0] > day + TOLERANCE:
        return False
    for month, dom in found.yearless:
        when = date(day.year, month, min(dom or 1, 28))
        if when > day + TOLERANCE and when - day < _HALF_YEAR:
            return False
    return True


def event_day(lede: str, published: str | None) -> str | None:
    """The day the lede says the event happened ("on Thursday" in an article of Saturday 27 February 2021:
    2021-02-25), an explicit date it gives that is not after publication, else the publication date."""
    if not published:
        return None
    if day := first_relative_day(lede, published):
        return day
    explicit = parse_date(lede)
    try:
        if explicit and timedelta(0) <= date.fromisoformat(published) - date.fromisoformat(explicit) <= _WEEK:
            return explicit
    except ValueError:
        pass
    return published


def estimate(found: Mentions) -> tuple[str, bool] | None:
    """An undated article's place: the latest dated day or month it mentions, (YYYY-MM-DD or YYYY-MM, exact)."""
    latest = found.latest
    if latest is None:
        return None
    day, exact = latest
    return (day.isoformat() if exact else day.isoformat()[:7]), exact
