"""Citation markers resolve to the passages shown; unknown numbers are dropped and counted; abstentions are seen."""

from __future__ import annotations

from rag.answer.citations import cited_numbers, resolve
from rag.types import Citation


def _passage(n: int) -> Citation:
    return Citation(n=n, doc_id=f"d{n}", source=f"s{n}", title=f"T{n}", outlet="O", date=None, chunk_id=f"d{n}:0",
                    text=f"passage {n}")


def test_cited_numbers_in_order_of_first_mention():
    assert cited_numbers("A [2]. B [1][2]. C [3, 1].") == [2, 1, 3]


def test_resolve_drops_and_counts_dangling():
    text, citations, dangling = resolve("The ministry denied it [1][7]. Others disagreed [2, 9].",
                                        [_passage(1), _passage(2)])
    assert [c.n for c in citations] == [1, 2]
    assert dangling == [7, 9]
    assert text == "The ministry denied it [1]. Others disagreed [2]."


def test_resolve_without_dangling_keeps_text():
    text, citations, dangling = resolve("Fine [1].", [_passage(1)])
    assert (text, [c.n for c in citations], dangling) == ("Fine [1].", [1], [])


