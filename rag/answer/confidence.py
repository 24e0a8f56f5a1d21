"""How sure to be of an answer: signals from retrieval, quotes and the model, combined by a fitted logistic model.

The weights live in rag/calibration.json, fitted by `rag eval calibrate` on dev questions (held-out folds pick
the threshold; the shipped one weighs the retrieval scores only, rag.evaluation.calibrate.CALIBRATED_FEATURES);
an answer whose probability of being supported is below the threshold becomes an abstention.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, fields
from importlib import resources
from pathlib import Path
from statistics import fmean, median
from typing import Mapping, Sequence

from rag.answer.agreement import (
    casualties,
    counted_terms,
    counts_other_casualties,
    figures,
    numbers_in,
    undated,
    unsupported_figures,
)
from rag.answer.alternatives import alternatives
from rag.answer.asking import asking_part, asking_sentence
from rag.answer.citations import cited_numbers, strip_markers
from rag.answer.compose import claim, first_clause
from rag.answer.evidence import EvidenceGroup, Question, answer_type_fits
from rag.answer.meeting import stitched
from rag.answer.offices import other_office
from rag.answer.quotes import VerifiedQuote
from rag.answer.retrieve import RetrievalScores
from rag.answer.speakers import speaker_unnamed
from rag.dates import date_marks, dated_month_days, resolve_relative, unsupported_dates
from rag.errors import ConfigError
from rag.text import capitalised_terms, content_terms, words
from rag.types import Signals

# Signals that withhold an answer on their own, never weighed.
GATES = ("adds_nothing", "unsupported_figures", "lacks_asked", "stitched", "speaker_unnamed", "alternatives")
FEATURES = tuple(f.name for f in fields(Signals) if f.name not in GATES)


def _coverage(terms: list[str], text: str) -> float:
    """Share of the question's terms found in `text`."""
    have = set(content_terms(text))
    return sum(t in have for t in terms) / len(terms) if terms else 1.0


def _unfolded_words(text: str) -> set[str]:
    """The words of `text` with a letter outside ASCII, as written: `words()` folds to ASCII, which leaves nothing of
    Cyrillic, Arabic or Chinese, so these are compared as they are."""
    return {w for w in re.findall(r"\w+", text.casefold()) if not w.isascii()}


def _restates(question: str, answer: str) -> bool:
    """Whether `answer` has no content word, negation or date beyond `question`'s."""
    (said, denied), (asked, asked_denied) = claim(answer), claim(question)
    if date_marks(strip_markers(answer)) - date_marks(question):
        return False  # "arrested in May": the month is the answer, though "may" is a stopword
    # A "not" answers a yes/no question: a negation the question lacks is something added.
    return said <= asked and denied <= asked_denied and _unfolded_words(answer) <= _unfolded_words(question)


def adds_nothing(question: str, answer: str) -> bool:
    """Whether the answer only restates the question: no content word and no negation beyond the question's
    ("San Francisco opened a park in an unusual location [1]." to "In which unusual location…?"), or its first
    clause, the answer itself, adds nothing to what is asked and a second clause says something else ("US and
    Iraqi officials called the factions smokescreen entities [1]; Austin said …" to "To which news agency did US
    and Iraqi officials call the factions smokescreen entities?")."""
    return _restates(question, answer) or _restates(asking_part(question), first_clause(answer))


_BARE_NUMBER = re.compile(r"\(\s*\d+\s*\)")  # "(1)": filler a small model writes to meet the grammar, not a count
_ONE = re.compile(r"\bone\b(?! of\b)", re.IGNORECASE)  # "one fighter" counts; "one of the" does not
# A question that asks for a name in so many words: "What were the names of the four members?". Not "who": "the
# ministry", "drone experts", "gunmen" answer it without one; nor "what is it called?", which may want a label.
_ASKS_NAME = re.compile(r"\bnames? of\b", re.IGNORECASE)


# Where something happened is not what it is called: "A contractor was killed at a U.S. military base at Erbil
# International Airport in the Kurdistan Region" names two places, and no contractor. Unless a place is what is
# asked ("the name of the town …").
_PLACE_PHRASE = re.compile(r"\b(?:at|in|on|near|from|into|outside|inside)\s+(?:the\s+|an?\s+)?(?:[A-Z][\w’'.-]*\s*)+")
_PLACE_ASKED = re.compile(r"\bnames? of (?:the |a |an )?(?:\w+ )?(?:towns?|city|cities|villages?|bases?|airports?|"
                          r"provinces?|regions?|countries|country|places?|camps?|crossings?|areas?|districts?|sites?|"
                          r"streets?|buildings?)\b", re.IGNORECASE)


