"""The answer format, defined once: the grammar's passage numbers, the QUOTE/ANSWER/NONE lines, the stream marker.

The model writes one or two `QUOTE [n]: "..."` lines copied from the evidence, then `ANSWER: ...` whose clauses
end with `[n]`, or `NONE` (prompts/answer.gbnf). This module reads that text (whole or as it streams) and fits
the grammar's passage-number rule to the number of passages shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from rag.dates import DATE_NAMES, DAY_WORDS
from rag.text import CJK_RANGES, NUMBER_WORDS, has_cjk

ANSWER_MARK = "ANSWER:"
QUOTE_MARK = "QUOTE ["  # how the grammar opens a quote line (its number and `]: "` follow)
_QUOTE_LINE = re.compile(r"^\s*QUOTE\s*\[(\d+)\]\s*:\s*[\"“]?(.*?)[\"”]?\s*$", re.IGNORECASE)
_ANSWER_LINE = re.compile(r"^\s*ANSWER\s*:\s*(.*)$", re.IGNORECASE)
_NONE_LINE = re.compile(r"^\s*NONE\b", re.IGNORECASE)
# The grammar's rule for a passage number; one digit covers up to nine passages, two digits up to 99.
_PASSAGE_RULE = re.compile(r"^passage\s*::=.*$", re.MULTILINE)
ONE_DIGIT, TWO_DIGITS = 'passage ::= [1-9]', 'passage ::= [1-9] [0-9]?'


@dataclass(frozen=True)
class Quote:
    """What the model claims an article says, and the article number it gave."""

    n: int
    text: str


@dataclass(frozen=True)
class Draft:
    """The model's output read as quotes plus an answer; `none` when it said the articles don't answer."""

    quotes: list[Quote]
    answer: str
    none: bool = False


# Quotes and the answer's clauses may not hold a CJK character when the evidence holds none (a small model's
# slip: a quote that strays into "Iraqi合作" is copied from nowhere and takes the answer with it).
_CLAUSE_CHARS = r"[^\n\[\];]"  # what the grammar lets a clause of the answer hold
_AFTER_MARK = r"[^\n\[\];a-zA-Z]"  # what may follow a counting or dating word: it ends there ("Eight", not "Eighth")
_AFTER_VALUE = r"[^\n\[\];a-zA-Z0-9]"  # ... and what may follow a value: "2020", not "20201"
_NO_CJK = {r'[^"\n]': rf'[^"\n{CJK_RANGES}]',  # a quote's characters
           _CLAUSE_CHARS: rf"[^\n\[\];{CJK_RANGES}]",
           _AFTER_MARK: rf"[^\n\[\];a-zA-Z{CJK_RANGES}]",
           _AFTER_VALUE: rf"[^\n\[\];a-zA-Z0-9{CJK_RANGES}]"}


# An answer to "how many" or "when" that holds no figure or date restates the question ("the Iraqi government
# started its strategic dialogue with the United States [1]" to "When did ... start ...?"): its first clause
# must hold a digit or a word that counts or dates (rag.answer.evidence.Question.wants). What is written there
# is checked like any answer: a count or date the articles do not give withholds it, and so does a first clause
# that gives none beyond the question's own, only filler such as "(1)" (rag.answer.confidence.lacks_what_is_asked).
_MARK_WORDS = {"number": sorted(NUMBER_WORDS), "date": [*DATE_NAMES, *DAY_WORDS]}
_ROOT_RULE = re.compile(r"^root\s*::=.*$", re.MULTILINE)
_ANSWER_RULE = re.compile(r'^answer\s*::=\s*"ANSWER: " clause \("; " clause\)\? "\.\\n"\s*$', re.MULTILINE)


def _typed_rules(wants: str) -> str:
    """The answer rule whose first clause, the answer itself, must hold a digit or one of the words that give
    what is wanted, as a whole word: "someone" holds no "one", nor "Eighth" an "eight" or "Mayor" a "May" (a
    small model reached for such words to get past the rule). Not the second clause: there the model puts a
    date it has at hand ("…, according to ESTA, … (2021-02-27)") and the answer still lacks its own."""
    words = sorted({w for word in _MARK_WORDS[wants] for w in (word, word[0].upper() + word[1:])})
    return ('answer  ::= "ANSWER: " typed ("; " clause)? ".\\n"\n'
            + _clause_giving("typed", "typemark", words, any_digit=True))


def _clause_giving(rule: str, mark: str, words: list[str], any_digit: bool) -> str:
    """GBNF rules: a cited clause `rule` that holds one of `words` (or, with `any_digit`, a digit) whole."""
    alternatives = " | ".join(f'"{w}"' for w in words)
    digit = f"{_CLAUSE_CHARS}{{0,150}} [0-9] {_CLAUSE_CHARS}{{0,150}} | " if any_digit else ""
    return (f'{rule:<7} ::= ({digit}'  # padded as "typed   ::=" always was: the shipped grammar's text is unchanged
            f'({_CLAUSE_CHARS}{{0,150}} [ ("$])? {mark} ({_AFTER_MARK} {_CLAUSE_CHARS}{{0,149}})?) '
            f'" [" passage "]"\n'
            f"{mark} ::= {alternatives}")


def answer_giving(grammar: str, phrases: Iterable[str]) -> str:
    """The grammar of the rest of an answer line whose opening is written up to its value: one of `phrases` as a
    whole word, the clause's end and its citation (rag.answer.stages.refocus). `grammar` is the one the first
    pass used (its passage rule stays; CJK is excluded as it was there)."""
    alternatives = " | ".join(f'"{p}"' for p in sorted(set(phrases)))
    rules = (f'root ::= value ({_AFTER_VALUE} {_CLAUSE_CHARS}{{0,149}})? " [" passage "]" ".\\n"\n'
             f"value ::= {alternatives}")
    if _NO_CJK[_CLAUSE_CHARS] in grammar:  # the first pass's clauses could hold no CJK: nor can this one
        rules = _without_cjk(rules)
    return _ROOT_RULE.sub(lambda _: rules, grammar, count=1)


def typed_answer(grammar: str, wants: str | None) -> str:
    """The grammar with its answer rule made to hold a number or a date when the question wants one (unchanged
    for other questions, or a grammar whose answer rule is not the shipped one)."""
    if wants not in _MARK_WORDS or not _ANSWER_RULE.search(grammar):
        return grammar
    return _ANSWER_RULE.sub(lambda _: _typed_rules(wants), grammar, count=1)


def grammar_for(grammar: str, passages: int, evidence: str = "", wants: str | None = None) -> str:
    """The answer grammar fitted to what is shown and asked: a passage-number rule that can name every one of
    `passages` (two digits past nine); when the evidence has no CJK script, quotes and clauses that cannot have any;
    and for a question that wants a number or a date (`wants`), an answer that gives one."""
    if passages > 9 and _PASSAGE_RULE.search(grammar):
        grammar = _PASSAGE_RULE.sub(TWO_DIGITS, grammar, count=1)
    grammar = typed_answer(grammar, wants)
    if evidence and not has_cjk(evidence):
        grammar = _without_cjk(grammar)
    return grammar


def _without_cjk(grammar: str) -> str:
    for chars, without_cjk in _NO_CJK.items():
        grammar = grammar.replace(chars, without_cjk)
    return grammar


def parse_draft(text: str) -> Draft:
    """QUOTE [n]: "..." lines then ANSWER: ...; tolerant of truncation (a cut-off last line is kept as far as it
    got)."""
    quotes: list[Quote] = []
    answer_lines: list[str] = []
    none = False
    for line in text.splitlines():
        if answer_lines:
            if _QUOTE_LINE.match(line) or _NONE_LINE.match(line):
                break  # a second QUOTE block after the answer: the first answer stands
            answer_lines.append(line.strip())
        elif match := _QUOTE_LINE.match(line):
            if match[2].strip():
                quotes.append(Quote(int(match[1]), match[2].strip()))
        elif match := _ANSWER_LINE.match(line):
            answer_lines.append(match[1].strip())
        elif _NONE_LINE.match(line):
            none = True  # also after quotes: the model copied what it found, then saw it does not answer
            break
    return Draft(quotes, " ".join(part for part in answer_lines if part).strip(), none)


class AnswerTail:
    """Picks the answer out of the model's stream: what follows "ANSWER:", without the quotes before it; and each
    QUOTE line as soon as it is complete."""

    def __init__(self):
        self.raw, self.sent, self.start_token = "", 0, None
        self._lines_read = 0  # complete lines already looked at for quotes

    def closed_quotes(self) -> list[Quote]:
        """The QUOTE lines completed since the last call (a line is complete at its newline)."""
        lines = self.raw.split("\n")[:-1]  # the last piece has no newline yet
        fresh, self._lines_read = lines[self._lines_read:], len(lines)
        found = []
        for line in fresh:
            if (match := _QUOTE_LINE.match(line)) and match[2].strip():
                found.append(Quote(int(match[1]), match[2].strip()))
        return found

    def feed(self, piece: str, tokens_so_far: int) -> str:
        """Add a piece of the stream; returns the new answer text it completes (empty while the quotes run)."""
        self.raw += piece
        at = self.raw.find(ANSWER_MARK)
        if at < 0:
            return ""
        if self.start_token is None:
            self.start_token = tokens_so_far
        tail = self.raw[at + len(ANSWER_MARK):].lstrip(" ").split("\n", 1)[0]
        new, self.sent = tail[self.sent:], len(tail)
        return new
