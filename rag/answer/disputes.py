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

from rag.answer.citations import cited_numbers, strip_markers
from rag.answer.compose import DENIAL, Composed, claim, first_clause, lower_start, names_speaker, speaker
from rag.answer.evidence import EvidenceGroup
from rag.answer.quotes import VerifiedQuote
from rag.dates import MONTHS
from rag.text import capitalised_terms, content_terms, strip_dateline
from rag.types import Citation, Evidence

_POLAR = re.compile(r"^\W*(?:did|does|do|was|were|is|are|has|have|had|will|would|can|could|should)\b", re.IGNORECASE)
_OPENER = re.compile(r"^\s*(?:yes|no)\b\s*[,.;:]?\s*", re.IGNORECASE)  # "Yes, " that settles it
# Where a sentence's clauses part: "Although X denied it, Y said that ...", "X said ..., but Y denied it".
_PARTS = re.compile(r"\s*(?:[,;:]\s+|\s+(?=(?:but|while|whereas)\b))")
_LEAD = re.compile(r"^(?:although|though|even though|even as|while|whereas|but|and|however|yet)\b[\s,]*",
                   re.IGNORECASE)
MIN_SHARED = 2  # question terms a sentence must hold to be about what was asked
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


def is_polar(question: str) -> bool:
    """Whether the question asks yes or no ("Did ...?", "Was ...?")."""
    return bool(_POLAR.match(question))


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


def find_denial(question: str, quotes: list[VerifiedQuote], groups: list[EvidenceGroup], cited: list[int]
                ) -> Denial | None:
    """The first shown sentence about the question that denies something: the answer's own quotes first, then
    the other shown sentences (another source's denial). About the question means two of its words, one of them
    not a name: "Although Kataib Hezbollah denied involvement in the attacks, …" is no answer to "Did Kataib
    Hezbollah confirm the death of a fighter?"."""
    asked = set(content_terms(question))
    names = capitalised_terms(question)
    candidates = [(q.n, q.sentence.text) for q in quotes if q.n in cited]
    candidates += [(n, s.text) for n, g in enumerate(groups, start=1) for s in g.sentences]
    for n, sentence in candidates:
        shared = asked.intersection(content_terms(sentence))
        if len(shared) < min(MIN_SHARED, len(asked)) or not shared - names:
            continue
        if found := denial_clause(sentence):
            return Denial(found[0], sentence, n, found[1])
        if found := denial_clause(sentence, asked):
            return Denial(found[0], sentence, n, found[1], negated=True)
    return None


def settle_nothing(question: str, composed: Composed, quotes: list[VerifiedQuote], groups: list[EvidenceGroup],
                   passages: list[Citation]) -> Composed:
    """The answer to a yes/no question as claim and denial where a shown sentence denies what it affirms;
    otherwise (another kind of question, an answer that already denies or negates, no denial shown) as it was."""
    text = composed.text
    if composed.abstained or not is_polar(question) or claim(text)[1] or DENIAL.search(text):
        return composed
    first = first_clause(text)
    cited = cited_numbers(first)
    denial = find_denial(question, quotes, groups, cited)
    if denial is None or not cited:
        return composed
    said = _OPENER.sub("", strip_markers(first)).strip(" .")
    if not said:
        return composed  # a bare "Yes [1].": nothing to attribute
    if denial.negated:
        said, cited, denied = _negation_sides(question, said, cited, denial, quotes, passages)
    else:
        said, cited = _claim_maker(said, cited, denial)
        denied = lower_start(denial.clause)
    marks = "".join(f"[{n}]" for n in cited)
    answer = f"{said} {marks}; {denied} [{denial.n}]." if said else f"{denied} [{denial.n}]."
    answer = answer[0].upper() + answer[1:]
    evidence = list(composed.evidence)
    if all(e.quote != denial.sentence for e in evidence):
        evidence.append(Evidence(denial.n, denial.sentence))
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