def asks_for_a_name(question: str) -> bool:
    """Whether the question asks for the name of someone or something, in those words."""
    return bool(_ASKS_NAME.search(asking_sentence(question)))


def names_asked_for(question: str, clause: str) -> str:
    """The part of an answer's clause that may hold the name a "name of" question asks for: without the places it
    says things happened at or in, unless the question asks for a place's name."""
    return clause if _PLACE_ASKED.search(asking_sentence(question)) else _PLACE_PHRASE.sub(" ", clause)


def names_beyond(text: str, given: str) -> set[str]:
    """The names of `text` (rag.text.capitalised_terms) that `given` lacks."""
    return capitalised_terms(text) - set(content_terms(given))


def lacks_what_is_asked(question: str, parsed: Question, answer: str, outlets: tuple[str, ...] = (),
                        quotes: Sequence[str] = ()) -> bool:
    """Whether an answer to a question that wants a count, a date or a name gives none of its own in its first
    clause (the answer; a second gives another side): "The strikes targeted positions of Kataib Hezbollah (Iraq
    2021 strikes)" to "How many fighters were killed in the June 2021 strikes?" restates the question around a
    number; "The four members killed were four members of the faction" to "What were the names of the four members
    killed?" names no one. The grammar made a count's or date's clause hold a digit or a counting or dating word
    (rag.answer.format.typed_answer); this checks it is one the question does not already give, and a count beside
    one of the question's words, and not one of the dead where the wounded are asked, or the other way round, in the
    `quotes` the first clause cites (rag.answer.agreement.counts_other_casualties); a name, one beyond the
    question's and the outlets' ("According to France 24"), and not only where something happened ("killed at
    Erbil International Airport"; names_asked_for)."""
    first = first_clause(answer)
    if parsed.wants == "number":
        first = undated(_BARE_NUMBER.sub(" ", first))  # undated drops the citation markers too
        given = numbers_in(question)
        if counts_other_casualties(question, first, quotes):
            return True
        if _ONE.search(first) and 1.0 not in given:
            return False  # "one fighter was killed": figures() leaves "one" out, so it is taken as it stands
        # A count counts something asked: "1 contractor was killed" does not answer "How many US soldiers were
        # hurt?", though it is a count of its own. A bare count ("12 [1].") has nothing beside it to tell.
        # "12 people killed" counts what "What death tolls …?" asks: the dead are what a death toll counts.
        counted, kinds = counted_terms(question), casualties(content_terms(question))
        return not any(not near or counted.intersection(near) or kinds & casualties(near)
                       for value, near in figures(first) if value not in given)
    if parsed.wants == "date":
        return not date_marks(strip_markers(first)) - date_marks(question)
    if asks_for_a_name(question):
        return not names_beyond(names_asked_for(question, strip_markers(first)), f"{question} {' '.join(outlets)}")
    return False


def gated(values: Signals | Mapping[str, float | None]) -> bool:
    """Withheld whatever the confidence: a date or a count the articles do not give (from the model's memory,
    however sure it sounds), an answer that adds nothing to the question (a restated question is a miss, not an
    answer), a "how many", "when" or "the names of" answer without a count, date or name of its own (a count of
    the dead where the wounded are asked counts something else; someone of another office than the one asked,
    rag.answer.offices), an answer whose words and the question's meet in
    no shown sentence (rag.answer.meeting), one to what someone said from articles that never name them
    (rag.answer.speakers), or two unattributed fillers for the question's one slot (rag.answer.alternatives)."""
    values = values.as_dict() if isinstance(values, Signals) else values
    # unsupported_dates is weighed too (it was a feature before it gated).
    return any(bool(values.get(name)) for name in ("unsupported_dates", *GATES))


