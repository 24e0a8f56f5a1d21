"""A yes/no answer that a shown sentence denies becomes the claim and the denial, each with who made it."""

from __future__ import annotations

from rag.answer.compose import Composed, speaker
from rag.answer.disputes import denial_clause, is_polar, settle_nothing
from rag.answer.evidence import EvidenceGroup, Sentence
from rag.answer.quotes import VerifiedQuote
from rag.types import Citation, Document, Evidence

QUESTION = "Was Kataib Hezbollah behind the rocket attacks on US forces?"
BOTH = ("Although Kataib Hezbollah denied involvement in the attacks, Austin said that the powerful pro-Iranian "
        "organization was behind them.")
OTHER = "The Pentagon said the rocket attacks on US forces came from Kataib Hezbollah sites."
DENIED_ELSEWHERE = "Kataib Hezbollah has rejected any role in the rocket attacks on US forces."


def group(doc_id: str, *sentences: str) -> EvidenceGroup:
    text = " ".join(sentences)
    doc = Document(doc_id=doc_id, source=f"{doc_id}.txt", title="Strikes", text=text, outlet="Rudaw")
    spans, start = [], 0
    for sentence in sentences:
        spans.append(Sentence(doc_id, start, start + len(sentence), sentence))
        start += len(sentence) + 1
    return EvidenceGroup(doc=doc, chunk_id=f"{doc_id}:0", sentences=spans)


def passages(groups: list[EvidenceGroup]) -> list[Citation]:
    return [Citation(n, g.doc.doc_id, g.doc.source, g.doc.title, g.doc.outlet, g.doc.date, g.chunk_id, g.text())
            for n, g in enumerate(groups, start=1)]


def settle(question: str, answer: str, groups: list[EvidenceGroup], quoted: tuple[int, str]) -> Composed:
    n, text = quoted
    sentence = next(s for s in groups[n - 1].sentences if s.text == text)
    composed = Composed(answer, False, passages(groups), [Evidence(n, text)])
    return settle_nothing(question, composed, [VerifiedQuote(n, text, sentence, 1.0)], groups, passages(groups))


def test_polar_questions_are_told_apart():
    assert is_polar(QUESTION) and is_polar("Did Iraqi intelligence help the US?") and is_polar("“Has it ended?")
    assert not is_polar("Who denied the intelligence sharing?") and not is_polar("Doing what?")


def test_the_denying_clause_is_cut_from_its_sentence_with_its_denier():
    clause, rest = denial_clause(BOTH)
    assert clause == "Kataib Hezbollah denied involvement in the attacks"
    assert speaker(rest) == "Austin"  # who makes the claim the clause denies
    assert denial_clause("Denials came from the ministry.") is None  # no denier before the verb
    assert denial_clause(OTHER) is None


def test_a_yes_that_its_own_quote_disputes_gives_the_claim_and_the_denial():
    groups = [group("a", BOTH)]
    done = settle(QUESTION, "Yes, Kataib Hezbollah was behind the rocket attacks on US forces [1].", groups, (1, BOTH))
    assert done.text == ("Austin said Kataib Hezbollah was behind the rocket attacks on US forces [1]; "
                         "Kataib Hezbollah denied involvement in the attacks [1].")
    assert [c.n for c in done.citations] == [1]
    named = settle(QUESTION, "Austin said Kataib Hezbollah was behind the rocket attacks on US forces [1].", groups,
                   (1, BOTH))
    assert named.text.startswith("Austin said Kataib Hezbollah was behind")  # not "Austin said Austin said"


def test_another_sources_denial_is_added_and_cited():
    groups = [group("a", OTHER), group("b", DENIED_ELSEWHERE)]
    done = settle(QUESTION, "Yes, the attacks came from Kataib Hezbollah sites [1].", groups, (1, OTHER))
    assert done.text == ("The attacks came from Kataib Hezbollah sites [1]; "
                         "Kataib Hezbollah has rejected any role in the rocket attacks on US forces [2].")
    assert [c.n for c in done.citations] == [1, 2]
    assert Evidence(2, DENIED_ELSEWHERE) in done.evidence  # the denial is shown as a quote like any other


