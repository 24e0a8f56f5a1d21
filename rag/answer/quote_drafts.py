"""Guesses the rest of a quote the model is writing: the shown text that follows its words so far, to the end
of that sentence; the model checks the guess in one batch (rag.models.decoding) instead of writing it token by
token.

A quote is copied from evidence the model was just shown, so once its first words are written, the rest is
nearly certain; checking ~20 guessed tokens in one batch costs about half of 20 one-token steps on 2 CPU cores.
The model keeps every decision: a guessed token counts only where it is the model's own greedy pick, so the
quote still ends, or strays, where the model makes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

QUOTE_CHARS = 120  # the longest quote prompts/answer.gbnf allows
# Words of the quote written before guessing. One is enough: a start shown in several places with different
# continuations ("The") gives no guess anyway, and on CPUs where a batch of 16 costs ~2 steps (AMX kernels) a
# wrong guess costs little next to the ~15 steps a right one saves (eval/NOTES.md, issue 20).
MIN_WORDS = 1
_OPEN_QUOTE = re.compile(r'QUOTE \[(\d+)\]: "([^"\n]*)')
_SENTENCE_END = re.compile(r'[.!?…][”’)]?(?=\s+[A-Z“"‘(]|\s*$)')


@dataclass(frozen=True)
class QuoteDrafter:
    """`drafter(reply so far)` -> the guessed rest of the open QUOTE, or "" (no quote open, too few words yet,
    words found nowhere in the shown text, or found with different continuations)."""

    shown: dict[int, str]  # passage number -> its evidence as the model read it
    max_chars: int = QUOTE_CHARS
    min_words: int = MIN_WORDS

    def __call__(self, reply: str) -> str:
        match = _OPEN_QUOTE.fullmatch(reply.rsplit("\n", 1)[-1])
        if not match or len(match[2].split()) < self.min_words:
            return ""
        written = match[2]
        rests = {self._fit(rest, len(written)) for rest in self._continuations(int(match[1]), written)}
        return rests.pop() if len(rests) == 1 else ""

    def _continuations(self, n: int, written: str) -> list[str]:
        """What follows `written` wherever it is shown: in the passage the quote names, else in any passage; as
        written, else with its first letter's case turned (a quote begun mid-sentence is often capitalised:
        "Four members of" for "...named four members of")."""
        for texts in ([self.shown.get(n, "")], list(self.shown.values())):
            for start in (written, swap_first_case(written)):
                found = [text[at + len(start):] for text in texts for at in _occurrences(text, start)]
                if found:
                    return found
        return []

    def _fit(self, rest: str, used: int) -> str:
        """The rest of the line's sentence as far as a quote may go; closed when the sentence ends inside it."""
        line = re.split(r'"', rest.split("\n", 1)[0], maxsplit=1)[0]  # a quote may hold no quote mark
        end = _SENTENCE_END.search(line)
        sentence = line[:end.end()] if end else line
        room = self.max_chars - used
        if len(sentence) <= room and (end or not rest[len(line):].startswith('"')):
            return sentence + '"\n'  # the sentence, or the line (a title), ends inside the quote
        return sentence[:room].rstrip()


def swap_first_case(text: str) -> str:
    """`text` with its first character's case turned ("Four" <-> "four")."""
    return text[:1].swapcase() + text[1:]


def _occurrences(text: str, part: str) -> list[int]:
    starts, at = [], text.find(part)
    while at >= 0:
        starts.append(at)
        at = text.find(part, at + 1)
    return starts
