"""A yes/no answer never settles a dispute its evidence reports: the claim and the denial, each with who made it.

"Was Kataib Hezbollah behind the rocket attacks?" answered "Yes, Kataib Hezbollah was behind the rocket attacks
[1]" from the quote "Although Kataib Hezbollah denied involvement in the attacks, Austin said that the powerful
pro-Iranian organization was behind them" takes one side of a dispute as fact. Where a shown sentence about the
question denies what the answer affirms, the answer becomes "Austin said Kataib Hezbollah was behind the rocket
attacks [1]; Kataib Hezbollah denied involvement in the attacks [1]": who claims it, and who denies it.

A claim stated as not so is a denial too: "The United States did not use information provided by the Iraqi
government to attack targets …, said Pentagon spokesman John Kirby" answers "Did Iraqi intelligence help the US
choose the targets?" as surely, and is written as what Kirby said. A "Yes" whose own quotes say not so is
withdrawn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer.asking import MIN_SHARED, about_question, is_polar
from rag.answer.citations import cited_numbers, strip_markers
from rag.answer.compose import Composed, claim, first_clause, lower_start, names_speaker, speaker
from rag.answer.evidence import EvidenceGroup
from rag.answer.quotes import VerifiedQuote
from rag.dates import MONTHS
from rag.text import DENIAL, capitalised_terms, content_terms, strip_dateline
from rag.types import Citation, Evidence

_OPENER = re.compile(r"^\s*(?:yes|no)\b\s*[,.;:]?\s*", re.IGNORECASE)  # "Yes, " that settles it
# Where a sentence's clauses part: "Although X denied it, Y said that ...", "X said ..., but Y denied it".
_PARTS = re.compile(r"\s*(?:[,;:]\s+|\s+(?=(?:but|while|whereas)\b))")
_LEAD = re.compile(r"^(?:although|though|even though|even as|while|whereas|but|and|however|yet)\b[\s,]*",
                   re.IGNORECASE)
MAX_SIDES = 2  # denials beside the claim: the claim, the ministry's denial and the Pentagon's own "did not use"
# "The ministry denied …": a body the article named before, by the word that says what it is.
_DEFINITE = re.compile(r"^the\s+(?P<head>ministry|army|military|government|group|militia|movement|faction|"
                       r"office|department|agency|council|committee)\b", re.IGNORECASE)
# "did not use", "had not exchanged", "wasn't": a claim stated as not so. Its clause itself must hold two of the
# question's words (not dates): "the Pentagon said in February that Washington and Baghdad have not set any
# timelines" is about February's strikes only by its other clause.
_NEGATED = re.compile(r"\b(?:did|does|do|had|has|have|was|were)(?:\s+not\b|n[’']t\b)", re.IGNORECASE)


@dataclass(frozen=True)
class Denial:
    """A shown sentence's denial of the asked claim: the clause that denies, the sentence, its passage number."""

    clause: str
    sentence: str
    n: int
    rest: str  # the sentence's other clauses, where the claim's maker may be named (compose.speaker reads it)
    negated: bool = False  # the clause states the claim as not so ("did not use"): its maker is the sentence's speaker


def denial_clause(sentence: str, asked: set[str] | None = None) -> tuple[str, str] | None:
    """The clause of `sentence` that denies, with a subject before its verb ("Kataib Hezbollah denied involvement in
    the attacks"), and the sentence's other clauses; None when it denies nothing or names no denier. With the
    question's terms `asked`: the clause that says not so of two of them ("The United States did not use …")."""
    parts = [p for p in _PARTS.split(strip_dateline(sentence.strip()).rstrip(".")) if p]
    for i, part in enumerate(parts):
        clause = _LEAD.sub("", part).strip(" \"“”'")
        if asked is None:
            found = DENIAL.search(clause)
        else:
            shared = {t for t in asked.intersection(content_terms(clause)) if t not in MONTHS and not t.isdigit()}
            found = _NEGATED.search(clause) if len(shared) >= MIN_SHARED else None
        if found and clause[:found.start()].strip():
            rest = " ".join(_LEAD.sub("", p) for j, p in enumerate(parts) if j != i)
            return clause[0].upper() + clause[1:], rest.strip()
    return None