def test_answers_left_alone():
    groups = [group("a", BOTH)]
    answer = "Kataib Hezbollah was behind the rocket attacks on US forces [1]."
    for question, text in (("Who was behind the rocket attacks on US forces?", answer),  # not yes/no
                           (QUESTION, "No, Kataib Hezbollah denied involvement in the attacks [1]."),  # denies already
                           (QUESTION, "Yes [1].")):  # nothing to attribute
        assert settle(question, text, groups, (1, BOTH)).text == text
    unrelated = [group("a", OTHER), group("b", "The ministry denied that its budget had been cut.")]
    assert settle(QUESTION, answer, unrelated, (1, OTHER)).text == answer  # a denial about something else
    confirmed = "Kataib Hezbollah later confirmed the death of one of its fighters."
    same_names = [group("a", confirmed), group("b", BOTH)]
    confirms = "Kataib Hezbollah confirmed the death of a fighter [1]."
    # The denial shares only the question's names: it denies something else.
    assert settle("Did Kataib Hezbollah confirm the death of a fighter?", confirms, same_names,
                  (1, confirmed)).text == confirms


HELPED = "Did Iraqi intelligence help the US choose the targets?"
NOT_USED = ("SULAIMANI (ESTA) — The United States did not use information provided by the Iraqi government to attack "
            "targets in Syria, said Pentagon spokesman John Kirby on Saturday.")
PRAISED = "Austin praised Iraqi intelligence work that helped the US refine the targets."


def test_a_claim_stated_as_not_so_is_a_denial_of_two_asked_words():
    asked = {"iraqi", "intellig", "help", "us", "choos", "target"}
    clause, _ = denial_clause(NOT_USED, asked)
    assert clause == ("The United States did not use information provided by the Iraqi government to attack targets "
                      "in Syria")
    assert speaker(NOT_USED) == "Pentagon spokesman John Kirby"
    assert denial_clause(NOT_USED) is None  # no denying verb: a negation counts only against the question's words
    timelines = "In February, Washington and Baghdad had not set any timelines for the targets."
    assert denial_clause(timelines, asked) is None  # one asked word: about something else


def test_a_yes_its_own_quote_says_is_not_so_gives_only_what_the_quote_says():
    groups = [group("a", NOT_USED)]
    done = settle(HELPED, "Yes, the US used Iraqi intelligence to choose the targets [1].", groups, (1, NOT_USED))
    assert done.text == ("Pentagon spokesman John Kirby said the United States did not use information provided by "
                         "the Iraqi government to attack targets in Syria [1].")


def test_another_sources_not_so_is_added_with_who_said_it():
    groups = [group("a", PRAISED), group("b", NOT_USED)]
    done = settle(HELPED, "Austin said Iraqi intelligence helped the US choose the targets [1].", groups, (1, PRAISED))
    assert done.text == ("Austin said Iraqi intelligence helped the US choose the targets [1]; Pentagon spokesman John "
                         "Kirby said the United States did not use information provided by the Iraqi government to "
                         "attack targets in Syria [2].")
    assert [c.n for c in done.citations] == [1, 2]


SURPRISE = "Iraq's Ministry of Defense has expressed its surprise at a statement on the strikes."
MINISTRY = ("The ministry denied its involvement in the airstrikes, saying it was surprised by the statements "
            "about the participation of Iraqi intelligence.")


def test_each_article_denying_it_is_a_side_and_the_ministry_is_named():
    groups = [group("a", PRAISED), group("b", SURPRISE, MINISTRY), group("c", NOT_USED)]
    done = settle(HELPED, "Austin said Iraqi intelligence helped the US choose the targets [1].", groups, (1, PRAISED))
    assert done.text == ("Austin said Iraqi intelligence helped the US choose the targets [1]; Iraq's Ministry of "
                         "Defense denied its involvement in the airstrikes [2]; Pentagon spokesman John Kirby said the "
                         "United States did not use information provided by the Iraqi government to attack targets in "
                         "Syria [3].")
    assert [c.n for c in done.citations] == [1, 2, 3]


def test_the_ministry_nobody_named_before_stays_as_written():
    groups = [group("a", PRAISED), group("b", MINISTRY)]
    done = settle(HELPED, "Austin said Iraqi intelligence helped the US choose the targets [1].", groups, (1, PRAISED))
    assert "; the ministry denied its involvement in the airstrikes [2]." in done.text
