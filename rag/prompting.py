"""Fill the answer prompt in prompts/ with numbered passages, within a token budget."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rag.errors import ConfigError
from rag.types import Citation, Hit

TEMPLATES = ("answer.txt", "passage.txt")
_ROLE = re.compile(r"^###\s*(system|user|assistant)\s*$", re.MULTILINE)


def parse_template(template: str) -> list[dict]:
    """Chat turns from a template whose sections start with "### system", "### user" or "### assistant".

    Example exchanges written as real user/assistant turns teach a small model the task far better than
    instructions alone. A template without section lines is one user message.
    """
    parts = _ROLE.split(template)
    if len(parts) == 1:
        return [{"role": "user", "content": template.strip()}]
    return [{"role": role, "content": content.strip()} for role, content in zip(parts[1::2], parts[2::2])]


@dataclass(frozen=True)
class Templates:
    """The answer conversation (rules, worked examples, the real question) and how one passage is shown."""

    answer: list[dict]
    passage: str

    @classmethod
    def load(cls, folder: str | Path) -> Templates:
        folder = Path(folder)
        missing = [name for name in TEMPLATES if not (folder / name).is_file()]
        if missing:
            raise ConfigError(f"Prompt templates {', '.join(missing)} are missing from {folder}; "
                              "set prompts_dir to a folder holding answer.txt and passage.txt.")
        answer, passage = ((folder / name).read_text(encoding="utf-8").strip() for name in TEMPLATES)
        turns = parse_template(answer)
        if "{passages}" not in turns[-1]["content"] or "{question}" not in turns[-1]["content"]:
            raise ConfigError(f"The last turn of {folder / 'answer.txt'} must hold {{passages}} and {{question}}.")
        return cls(turns, passage)


def render_passage(template: str, passage: Citation) -> str:
    return template.format(n=passage.n, title=passage.title, outlet=passage.outlet or "unknown outlet",
                           date=passage.date or "date unknown", text=passage.text)


def build_messages(templates: Templates, question: str, hits: list[Hit], count_tokens: Callable[[str], int],
                   budget: int) -> tuple[list[dict], list[Citation]]:
    """Chat messages with as many passages, best first, as fit in `budget` tokens; and the passages shown."""
    shown: list[Citation] = []
    blocks: list[str] = []
    used = 0
    for hit in hits:
        passage = Citation.from_hit(len(shown) + 1, hit)
        block = render_passage(templates.passage, passage)
        cost = count_tokens(block)
        if used + cost > budget:
            continue  # a shorter passage further down may still fit
        shown.append(passage)
        blocks.append(block)
        used += cost
    # Only the last turn is filled in: the turns before it are fixed, so llama.cpp can reuse their cached state.
    last = templates.answer[-1]["content"].replace("{passages}", "\n\n".join(blocks))
    last = last.replace("{question}", " ".join(question.split()))
    return [*templates.answer[:-1], {"role": templates.answer[-1]["role"], "content": last}], shown

