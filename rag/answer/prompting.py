"""Load the prompt templates in prompts/ and fill the answer prompt with numbered evidence groups."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from rag.answer.evidence import EvidenceGroup
from rag.config import REPO_ROOT
from rag.dates import resolve_relative
from rag.errors import ConfigError
from rag.text import CHAT_TOKEN, looks_like_instruction
from rag.types import Citation

_ROLE = re.compile(r"^###\s*(system|user|assistant)\s*$", re.MULTILINE)
_FENCE = re.compile(r"\[(\d+)\]")
_SPECIAL = re.compile(CHAT_TOKEN)
_SLOT = re.compile(r"\{(evidence|asked_on|question)\}")


def bundled_prompts() -> Path:
    """The templates that ship with rag-news: rag/prompts in an installed package, prompts/ in a source tree."""
    installed = Path(__file__).resolve().parent.parent / "prompts"
    return installed if installed.is_dir() else REPO_ROOT / "prompts"


def load_prompt(folder: str | Path, name: str) -> str:
    """One template file of `folder` (the bundled one when `folder` is empty, or when a custom folder lacks it),
    or a ConfigError that says where it was looked for."""
    bundled = bundled_prompts() / name
    path = Path(folder) / name if folder else bundled
    if not path.is_file() and bundled.is_file():
        path = bundled  # a custom folder may override only some templates
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"Prompt template {name} could not be read from {path.parent} ({exc.strerror}); set "
                          "prompts_dir to a folder holding answer.txt, evidence.txt, answer.gbnf and rewrite.txt.") \
            from exc


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
    """The answer conversation (rules, worked examples, the real question), how one article's evidence is
    shown, and the grammar the answer must follow."""

    answer: list[dict]
    evidence: str
    grammar: str

    @classmethod
    def load(cls, folder: str | Path) -> Templates:
        turns = parse_template(load_prompt(folder, "answer.txt"))
        if not all(f"{{{name}}}" in turns[-1]["content"] for name in ("evidence", "question", "asked_on")):
            raise ConfigError(f"The last turn of {Path(folder or bundled_prompts()) / 'answer.txt'} must hold "
                              "{evidence}, {question} and {asked_on}.")
        return cls(turns, load_prompt(folder, "evidence.txt"), load_prompt(folder, "answer.gbnf") + "\n")


def article_text(text: str) -> str:
    """Article text as quoted data: "[2]" inside an article cannot pose as one of our citation markers, and a
    chat-template token such as "<|im_start|>" written in it cannot open a turn of its own."""
    return _FENCE.sub(r"(\1)", _SPECIAL.sub("", " ".join(text.split())))


def to_citation(n: int, group: EvidenceGroup) -> Citation:
    """The numbered passage an evidence group becomes: what a `[n]` in the answer resolves to."""
    doc = group.doc
    return Citation(n=n, doc_id=doc.doc_id, source=doc.url or doc.source, title=doc.title,
                    outlet=", ".join(group.outlets) or None, date=doc.date, chunk_id=group.chunk_id,
                    text=group.text())


def render_evidence(template: str, passage: Citation) -> str:
    """One article's evidence as the model reads it, relative dates resolved against its publication date."""
    text = resolve_relative(article_text(passage.text), passage.date)
    return template.format(n=passage.n, title=_header_field(passage.title, "untitled"),
                           outlets=_header_field(passage.outlet, "unknown outlet"), date=passage.date or "date unknown",
                           text=text)


def _header_field(value: str | None, missing: str) -> str:
    """A title or outlet as data; one that addresses the model ("Ignore previous instructions") is not shown."""
    return missing if not value or looks_like_instruction(value) else article_text(value)


def render_passages(template: str, passages: list[Citation]) -> dict[int, str]:
    """Each passage's evidence as the model reads it (render_evidence), by its number."""
    return {p.n: render_evidence(template, p) for p in passages}


def build_messages(templates: Templates, question: str, shown: Mapping[int, str], asked_on: str) -> list[dict]:
    """The chat messages: the fixed turns, then the rendered evidence (render_passages) and the question in the
    last one."""
    blocks = "\n\n".join(shown.values())
    values = {"evidence": blocks, "asked_on": asked_on, "question": " ".join(question.split())}
    # One pass, so a "{question}" written inside an article stays text. Only the last turn is filled in: the
    # turns before it are fixed, so llama.cpp can reuse their cached state.
    filled = _SLOT.sub(lambda m: values[m[1]], templates.answer[-1]["content"])
    return [*templates.answer[:-1], {"role": templates.answer[-1]["role"], "content": filled}]
