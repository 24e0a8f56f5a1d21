"""The checked answer: abstention without verified quotes, citations repaired, disagreements attributed."""

from __future__ import annotations

from rag.answer.compose import compose, speaker
from rag.answer.format import Draft, Quote
from rag.answer.quotes import verify
from rag.types import Citation
from tests.shared import GROUPS

PASSAGES = [Citation(n, g.doc.doc_id, g.doc.source, g.doc.title, g.doc.outlet, g.doc.date, g.chunk_id, g.text())
            for n, g in enumerate(GROUPS, start=1)]


def _compose(answer: str, *quotes: tuple[int, str]):
    draft = Draft([Quote(n, q) for n, q in quotes], answer)
    return compose(draft, verify(draft.quotes, GROUPS), PASSAGES)


def test_no_verified_quote_no_answer():
    assert _compose("Canberra [1].", (1, "The capital is Canberra")).abstained
    assert compose(Draft([], "", none=True), [], PASSAGES).abstained


def test_a_date_the_weekday_does_not_fall_on_leaves_the_answer():
    done = _compose("The ministry denied it on Saturday, 2021-02-26 [1].", (1, "The ministry denied its involvement"))
    assert done.text == "The ministry denied it on Saturday [1]."


def test_an_answer_that_says_the_articles_lack_it_is_silence():
    for answer in ("The ministry's name is not mentioned in the given articles [1].",
                   "The ministry denied it [1]. None. The article does not provide information about it [1].",
                   "None [1]."):
        assert _compose(answer, (1, "The ministry denied its involvement")).abstained, answer
    # What an article says someone did not say is an answer, not the model's NONE.
    assert not _compose("The ministry did not say who [1].", (1, "The ministry denied its involvement")).abstained


def test_one_source_answer_keeps_its_words_and_citation():
    done = _compose("Iraq's Ministry of Defense denied it [1].", (1, "The ministry denied its involvement"))
    assert done.text == "Iraq's Ministry of Defense denied it [1]."
    assert [c.n for c in done.citations] == [1] and done.evidence[0].n == 1


def test_an_answer_without_a_marker_cites_its_quote():
    done = _compose("The ministry denied it.", (1, "The ministry denied its involvement"))
    assert done.text == "The ministry denied it [1]."


def test_disagreeing_sources_are_named():
    done = _compose("22 militiamen were killed [1]; one fighter was killed [2].",
                    (1, "Twenty-two militiamen were killed in the strikes"),
                    (2, "the strikes killed one fighter and wounded four"))
    assert done.text == ("The Syrian Observatory for Human Rights (SOHR) said 22 militiamen were killed [1]; "
                         "the official said one fighter was killed [2].")
    assert [c.n for c in done.citations] == [1, 2]


def test_clauses_that_already_say_who_are_left_alone():
    done = _compose("SOHR reported 22 killed [1]; an official said one fighter died [2].",
                    (1, "Twenty-two militiamen were killed in the strikes"), (2, "the strikes killed one fighter"))
    assert done.text == "SOHR reported 22 killed [1]; an official said one fighter died [2]."


def test_speaker_of_a_sentence():
    assert speaker("Twenty-two died, the Syrian Observatory for Human Rights (SOHR) reported.") == \
        "the Syrian Observatory for Human Rights (SOHR)"
    assert speaker("Local sources told Reuters that 17 people had been killed.") == "Local sources"
    assert speaker("The strikes killed seven, according to the war monitor.") == "the war monitor"
    assert speaker('"We are here," Kirby said.') == "Kirby"
    assert speaker("The US did not use Iraqi information, said Pentagon spokesman John Kirby on Saturday.") == \
        "Pentagon spokesman John Kirby"
    assert speaker("Iraq condemned the strikes.") is None
    assert speaker("He said it was fine.") is None


def test_the_same_claim_from_two_sources_is_one_clause_citing_both():
    done = _compose("The ministry denied its involvement [1]; the ministry denied involvement [2].",
                    (1, "The ministry denied its involvement"), (2, "the strikes killed one fighter"))
    assert done.text == "The ministry denied its involvement [1][2]."
    assert [c.n for c in done.citations] == [1, 2]


def test_clauses_that_differ_are_kept_and_attributed():
    done = _compose("22 militiamen were killed [1]; one fighter was killed [2].",
                    (1, "Twenty-two militiamen were killed in the strikes"), (2, "the strikes killed one fighter"))
    assert done.text.count(";") == 1 and "said 22 militiamen" in done.text


def test_one_speaker_for_every_clause_is_not_named_twice():
    from rag.answer.compose import attribute_disagreement

    passages = [Citation(n, f"d{n}", "", "t", "USA Today", None, f"c{n}", "text") for n in (1, 3)]
    text = "Robert Kirkman called it home [3]; the studio moved there in 2010 [1]."
    assert attribute_disagreement(text, [], passages) == text