def signals(question: str, parsed: Question, groups: list[EvidenceGroup], verified: list[VerifiedQuote],
            answer: str, quote_logprobs: list[float], answer_logprobs: list[float],
            retrieval: RetrievalScores | None = None, logprobs_available: bool = True) -> Signals:
    """The signals of one answer (see Signals); without log-probabilities from the model those three are None
    (missing, left out by the calibration), not the -5.0 of an answer with no tokens."""
    terms = list(parsed.terms)
    # As the model read it: relative dates resolved.
    texts = [g.text() for g in groups]
    evidence = " ".join(f"{g.doc.title} {g.doc.date or ''} {resolve_relative(text, g.doc.date)}"
                        for g, text in zip(groups, texts))
    # A yearless "February 15" has its article's year: an answer may give it.
    dated = " ".join(day for g, text in zip(groups, texts) for day in dated_month_days(text, g.doc.date))
    quoted = " ".join(q.sentence.text for q in verified)
    outlets = tuple(o for g in groups for o in g.outlets)
    asked = set(content_terms(question))
    new_words = [t for t in content_terms(re.sub(r"\[\d+\]", " ", answer)) if t not in asked]
    first_quotes = _first_clause_quotes(answer, verified)
    return Signals(
        quotes=float(min(len(verified), 3)),
        quote_overlap=fmean(q.overlap for q in verified) if verified else 0.0,
        question_coverage=_coverage(terms, evidence),
        quote_coverage=_coverage(terms, quoted),
        answer_support=(sum(t in set(content_terms(quoted)) for t in new_words) / len(new_words)
                        if new_words else 0.0),
        answer_new_words=float(min(len(new_words), 10)),
        answer_logprob=_logprob(fmean, answer_logprobs, logprobs_available),
        answer_median_logprob=_logprob(median, answer_logprobs, logprobs_available),
        quote_logprob=_logprob(fmean, quote_logprobs, logprobs_available),
        type_fit=float(answer_type_fits(answer, parsed, set(words(question)))) if parsed.wants else 0.5,
        top_sentence=max((s.score for g in groups for s in g.sentences), default=0.0),
        # The question's own dates count as given: "in June 2021" may be restated.
        unsupported_dates=float(len(unsupported_dates(answer, f"{question} {evidence} {dated}"))),
        **(retrieval or RetrievalScores()).as_dict(),
        adds_nothing=float(adds_nothing(question, answer)),
        # Outlets count as given: "France 24" names no count.
        unsupported_figures=float(len(unsupported_figures(answer, f"{question} {evidence} {' '.join(outlets)}"))),
        # Someone of another office than the one asked ("President Biden" for the Pentagon spokesman) is no answer.
        lacks_asked=float(lacks_what_is_asked(question, parsed, answer, outlets, first_quotes)
                          or other_office(question, answer)),
        stitched=float(stitched(question, parsed, answer, groups)),
        speaker_unnamed=float(speaker_unnamed(question, _cited_texts(answer, groups, texts, verified))),
        alternatives=float(alternatives(question, answer)),
    )


def _first_clause_quotes(answer: str, verified: list[VerifiedQuote]) -> list[str]:
    """The verified sentences the answer's first clause cites (all the answer cites, when it cites none itself)."""
    first = first_clause(answer)
    cited = set(cited_numbers(first)) or set(cited_numbers(answer))
    return [q.sentence.text for q in verified if q.n in cited]


def _cited_texts(answer: str, groups: list[EvidenceGroup], texts: list[str], verified: list[VerifiedQuote]
                 ) -> list[str]:
    """What the model was shown of each article the answer cites or quotes: headline, outlets and sentences
    (`texts`: each group's text, as signals() already joined it)."""
    cited = set(cited_numbers(answer)) | {q.n for q in verified}
    return [f"{g.doc.title} {' '.join(g.outlets)} {text}"
            for n, (g, text) in enumerate(zip(groups, texts), start=1) if n in cited]


def _logprob(summary, values: list[float], available: bool) -> float | None:
    if not available:
        return None
    return summary(values) if values else -5.0


def _missing(value) -> bool:
    """A signal the backend could not give (None), or NaN where calibrate marks one."""
    return value is None or value != value


@dataclass(frozen=True)
class Calibration:
    """A logistic model over standardised signals, and the probability below which to abstain."""

    features: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    fitted_on: str = ""
    model: str = ""  # the LLM whose answers it was fitted on: a registry name, file name or server model id
    prompts: str = ""  # digest of the prompt templates those answers came from (rag.evaluation.runs.prompt_digest)
    model_sha256: str = ""  # its GGUF file's sha256, when it was a local file (rag.answer.calibrations.fits)

    def probability(self, values: Signals | Mapping[str, float]) -> float:
        """The probability that the answer is supported; recorded signals (a mapping) work as well. A missing
        signal (None) counts as its mean: it moves the probability neither way."""
        values = values.as_dict() if isinstance(values, Signals) else values
        z = self.bias + sum(w * (values.get(f, 0.0) - m) / s
                            for f, m, s, w in zip(self.features, self.means, self.scales, self.weights)
                            if not _missing(values.get(f, 0.0)))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, origin: str) -> Calibration:
        try:
            data = json.loads(text)
            return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{origin} is not a calibration file ({exc}); refit it with `rag eval calibrate`.") \
                from exc

    @classmethod
    def load(cls, path: str | Path | None = None) -> Calibration:
        """The file at `path`, or the one shipped inside the package."""
        if path:
            try:
                return cls.from_json(Path(path).read_text(encoding="utf-8"), str(path))
            except OSError as exc:
                raise ConfigError(f"Calibration file {path} could not be read ({exc.strerror}).") from exc
        shipped = resources.files("rag").joinpath("calibration.json")
        return cls.from_json(shipped.read_text(encoding="utf-8"), "rag/calibration.json")
