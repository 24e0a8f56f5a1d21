"""Dates: one stamp parser, relative dates resolved against publication, recency cues, dates an answer invents."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from rag.dates import (
    _resolve,
    date_marks,
    dated_month_days,
    parse_date,
    resolve_relative,
    unsupported_dates,
    wants_recent,
    without_wrong_weekday_dates,
)


@pytest.mark.parametrize("published, text, expected", [
    ("2021-02-27", "strikes on Thursday", "strikes on Thursday (2021-02-25)"),  # a Saturday article
    ("2021-02-25", "strikes on Thursday", "strikes on Thursday (2021-02-25)"),  # the publication day itself
    ("2021-03-01", "fired on Saturday night", "fired on Saturday (2021-02-27) night"),  # across a month boundary
    ("2021-01-02", "said on Wednesday", "said on Wednesday (2020-12-30)"),  # across a year boundary
    ("2021-03-01", "yesterday it denied", "yesterday (2021-02-28) it denied"),
    ("2020-03-01", "yesterday", "yesterday (2020-02-29)"),  # leap day
    ("2021-01-04", "last week", "last week (week of 2020-12-28)"),
    ("2021-01-15", "last month", "last month (2020-12)"),
    ("2021-01-15", "last year", "last year (2020)"),
    ("2021-02-27", "three days ago", "three days ago (2021-02-24)"),
    ("2021-02-27", "3 weeks ago", "3 weeks ago (2021-02-06)"),
    ("2021-02-27", "tomorrow", "tomorrow (2021-02-28)"),
    ("2021-02-27", "tonight", "tonight (2021-02-27)"),
    ("2021-03-31", "last month", "last month (2021-02)"),  # no February 31: the month before, not March 3
    ("2021-02-27", "9999999 days ago", "9999999 days ago"),  # before the calendar begins: left as written
])
def test_relative_dates_resolve_against_publication(published, text, expected):
    assert resolve_relative(text, published) == expected


def test_relative_days_are_the_ones_dateparser_gives():
    """rag.dates computes the few forms it rewrites itself (dateparser costs ~0.4 s a cold answer); same days."""
    from dateparser.search import search_dates

    forms = ["yesterday", "today", "tomorrow", "last week", "last month", "last year", "a day ago", "six days ago",
             "one week ago", "2 weeks ago", "30 days ago"]
    for published in (date(2020, 2, 29), date(2021, 3, 31), date(2022, 1, 1), date(2022, 12, 31)):
        base = datetime.combine(published, datetime.min.time())
        for form in forms:
            found = search_dates(form, languages=["en"], settings={"RELATIVE_BASE": base,
                                                                   "PREFER_DATES_FROM": "past"})
            assert _resolve(form, published) == found[0][1].date(), (published, form)


def test_text_without_relative_dates_or_publication_is_untouched():
    assert resolve_relative("It may rain now.", "2021-02-27") == "It may rain now."
    assert resolve_relative("on Thursday", None) == "on Thursday"
    assert resolve_relative("on Thursday", "not a date") == "on Thursday"


def test_one_parser_for_stamps():
    assert parse_date("27-02-2021") == "2021-02-27"
    assert parse_date("June 12, 2022") == "2022-06-12"
    assert parse_date("June 12, 2022", worded=False) is None
    assert parse_date("31-02-2021") is None


def test_recency_cues():
    assert wants_recent("Which show was recently renewed?")
    assert wants_recent("Who won this week's election?")
    assert not wants_recent("Who denied the intelligence sharing in February 2021?")


def test_dates_the_answer_invents():
    evidence = "Strikes on Thursday (2021-02-25). Published 2021-02-27."
    assert unsupported_dates("The strikes were on February 25, 2021 [1].", evidence) == []
    assert unsupported_dates("The strikes were on Feb 25 [1].", evidence) == []
    assert unsupported_dates("The strikes were in June 2020 [1].", evidence) == ["2020"]


def test_a_month_day_without_a_year_has_its_articles_year():
    text = "A rocket attack on Erbil on February 15 killed a contractor; talks begin on March 3, 2020."
    assert dated_month_days(text, "2021-02-27") == ["2021-02-15"]  # March 3, 2020 gives its own year
    assert dated_month_days("The raid of December 28 was condemned.", "2021-01-05") == ["2020-12-28"]
    assert dated_month_days("The raid of December 28 was condemned.", None) == []  # an undated article: no year
    assert dated_month_days("On February 30 nothing happened.", "2021-03-01") == []


def test_date_marks_are_dates_and_the_words_that_name_days_and_months():
    assert date_marks("Kirby tweeted on Saturday (2021-02-27) [1].") >= {"saturday", "2021-02-27", "2021"}
    assert date_marks("It began in June 2020, two years ago.") >= {"june", "2020", "ago"}
    assert date_marks("The minister may resign; markets fell sharply.") == set()  # "may" the verb, no month
    assert "may" in date_marks("The talks began in May.")
    assert date_marks("The militia was founded in the 1990s.") == {"1990s"}  # a decade dates it too
    assert date_marks("It has 1990 members and 300s of rifles.") == {"1990"}


@pytest.mark.parametrize("answer, expected", [
    ("Kirby tweeted on Saturday, 2021-02-26 [1].", "Kirby tweeted on Saturday [1]."),  # 2021-02-26 was a Friday
    ("The strikes came on Thursday (2021-02-25) night [1].", "The strikes came on Thursday (2021-02-25) night [1]."),
    ("It was on friday (2021-02-25) [1].", "It was on friday [1]."),
    ("On Monday, 2021-13-45 [1].", "On Monday, 2021-13-45 [1]."),  # no such day: left for the date checks
])
def test_a_date_beside_a_weekday_it_is_not_is_dropped(answer, expected):
    assert without_wrong_weekday_dates(answer) == expected
