"""Dates in news text: one parser for stamps, relative dates resolved against publication, recency cues."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

_MONTH_NAMES = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                "november", "december"]
MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, start=1)}
MONTHS.update({name[:3]: i for name, i in list(MONTHS.items())})
MONTHS["sept"] = 9
_MONTH = r"(?P<mon>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"

# Numeric forms are how pages stamp publication dates; prose writes months out.
_NUMERIC = [
    re.compile(r"\b(?P<y>\d{4})[/.-](?P<m>\d{1,2})[/.-](?P<d>\d{1,2})(?!\d)"),
    re.compile(r"\b(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{4})\b"),
]
_WORDED = [
    re.compile(_MONTH + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})", re.IGNORECASE),
    re.compile(r"\b(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<y>\d{4})", re.IGNORECASE),
]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Words that give a date in an answer: month and weekday names as names ("May", not the verb "may"), and the words
# that date from the day of writing. rag.answer.format makes an answer to "when" hold one; rag.answer.confidence
# withholds an answer that gives none beyond the question's.
DATE_NAMES = (*(m.capitalize() for m in _MONTH_NAMES), *(d.capitalize() for d in WEEKDAYS))
DAY_WORDS = ("yesterday", "today", "tonight", "ago")
_DATE_MARK = re.compile(r"\b(?:" + "|".join(DATE_NAMES) + r")\b|\b(?:" + "|".join(DAY_WORDS) + r")\b", re.IGNORECASE)
# Only expressions that name a day relative to the article are rewritten; dateparser also "finds" dates in
# words like "may" or "now", which must stay as they are.
_RELATIVE = re.compile(r"\b(?:" + "|".join(WEEKDAYS) + r"|yesterday|today|tonight|tomorrow|last (?:week|month|year)|"
                       r"(?:a|one|two|three|four|five|six|\d+) (?:days?|weeks?) ago)\b", re.IGNORECASE)
_RECENT = re.compile(r"\b(?:this (?:week|month|year|weekend)|last week|latest|most recent|recently|currently|now|"
                     r"so far|new|newly|just|upcoming|this past)\b", re.IGNORECASE)


def _month_of(match: re.Match) -> int:
    """The month number of a match's "mon" group: "February", "Feb." or "sept"."""
    return MONTHS[match["mon"].lower().rstrip(".")]


def _to_iso(year: str, month: str | int, day: str) -> str | None:
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def parse_date(text: str, worded: bool = True) -> str | None:
    """The first date in `text` as YYYY-MM-DD: 27-02-2021, 27.02.2021, 2022/06/12, June 12, 2022, 12 June 2022."""
    for pattern in _NUMERIC:
        if match := pattern.search(text):
            return _to_iso(match["y"], match["m"], match["d"])
    if worded:
        for pattern in _WORDED:
            if match := pattern.search(text):
                return _to_iso(match["y"], _month_of(match), match["d"])
    return None


def wants_recent(question: str) -> bool:
    """Does the question ask about the present ("this week", "latest", "now")? Then newer articles count more."""
    return bool(_RECENT.search(question))


_COUNTS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_DAY_SHIFTS = {"yesterday": -1, "today": 0, "tonight": 0, "tomorrow": 1, "last week": -7}


