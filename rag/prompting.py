"""Fill the prompt templates in prompts/ with numbered passages, within a token budget."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rag.errors import ConfigError
from rag.types import Citation, Hit

TEMPLATES = ("system.txt", "passage.txt", "question.txt")


@dataclass(frozen=True)
class Templates:
    """The three prompt files: the rules, how one passage is shown, and the user turn."""

    system: str
    passage: str
    question: str

    @classmethod
    def load(cls, folder: str | Path) -> Templates:
        folder = Path(folder)
        missing = [name for name in TEMPLATES if not (folder / name).is_file()]
        if missing:
            raise ConfigError(f"Prompt templates {', '.join(missing)} are missing from {folder}; "
                              "set prompts_dir to a folder holding system.txt, passage.txt and question.txt.")
        system, passage, question = ((folder / name).read_text(encoding="utf-8").strip() for name in TEMPLATES)
        return cls(system, passage, question)


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
    user = templates.question.format(passages="\n\n".join(blocks), question=question.strip())
    return [{"role": "system", "content": templates.system}, {"role": "user", "content": user}], shown
