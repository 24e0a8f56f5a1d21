"""The negative-rejection set: which answers can screen the corpus, and which articles go."""

from __future__ import annotations

import numpy as np

from rag.evaluation.embed_cache import CachedEmbedder
from rag.evaluation.realtimeqa import Article, Question
from rag.evaluation.rejection import as_eval_questions, build, holds, name_forms, prepared, screenable
from tests.fakes import FakeEmbedder


def _article(url: str, text: str) -> Article:
    return Article(url=url, title="", text=text, date="2022-06-12", outlet="CNN")


def _question(qid: str, answer: str, gold: tuple[str, ...] = ()) -> Question:
    return Question(qid, f"Question {qid}?", "2022-06-16", (answer, "other"), 0, answer, gold)


def test_short_or_common_answers_cannot_screen():
    texts = [f" {t} " for t in ["florida man", "florida beach", "squid game returns", "weather"]]
    assert "too short" in screenable("UK", texts)
    assert "in 2 of 4" in screenable("Florida", texts, max_share=0.3)
    assert screenable("Squid Game", texts, max_share=0.3) is None


def test_a_longer_answer_is_held_in_other_words_too():
    assert holds("Ban on assault weapons", " lawmakers left out an assault weapons ban ")
    assert not holds("Ban on assault weapons", " lawmakers banned nothing ")


def test_build_drops_every_article_holding_a_kept_answer_and_the_gold_ones():
    articles = [_article("a", "Squid Game is coming back"), _article("b", "The Squid Game season 2 news"),
                _article("c", "A story about rain"), _article("d", "Gold article in other words"),
                *[_article(f"x{i}", f"Florida story {i}") for i in range(3)]]
    questions = [_question("q1", "Squid Game", gold=("d",)), _question("q2", "Florida")]
    result = build(articles, questions, max_share=0.3)
    assert [q.id for q in result.questions] == ["q1"] and result.skipped[0][0] == "q2"
    assert {a.url for a in result.articles} == {"c", "x0", "x1", "x2"} and result.removed == 3
    (item,) = as_eval_questions(result)
    assert item.answers == [] and item.withheld == "Squid Game" and item.asked_on == "2022-06-16"


def test_a_name_is_screened_by_its_shorter_form_when_that_names_no_one_else():
    texts = [prepared(t) for t in [
        "Cosby was released from prison.", "Bill Cosby spoke.", "President Biden and First Lady Jill Biden met.",
        "Biden said so.", "Biden again.", "Biden signed a bill.",
        "The Eiffel Tower glittered.", "A water tower fell.",
        "Qatar Airways won.", "British Airways lost bags.", "British Airways again.", "JetBlue Airways grew.",
        "Sun and rain."]]
    assert name_forms("Bill Cosby", texts, share=0.5) == [" cosby "]
    # "Biden" is in too many articles to name her alone; "Jill Biden" names her.
    assert name_forms("First lady Dr. Jill Biden", texts, share=0.3) == [" jill biden "]
    assert name_forms("Eiffel Tower", texts, share=0.5) == []  # "tower" is a common word
    assert name_forms("Qatar Airways", texts, share=0.5) == []  # "Airways" ends other names
    assert name_forms("Ban on assault weapons", texts, share=0.5) == []  # no name to shorten


def test_build_drops_articles_that_name_the_answer_by_its_surname():
    articles = [_article("a", "Bill Cosby was released"), _article("b", "Cosby spoke to reporters"),
                *[_article(f"x{i}", f"Weather story {i}") for i in range(80)]]
    result = build(articles, [_question("q1", "Bill Cosby")], max_share=0.3)
    assert [q.id for q in result.questions] == ["q1"] and result.removed == 2
    assert "b" not in {a.url for a in result.articles}


def test_embedding_cache_embeds_each_text_once(tmp_path):
    inner = FakeEmbedder()
    cache = CachedEmbedder(inner, tmp_path / "cache.sqlite")
    first = cache.embed(["alpha beta", "gamma"])
    again = CachedEmbedder(inner, tmp_path / "cache.sqlite").embed(["gamma", "alpha beta", "delta"])
    assert inner.calls == 2  # the second call embedded only "delta"
    assert np.allclose(again[0], first[1]) and np.allclose(again[1], first[0])
