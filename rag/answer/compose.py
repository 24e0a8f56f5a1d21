"""Turn the model's draft and its verified quotes into the answer the user sees: cited, attributed, or silent."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.answer.agreement import numbers_in, undated
from rag.answer.citations import ABSTENTION, cited_numbers, resolve, strip_markers
from rag.answer.clause_ends import finish_cut_clauses
from rag.answer.format import Draft
from rag.answer.grounding import repair_citations
from rag.answer.quotes import VerifiedQuote
from rag.dates import without_wrong_weekday_dates
from rag.text import DENIAL, NUMBER_WORDS, STOPWORDS, content_terms, has_cjk, looks_like_instruction
from rag.types import Citation, Evidence

_CLAUSE = re.compile(r"\s*;\s*")
_FIRST_WORD = re.compile(r"[^\W\d_]+")  # the letters the text opens with ("yes" of "yes, ...")
_NEGATION = re.compile(r"\b(?:not|no|never|none|nor|neither|without|cannot)\b|n't")
# The model saying in words what NONE says: the articles do not give it ("The names of the pilots are not mentioned
# in the given articles [1].", "... [1]. None. The article does not provide information about ..."). Only words
# about the articles themselves, never a claim an article makes ("Kirby did not say how many").
_NOT_GIVEN = re.compile(r"\b(?:articles?|texts?|passages?)\s+(?:do|does|did)\s+not\s+"
                        r"(?:mention|specify|say|state|provide|give|contain|include)\b"
                        r"|\bnot\s+(?:mentioned|specified|given|stated|provided|reported)\s+in\s+the\s+"
                        r"(?:given\s+|provided\s+)?(?:articles?|texts?|passages?)\b"
                        r"|(?:^|[.;]\s*)None\s*(?:\[\d+\]\s*)*(?:[.;]|$)", re.IGNORECASE)
_SAYS = re.compile(r"\b(said|says|told|reported|according|claimed|stated|denied|put)\b", re.IGNORECASE)
# Who a sentence says made a claim: "..., the Syrian Observatory (SOHR) reported.", "X told Reuters", "according to X".
_VERB = r"(?:said|says|told|tells|reported|reports|stated|announced|claimed|confirmed|denied|added|wrote)"
_SPEAKER = [
    re.compile(r"\baccording to (?P<who>[^,.;:]{2,80})"),
    re.compile(r",[\"”]?\s+(?P<who>[^,;]{2,80}?)\s+" + _VERB + r"\.?[\"”’]?\s*$"),
    re.compile(r"^[\"“]?(?P<who>[A-Z][^,;\"“]{0,80}?)\s+" + _VERB + r"\b"),
    # "..., said Pentagon spokesman John Kirby on Saturday.": a short name after the verb, the sentence's end
    re.compile(r",\s+said\s+(?P<who>(?:the\s+)?[A-Z][\w'’.-]*(?:\s+[\w'’.-]+){0,4}?)(?:\s+(?:on|last|this|early|late)\s+\w+)?"
               r"\.?[\"”’]?\s*$"),
]


@dataclass
class Composed:
    """The answer text with its citations and evidence, or an abstention."""

    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    dangling: list[int] = field(default_factory=list)
    refused: str | None = None  # an answer withheld for low confidence
    # Put together by code from the articles' own words and dates (rag.answer.choices, .titles, .reports, .tolls),
    # not the model's: the retrieval calibration does not weigh it; the gates still check it.
    assembled: bool = False


def _tidy(answer: str) -> str:
    """"... contractor. [1]." -> "... contractor [1].": the grammar lets a clause end in a full stop."""
    return re.sub(r"[.\s]+(\[\d+(?:\s*[,;]\s*\d+)*\])", r" \1", answer).strip()


def capitalised(text: str) -> str:
    """"lawmakers left out ... [1]." -> "Lawmakers left out ... [1].": an answer opens as a sentence. Only an
    all-lower-case first word is touched ("iPhone", "eBay" stay)."""
    first = _FIRST_WORD.match(text)
    return text[0].upper() + text[1:] if first and first.group().islower() else text


def abstention() -> Composed:
    return Composed(ABSTENTION, True)


def speaker(sentence: str) -> str | None:
    """The person or body a sentence attributes its claim to, if it names one."""
    for pattern in _SPEAKER:
        if match := pattern.search(sentence):
            who = match["who"].strip(" ,")
            if len(who.split()) <= 10 and who.lower() not in {"he", "she", "it", "they", "we", "i"}:
                return who
    return None


def names_speaker(clause: str, who: str) -> bool:
    """Whether a clause already names the speaker `who`: all of its words, or its last when that is a name ("John
    Kirby" names "Pentagon spokesman John Kirby"; "reportedly" does not name "media reports")."""
    said = set(content_terms(clause))
    last = who.split()[-1] if who.split() else ""
    surname = set(content_terms(last)) if last[:1].isupper() else set()
    return set(content_terms(who)) <= said or bool(surname) and surname <= said


def says_who(clause: str) -> bool:
    """Whether a clause names a source for what it says ("… said", "according to …", "… told Reuters")."""
    return bool(_SAYS.search(clause))


def lower_start(clause: str) -> str:
    """Lower-case the clause's first word when it is an ordinary word ("The strikes" -> "the strikes", "Twenty-two
    militiamen" -> "twenty-two militiamen")."""
    first = clause.split(" ", 1)[0].lower()
    ordinary = first in STOPWORDS or first.split("-")[0] in NUMBER_WORDS
    return clause[0].lower() + clause[1:] if ordinary else clause


def _attribution(clause: str, quotes: list[VerifiedQuote], passages: dict[int, Citation],
                 outlets: bool = True) -> str | None:
    """Who a clause's claim comes from, as the words that open it ("the Syrian Observatory said ", "according to
    Rudaw, "; the outlet only with `outlets`); None when the clause already says who, or cites nothing that names
    anyone."""
    numbers = cited_numbers(clause)
    if not numbers or says_who(clause):
        return None  # the model already said who
    quote = _clause_quote(clause, [q for q in quotes if q.n == numbers[0]])
    who = speaker(quote.sentence.text) if quote else None
    if who:  # unless the clause already names them ("Kataib Hezbollah later confirmed it", "John Kirby [1]")
        return None if names_speaker(clause, who) else f"{who} said "
    outlet = passages[numbers[0]].outlet if outlets and numbers[0] in passages else None
    return f"according to {outlet}, " if outlet else None


def _clause_quote(clause: str, quotes: list[VerifiedQuote]) -> VerifiedQuote | None:
    """Of the quotes from the article a clause cites, the one the clause rests on: the sentence sharing most of
    its words (the first on a tie). An article that quotes both sides ("Although Kataib Hezbollah denied
    involvement, Austin said ...") gives each clause its own speaker, not its first quote's."""
    terms = set(content_terms(strip_markers(clause)))
    return max(quotes, key=lambda q: len(terms & set(content_terms(q.sentence.text))), default=None)


def split_clauses(text: str) -> list[str]:
    """The answer's clauses: "A [1]; B [2]." -> ["A [1]", "B [2]"]."""
    return [c for c in _CLAUSE.split(text.rstrip(". ")) if c]


def first_clause(text: str) -> str:
    """The answer's first clause, the answer itself ("A [1]" of "A [1]; B [2]."; a second gives another side)."""
    return next(iter(split_clauses(text)), "")


def claim(clause: str) -> tuple[frozenset[str], frozenset[str]]:
    """What a clause says: its content words, and its negations ("not", "no", "n't": stopwords to content_terms,
    kept here so that a denial never merges into the claim it denies, nor passes for a restated question)."""
    words = strip_markers(clause)
    return frozenset(content_terms(words)), frozenset(_NEGATION.findall(words.lower()))


def merge_repeated_clauses(text: str) -> str:
    """"X [3]; X [1]." -> "X [3][1].": a clause that says nothing its predecessor did not is the same claim from
    another source, one clause citing both, not a disagreement to attribute."""
    clauses = split_clauses(text)
    kept: list[tuple[str, frozenset[str], frozenset[str], list[int]]] = []
    for clause in clauses:
        terms, negations = claim(clause)
        same = next((k for k in kept if (terms or negations) and terms <= k[1] and negations == k[2]), None)
        if same is None:
            kept.append((clause, terms, negations, cited_numbers(clause)))
        else:
            same[3].extend(n for n in cited_numbers(clause) if n not in same[3])
    if len(kept) == len(clauses):
        return text
    merged = [strip_markers(c).strip(" .") + " " + "".join(f"[{n}]" for n in numbers) if numbers else c
              for c, _, _, numbers in kept]
    return "; ".join(merged) + "."


def disagree(clauses: list[str]) -> bool:
    """Whether the clauses give different values, as far as code can tell: other figures ("22 killed" against
    "one fighter killed"), or one denies or negates where another does not. Clauses that each add a detail
    ("prices hit a record [1]; a gallon costs $5 [2]") do not."""
    stated = {frozenset(found) for c in clauses if (found := numbers_in(undated(c)))}
    stances = {(bool(claim(c)[1]), bool(DENIAL.search(c))) for c in clauses}  # negations as merging reads them
    return len(stated) > 1 or len(stances) > 1


def attribute_disagreement(text: str, quotes: list[VerifiedQuote], passages: list[Citation]) -> str:
    """When the answer's clauses cite different articles, or one article's different speakers, say who made each
    claim (the speaker its quote names), unless that names the same speaker every time. The outlet ("according to
    CNN, ") stands in for a speaker only when the clauses disagree: clauses that add up keep their citations,
    which name the outlets (an "according to" on every clause reads as a dispute where there is none)."""
    clauses = split_clauses(text)
    if len(clauses) < 2:
        return text
    one_article = len({tuple(cited_numbers(c)) for c in clauses}) < 2
    by_number = {p.n: p for p in passages}
    outlets = not one_article and disagree(clauses)
    openings = [_attribution(c, quotes, by_number, outlets) for c in clauses]
    if not any(openings) or (None not in openings and len(set(openings)) == 1):
        return text  # nobody to name, or "according to USA Today, ...; according to USA Today, ...": one source
    if one_article and len(set(filter(None, openings))) < 2:
        return text  # one article's clauses are attributed only where it quotes two speakers
    attributed = [f"{o}{lower_start(c)}" if o else c for o, c in zip(openings, clauses)]
    joined = "; ".join([attributed[0], *(lower_start(c) for c in attributed[1:])])
    return joined[0].upper() + joined[1:] + "."


def assembled_answer(text: str, quotes: list[VerifiedQuote], passages: list[Citation]
                     ) -> tuple[Composed, list[VerifiedQuote]]:
    """An answer put together by code from shown sentences (rag.answer.choices, .titles, .reports, .tolls): citing
    the passages its text cites, its evidence the sentences it was put together from, and those as its quotes."""
    cited = set(cited_numbers(text))
    return Composed(text, False, [p for p in passages if p.n in cited],
                    [Evidence(q.n, q.sentence.text) for q in quotes], assembled=True), quotes


def sides_answer(sides: list[tuple[str, str, VerifiedQuote]], passages: list[Citation]
                 ) -> tuple[Composed, list[VerifiedQuote]]:
    """An assembled answer that gives each side (what is said, who says it, the sentence that says it) in a clause
    of its own: "Jets, according to Yehia Rasool [1]; a drone, according to the PMF [1]."."""
    text = "; ".join(f"{what}, according to {who} [{quote.n}]" for what, who, quote in sides) + "."
    return assembled_answer(text[0].upper() + text[1:], [quote for _, _, quote in sides], passages)


def compose(draft: Draft, verified: list[VerifiedQuote], passages: list[Citation]) -> Composed:
    """The checked answer: no verified quote means no answer; citations point where the words are."""
    if draft.none or not draft.answer or not verified or looks_like_instruction(draft.answer):
        return abstention()
    if _NOT_GIVEN.search(draft.answer):
        return abstention()  # the model's own NONE, in words
    if has_cjk(draft.answer) and not any(has_cjk(f"{p.title} {p.text}") for p in passages):
        return abstention()  # a word in a script the articles do not use came from the model, not from them
    answer = finish_cut_clauses(draft.answer, [q.sentence.text for q in verified] + [p.text for p in passages])
    text, _, dangling = resolve(_tidy(without_wrong_weekday_dates(answer)), passages)
    if not cited_numbers(text):
        best = verified[0].n  # the model's answer came from its first verified quote
        text = text.rstrip(". ") + f" [{best}]."
    text = merge_repeated_clauses(repair_citations(text, passages))
    text = capitalised(attribute_disagreement(text, verified, passages))
    cited = cited_numbers(text)
    return Composed(text=text, abstained=False, citations=[p for p in passages if p.n in cited],
                    evidence=[Evidence(q.n, q.sentence.text) for q in verified], dangling=dangling)