def _months_before(day: date, months: int) -> date:
    """The same day `months` months earlier, clamped to the month's end (March 31 less a month is February 28)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _resolve(phrase: str, published: date) -> date | None:
    """The day a relative expression means in an article published on `published` (None if it is no such day).

    Computed here rather than by dateparser: `_RELATIVE` admits only these few fixed forms, and dateparser's
    import and first search (its time-zone patterns) cost ~0.4 s of a cold answer whose evidence says
    "yesterday". Tests pin the same days dateparser gives.
    """
    found = _RELATIVE.search(phrase)
    if not found:
        return None
    word = " ".join(found.group().lower().split())
    try:
        if word in WEEKDAYS:
            # News style names the weekday for the past seven days, the publication day itself included.
            return published - timedelta(days=(published.weekday() - WEEKDAYS.index(word)) % 7)
        if word in _DAY_SHIFTS:
            return published + timedelta(days=_DAY_SHIFTS[word])
        if word in ("last month", "last year"):
            return _months_before(published, 1 if word == "last month" else 12)
        count, unit, _ago = word.split()
        days = (int(count) if count.isdigit() else _COUNTS[count]) * (7 if unit.startswith("week") else 1)
        return published - timedelta(days=days)
    except (OverflowError, ValueError):  # "9999999 days ago": before year 1
        return None


def _span_label(phrase: str, day: date) -> str:
    """A day as its ISO date; "last week" as the week it means, "last month"/"last year" as the month or year."""
    unit = phrase.lower().rsplit(" ", 1)[-1]
    if phrase.lower().startswith("last "):
        if unit == "week":
            return f"week of {(day - timedelta(days=day.weekday())).isoformat()}"
        return day.isoformat()[:7] if unit == "month" else str(day.year)
    return day.isoformat()


def resolve_relative(text: str, published: str | None) -> str:
    """The text with each relative date followed by the day it means: "on Thursday (2021-02-25)".

    Each expression is resolved against the article's publication date; a text without a weekday or
    "yesterday"-like word is returned untouched.
    """
    if not published or not _RELATIVE.search(text):
        return text
    try:
        base = date.fromisoformat(published)
    except ValueError:
        return text
    out, last = [], 0
    for match in _RELATIVE.finditer(text):
        day = _resolve(match.group(), base)
        if day is None or day == base and match.group().lower() == "today":
            continue
        out.append(text[last:match.end()] + f" ({_span_label(match.group(), day)})")
        last = match.end()
    return "".join(out) + text[last:]


# A weekday with a date beside it, as the evidence writes a resolved one ("Thursday (2021-02-25)") or as a model
# copies it ("Saturday, 2021-02-26").
_WEEKDAY_DATE = re.compile(r"\b(?P<day>" + "|".join(WEEKDAYS) + r")\b,?\s*\(?(?P<iso>\d{4}-\d{2}-\d{2})\)?",
                           re.IGNORECASE)


def without_wrong_weekday_dates(text: str) -> str:
    """The text without each date set beside a weekday it does not fall on: "on Saturday, 2021-02-26" (a Friday)
    -> "on Saturday". A small model copies a resolved date from another sentence of the evidence onto the weekday
    its own sentence gives; the weekday is what the article wrote, the date is the slip."""
    def mend(match: re.Match) -> str:
        try:
            day = date.fromisoformat(match["iso"])
        except ValueError:
            return match.group()
        return match.group() if WEEKDAYS[day.weekday()] == match["day"].lower() else match["day"]
    return _WEEKDAY_DATE.sub(mend, text)


_MONTH_DAY = re.compile(_MONTH + r"\s+(?P<d>\d{1,2})\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_YEAR_AFTER = re.compile(r",?\s+\d{4}\b")
_DECADE = re.compile(r"\b(?:1[89]|20)\d0s\b")  # "the 1990s": a date, though no year of it


def _calendar_facts(text: str) -> set[str]:
    """ISO dates, "MM-DD" month-day pairs and years written in `text` (an ISO date also gives its pair and year)."""
    facts: set[str] = set()
    for pattern in (*_NUMERIC, *_WORDED):
        for m in pattern.finditer(text):
            month = m["m"] if "m" in pattern.groupindex else _month_of(m)
            if iso := _to_iso(m["y"], month, m["d"]):
                facts |= {iso, iso[5:], iso[:4]}
    for m in _MONTH_DAY.finditer(text):
        facts.add(f"{_month_of(m):02d}-{int(m['d']):02d}")
    facts.update(_YEAR.findall(text))
    return facts


def date_marks(text: str) -> set[str]:
    """What in `text` gives a date: calendar dates, month-days and years, and month, weekday and day words (lower-
    cased; a month or weekday only where written as a name; decades)."""
    named = {m.group().lower() for m in _DATE_MARK.finditer(text)
             if m.group()[0].isupper() or m.group().lower() in DAY_WORDS}
    return _calendar_facts(text) | named | set(_DECADE.findall(text))


def unsupported_dates(answer: str, evidence: str) -> list[str]:
    """Dates, month-days and years the answer states that the evidence does not: the model's own, not the articles'."""
    return sorted(_calendar_facts(answer) - _calendar_facts(evidence))


def dated_month_days(text: str, published: str | None) -> list[str]:
    """The days that `text`'s month-days without a year ("on February 15") mean in an article published on
    `published`, as YYYY-MM-DD: the last such day on or before publication. An answer that gives "February 15,
    2021" from a 2021-02-27 article's "February 15" reads the year from the article, not from memory."""
    try:
        base = date.fromisoformat(published or "")
    except ValueError:
        return []
    days = []
    for match in _MONTH_DAY.finditer(text):
        if _YEAR_AFTER.match(text, match.end()):
            continue  # "February 15, 2019" gives its own year
        month, day = _month_of(match), match["d"]
        iso = _to_iso(str(base.year), month, day)
        if iso and iso > base.isoformat():
            iso = _to_iso(str(base.year - 1), month, day)  # "December 28" in a January article: the year before
        if iso:
            days.append(iso)
    return days


def first_relative_day(text: str, published: str | None) -> str | None:
    """The day the first day-naming expression of `text` ("on Thursday", "yesterday", "two days ago") means in an
    article published on `published`, as YYYY-MM-DD; spans ("last week") and undated articles give None."""
    if not published or not _RELATIVE.search(text):
        return None
    try:
        base = date.fromisoformat(published)
    except ValueError:
        return None
    for match in _RELATIVE.finditer(text):
        if match.group().lower().startswith("last "):
            continue
        if (day := _resolve(match.group(), base)) is not None:
            return day.isoformat()
    return None