def test_a_denial_never_merges_into_the_claim_it_denies():
    from rag.answer.compose import merge_repeated_clauses

    text = "Iraq shared intelligence [1]; Iraq did not share intelligence [2]."
    assert merge_repeated_clauses(text) == text
    assert merge_repeated_clauses("Iraq did not share intelligence [1]; Iraq shared intelligence [2].") == \
        "Iraq did not share intelligence [1]; Iraq shared intelligence [2]."
    assert merge_repeated_clauses("Iraq shared intelligence [1]; Iraq shared intelligence [2].") == \
        "Iraq shared intelligence [1][2]."
    # "without", "cannot", "nor" and "neither" deny as "not" does (the negations of compose.claim).
    cannot = "The ministry will comment [1]; the ministry cannot comment [2]."
    assert merge_repeated_clauses(cannot) == cannot


def test_the_answer_opens_as_a_sentence():
    from rag.answer.compose import capitalised

    assert capitalised("lawmakers left out mental health resources [1].") == \
        "Lawmakers left out mental health resources [1]."
    assert capitalised("iPhone sales rose [1].") == "iPhone sales rose [1]."
    assert capitalised("5 people died [1].") == "5 people died [1]."
    assert capitalised("yes, the ministry denied it [1].") == "Yes, the ministry denied it [1]."
    done = _compose("the ministry denied it [1].", (1, "The ministry denied its involvement"))
    assert done.text == "The ministry denied it [1]."


def test_clauses_that_add_up_are_not_attributed_as_a_dispute():
    from rag.answer.compose import attribute_disagreement

    passages = [Citation(1, "d1", "", "t", "CNN", None, "c1", "text"),
                Citation(2, "d2", "", "t", "USA Today", None, "c2", "text")]
    adds_up = "Gas prices hit a record high on Saturday (2022-06-11) [1]; a gallon of regular costs $5 [2]."
    assert attribute_disagreement(adds_up, [], passages) == adds_up
    figures = "A gallon costs $5 [1]; a gallon costs $4.98 [2]."
    assert attribute_disagreement(figures, [], passages) == (
        "According to CNN, a gallon costs $5 [1]; according to USA Today, a gallon costs $4.98 [2].")
    denied = "Iraq shared intelligence before the strikes [1]; Iraq's ministry denies sharing intelligence [2]."
    assert attribute_disagreement(denied, [], passages).startswith("According to CNN, Iraq shared intelligence")


def test_a_speaker_is_named_when_nothing_is_disputed_but_not_twice():
    done = _compose("22 militiamen were killed [1]; Kataib Hezbollah later confirmed it [2].",
                    (1, "Twenty-two militiamen were killed in the strikes"), (2, "Kataib Hezbollah later confirmed it"))
    assert done.text == ("The Syrian Observatory for Human Rights (SOHR) said 22 militiamen were killed [1]; "
                         "Kataib Hezbollah later confirmed it [2].")


def test_one_article_that_quotes_two_speakers_names_each_clause_its_own():
    from rag.answer.compose import attribute_disagreement
    from rag.answer.evidence import Sentence
    from rag.answer.quotes import VerifiedQuote

    def quoted(text: str) -> VerifiedQuote:
        return VerifiedQuote(1, text, Sentence("d1", 0, len(text), text), 1.0)

    passages = [Citation(1, "d1", "", "t", "ESTA", None, "c1", "text")]
    quotes = [quoted("Twenty-two militiamen were killed in the strikes, the Syrian Observatory reported."),
              quoted("One fighter was killed, an Iraqi militia official said.")]
    text = "22 militiamen were killed [1]; one fighter was killed [1]."
    assert attribute_disagreement(text, quotes, passages) == (
        "The Syrian Observatory said 22 militiamen were killed [1]; an Iraqi militia official said one fighter was "
        "killed [1].")
    # One speaker, or none, for one article's clauses: nothing to tell apart, the text stays as written.
    assert attribute_disagreement(text, quotes[:1], passages) == text
    assert attribute_disagreement("22 militiamen were killed [1]; the border was closed [1].", quotes, passages) == \
        "22 militiamen were killed [1]; the border was closed [1]."


def test_a_clause_that_names_the_speaker_by_name_is_not_attributed_to_them():
    from rag.answer.compose import names_speaker

    assert names_speaker("John Kirby [1]", "Pentagon spokesman John Kirby")
    assert names_speaker("Kirby said so [1]", "Pentagon spokesman John Kirby")
    assert not names_speaker("The Pentagon said so [1]", "Pentagon spokesman John Kirby")
    assert not names_speaker("Four fighters were reportedly killed [1]", "media reports")  # not a name
