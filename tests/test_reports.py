"""The date of a named outlet's report answered from its article's date, on fixtures."""

from __future__ import annotations

import pytest

from rag.answer.compose import Composed
from rag.answer.evidence import Question
from rag.answer.prompting import to_citation
from rag.answer.reports import answer_with_report_date, asks_report_date
from tests.shared import sentences_group as group

QUESTION = "What is the date of the Rudaw report on the Iraqi Defense Ministry's denial?"
UNDATED = group("a", "Rudaw", "Iraqi defense officials met US officials in Washington.", date=None)
DENIAL = group("b", "Rudaw", "Iraq's Ministry of Defense denied sharing intelligence on Thursday.",
               title="Iraq denies involvement in US airstrikes", date="2021-02-27")
OTHER = group("c", "CNN", "The Pentagon said Iraq helped on 25 February.", date="2021-02-25")
MODEL = Composed("The date of the Rudaw report is 2021-02-25 [3].", False)


@pytest.mark.parametrize("question, asks", [
    (QUESTION, True),
    ("When did France 24 publish its story on the June 2021 strikes?", True),
    ("When was the Rudaw article about the denial published?", True),
    ("When did the Iraqi ministry deny the report?", False),  # the date of what is reported
    ("What date did Rudaw give for the strikes?", False),
])
def test_a_reports_own_date_is_asked_only_in_so_many_words(question, asks):
    assert asks_report_date(question) is asks


def test_the_named_outlets_dated_article_gives_the_date():
    groups = [UNDATED, DENIAL, OTHER]
    passages = [to_citation(n, g) for n, g in enumerate(groups, start=1)]
    composed, quotes = answer_with_report_date(QUESTION, Question.parse(QUESTION), MODEL, [], groups, passages)
    assert composed.text == "The Rudaw report is dated 27 February 2021 [2]."
    assert [c.n for c in composed.citations] == [2] and [q.n for q in quotes] == [2]


def test_no_dated_article_of_that_outlet_leaves_the_answer():
    groups = [UNDATED, OTHER]
    passages = [to_citation(n, g) for n, g in enumerate(groups, start=1)]
    assert answer_with_report_date(QUESTION, Question.parse(QUESTION), MODEL, [], groups, passages) == (MODEL, [])