def find_denials(question: str, quotes: list[VerifiedQuote], groups: list[EvidenceGroup], cited: list[int]
                 ) -> list[Denial]:
    """The shown sentences about the question that deny something, one per article, at most MAX_SIDES: the answer's
    own quotes first, then the other shown sentences (another source's denial). About the question means two of
    its words, one of them not a name: "Although Kataib Hezbollah denied involvement in the attacks, …" is no
    answer to "Did Kataib Hezbollah confirm the death of a fighter?"."""
    asked = set(content_terms(question))
    names = capitalised_terms(question)
    candidates = [(q.n, q.sentence.text) for q in quotes if q.n in cited]
    candidates += [(n, s.text) for n, g in enumerate(groups, start=1) for s in g.sentences]
    found: dict[int, Denial] = {}
    for n, sentence in candidates:
        if n in found or len(found) >= MAX_SIDES or not about_question(asked, names, sentence):
            continue
        if clause := denial_clause(sentence):
            found[n] = Denial(clause[0], sentence, n, clause[1])
        elif clause := denial_clause(sentence, asked):
            found[n] = Denial(clause[0], sentence, n, clause[1], negated=True)
    return list(found.values())


def named_denier(denial: Denial, groups: list[EvidenceGroup]) -> str:
    """The denying clause with "The ministry" named as its article last named it before ("Iraq’s Ministry of
    Defense denied its involvement …"): a reader cannot tell which ministry from the clause."""
    found = _DEFINITE.match(denial.clause)
    if not found or not 0 < denial.n <= len(groups):
        return denial.clause
    text = groups[denial.n - 1].doc.text
    before = text[:max(text.find(denial.sentence), 0)]
    head = found["head"].capitalize()
    names = re.findall(rf"(?:[A-Z][\w-]*[’']s\s+)?(?:[A-Z][\w’'-]*\s+)*{head}(?:\s+of(?:\s+[A-Z][\w’'-]*)+)?", before)
    return f"{names[-1]}{denial.clause[found.end():]}" if names else denial.clause


def settle_nothing(question: str, composed: Composed, quotes: list[VerifiedQuote], groups: list[EvidenceGroup],
                   passages: list[Citation]) -> Composed:
    """The answer to a yes/no question as the claim and each denial (one per article, MAX_SIDES) where shown
    sentences deny what it affirms; otherwise (another kind of question, an answer that already denies or negates,
    no denial shown) as it was."""
    text = composed.text
    if composed.abstained or not is_polar(question) or claim(text)[1] or DENIAL.search(text):
        return composed
    first = first_clause(text)
    cited = cited_numbers(first)
    denials = find_denials(question, quotes, groups, cited)
    said = _OPENER.sub("", strip_markers(first)).strip(" .")
    if not denials or not cited or not said:
        return composed  # nothing denied, or a bare "Yes [1].": nothing to attribute
    sides = []
    for denial in denials:
        if denial.negated:
            said, cited, denied = _negation_sides(question, said, cited, denial, quotes, passages)
        else:
            if said:  # not a claim every quote of it says is not so (withdrawn by _negation_sides)
                said, cited = _claim_maker(said, cited, denial)
            denied = lower_start(named_denier(denial, groups))
        sides.append(f"{denied} [{denial.n}]")
    marks = "".join(f"[{n}]" for n in cited)
    answer = "; ".join([f"{said} {marks}"] * bool(said) + sides) + "."
    answer = answer[0].upper() + answer[1:]
    evidence = list(composed.evidence)
    evidence += [Evidence(d.n, d.sentence) for d in denials if all(e.quote != d.sentence for e in evidence)]
    numbers = cited_numbers(answer)
    return Composed(answer, False, [p for p in passages if p.n in numbers], evidence, composed.dangling)


def _claim_maker(said: str, cited: list[int], denial: Denial) -> tuple[str, list[int]]:
    """The claim with its maker where the denying sentence names one the answer does not ("Austin said …")."""
    who = speaker(denial.rest) if denial.rest else None  # "Austin" of "Austin said that the organization was …"
    if who and not names_speaker(said, who):
        # the sentence that holds the denial names the claim's maker (whom the answer does not): cite it too
        return f"{who} said {lower_start(said)}", list(dict.fromkeys([denial.n, *cited]))
    return said, cited


def _negation_sides(question: str, said: str, cited: list[int], denial: Denial, quotes: list[VerifiedQuote],
                    passages: list[Citation]) -> tuple[str, list[int], str]:
    """The claim (none where every quote it cites says it is not so: "Yes, the US used Iraqi information [1]"
    from "The United States did not use information …") and the negation as what its speaker, else its outlet,
    said."""
    asked = set(content_terms(question))
    own = [q.sentence.text for q in quotes if q.n in cited]
    if own and all(denial_clause(sentence, asked) for sentence in own):
        said, cited = "", []
    who = speaker(denial.sentence)
    outlet = next((p.outlet for p in passages if p.n == denial.n and p.outlet), None)
    clause = lower_start(denial.clause)
    denied = f"{who} said {clause}" if who else f"according to {outlet}, {clause}" if outlet else clause
    return said, cited, denied
