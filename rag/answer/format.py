"""The answer format, defined once: the grammar's passage numbers, the QUOTE/ANSWER/NONE lines, the stream marker.

The model writes one or two `QUOTE [n]: "..."` lines copied from the evidence, then `ANSWER: ...` whose clauses
end with `[n]`, or `NONE` (prompts/answer.gbnf). This module reads that text (whole or as it streams) and fits
the grammar's passage-number rule to the number of passages shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text import CJK_RANGES, has_cjk

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
_NO_CJK = {r'[^"\n]': rf'[^"\n{CJK_RANGES}]',  # a quote's characters
           r"[^\n\[\];]": rf"[^\n\[\];{CJK_RANGES}]"}  # a clause's characters


def grammar_for(grammar: str, passages: int, evidence: str = "") -> str:
    """The answer grammar fitted to what is shown: a passage-number rule that can name every one of `passages`
    (two digits past nine), and, when the evidence has no CJK script, quotes and clauses that cannot have any."""
    if passages > 9 and _PASSAGE_RULE.search(grammar):
        grammar = _PASSAGE_RULE.sub(TWO_DIGITS, grammar, count=1)
    if evidence and not has_cjk(evidence):
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
