"""Turn a follow-up question ("How many were killed there?") into a standalone one before retrieval.

The retriever sees one question at a time, so a question that leans on the conversation ("there", "it",
"what about ...") finds nothing useful on its own. When a question looks like such a follow-up and there is
a conversation, the generator rewrites it with a short prompt (prompts/rewrite.txt); when the model's
output is empty or unusable, the key noun phrase of the previous question is appended instead.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Sequence

from rag.answer.citations import strip_markers
from rag.answer.prompting import load_prompt, parse_template
from rag.models.generator import Generator, Usage
from rag.text import CHAT_TOKEN, STOPWORDS
from rag.text import content_words as text_content_words
from rag.types import Rewrite

log = logging.getLogger(__name__)

TEMPLATE_NAME = "rewrite.txt"
MAX_REWRITE_TOKENS = 40
_HISTORY_TURNS = 2  # the last two exchanges are enough context to resolve "there" or "they"
_ANSWER_CHARS = 240  # long answers make the prompt slow and give the small model more to copy

_WORD = re.compile(r"[A-Za-z0-9][\w'’-]*")
_SPECIAL = re.compile(CHAT_TOKEN)
_LABEL = re.compile(r"^\s*(?:(?:rewritten|standalone|new|follow-up|followup)\s+)?question\s*:\s*", re.IGNORECASE)
_OPENER = re.compile(r"^\s*(?:(?:what|how)\s+about|what\s+else|and|also|but|so)\b", re.IGNORECASE)

# Words that point back into the conversation.
DEICTIC = frozenset("there it its they them their theirs that those this these he him his she her hers such "
                    "then".split())
# "said that ...", "is it true that ...": here "that" joins a clause and refers to nothing.
_THAT_AFTER = frozenset("said say says claimed claim claims denied deny denies reported report reports confirmed "
                        "confirm announced announce stated state believe believes think know knew mean means "
                        "suggest suggests show shows true so such fact".split())
_VERBISH = frozenset("said says say told did does do done happened happen happens know think mean was were is are "
                     "has have had".split())
_WH = frozenset("who whom whose what which when where why how".split())


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def content_words(text: str) -> set[str]:
    """Lower-cased words of `text` that carry meaning (no stopwords, no citation numbers)."""
    return text_content_words(strip_markers(text))


def looks_like_followup(question: str) -> bool:
    """True for questions that lean on the conversation: "there", "it", "they", "what about ...", very short ones."""
    words = [w.lower().replace("’", "'") for w in _words(question)]
    if not words:
        return False
    if _OPENER.match(question) or len(words) <= 3:
        return True
    for i, word in enumerate(words):
        if word == "that" and i > 0 and words[i - 1] in _THAT_AFTER:
            continue
        if word in DEICTIC:
            return True
    return False


def load_template(prompts_dir: str | Path | None = None) -> str:
    """prompts_dir/rewrite.txt, or the bundled one when a custom prompts folder has none."""
    return load_prompt(prompts_dir or "", TEMPLATE_NAME)


def _shorten(text: str, limit: int) -> str:
    text = " ".join(strip_markers(text, "").split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def format_history(history: Sequence[tuple[str, str]]) -> str:
    return "\n".join(f"Q: {' '.join(q.split())}\nA: {_shorten(a, _ANSWER_CHARS)}" for q, a in history[-_HISTORY_TURNS:])


def build_messages(history: Sequence[tuple[str, str]], question: str, template: str) -> list[dict]:
    """The rewrite prompt: the template's turns with {history} and {question} filled in."""
    filled = {"{history}": format_history(history), "{question}": " ".join(question.split())}
    messages = []
    for message in parse_template(template):
        content = message["content"]
        for placeholder, value in filled.items():
            content = content.replace(placeholder, value)
        messages.append({"role": message["role"], "content": content})
    return messages


def clean_output(text: str) -> str:
    """The first line of the model's reply, without labels, quotes or chat-template tokens."""
    lines = [line.strip() for line in _SPECIAL.sub(" ", text).splitlines() if line.strip()]
    if not lines:
        return ""
    line = _LABEL.sub("", lines[0]).strip(" \t\"'“”‘’`*")
    if "?" in line:
        line = line[: line.index("?") + 1]
    return " ".join(line.split())


_QUESTION_START = _WH | frozenset("is are was were do does did can could will would should has have had".split())


def acceptable(candidate: str, question: str, history: Sequence[tuple[str, str]],
               examples: Sequence[str] = ()) -> bool:
    """A usable rewrite: a short question that keeps what was asked and brings in words from the conversation.

    Small models often answer instead of rewriting, copy the question or copy an example of the prompt;
    each of those is rejected (`examples` are the prompt's example rewrites).
    """
    words = _words(candidate)
    if not 2 <= len(words) <= 40 or re.search(r"\b[QA]:|conversation|rewritten", candidate, re.IGNORECASE):
        return False
    if not (candidate.endswith("?") or words[0].lower() in _QUESTION_START):
        return False  # a statement: the model answered
    normal = " ".join(w.lower() for w in words)
    if normal == " ".join(w.lower() for w in _words(question)):
        return False  # the model copied the question: "there" is still unresolved
    if any(normal == " ".join(w.lower() for w in _words(example)) for example in examples):
        return False
    asked, got = content_words(question), content_words(candidate)
    if asked and not (asked & got):
        return False  # it changed the subject
    context = set().union(*(content_words(q) | content_words(a) for q, a in history[-_HISTORY_TURNS:]))
    return bool((got - asked) & context)


def _content_runs(text: str) -> list[list[re.Match]]:
    """Runs of adjacent meaningful words (split at stopwords and punctuation): candidate noun phrases."""
    runs: list[list[re.Match]] = []
    previous_end = None
    for token in _WORD.finditer(text):
        if token.group().lower().replace("’", "'") in STOPWORDS:
            previous_end = None
            continue
        if previous_end is not None and text[previous_end:token.start()].strip() in ("", "-"):
            runs[-1].append(token)
        else:
            runs.append([token])
        previous_end = token.end()
    return runs


def _verb_like(run: list[re.Match]) -> bool:
    word = run[0].group().lower()
    return len(run) == 1 and (word in _VERBISH or (word.endswith("ed") and len(word) > 4))


_DO = frozenset("did does do will would can could should".split())


_BARE = frozenset(("when", "where", "how"))
_SAYING = frozenset("say tell mean do have think know".split())


def _drop_bare_verb(question: str, runs: list[list[re.Match]]) -> list[list[re.Match]]:
    """In "When did the Zorvath bridge reopen?" the run after "did" ends with the verb: drop it."""
    tokens = list(_WORD.finditer(question))
    # Only for when/where/how: their questions rarely have an object after the verb, unlike "Why did the US
    # strike Iraqi militias?".
    if len(tokens) < 3 or tokens[0].group().lower() not in _BARE or tokens[1].group().lower() not in _DO:
        return runs
    for i, run in enumerate(runs):
        between = question[tokens[1].end():run[0].start()].split()
        if run[0].start() > tokens[1].end() and all(w.lower() in ("the", "a", "an") for w in between):
            following = [t for t in tokens if t.start() >= run[-1].end()]
            if len(run) >= 2 and not (following and following[0].group().lower() in _SAYING):
                return runs[:i] + [run[:-1]] + runs[i + 1:]
            break
    # "When did the bridge in Zorvath reopen?": a last word that no article introduces is the verb.
    words = [t.group().lower() for t in tokens]
    last = runs[-1] if runs else None
    if (not _SAYING & set(words[2:]) and last is not None and last[-1].start() == tokens[-1].start()
            and len(tokens) > 3 and words[-2] not in ("the", "a", "an")):
        runs = runs[:-1] + ([last[:-1]] if len(last) > 1 else [])
    return runs


def topic_of(question: str) -> str:
    """The key noun phrase of a question, e.g. "the Babil strike" from "What happened in the Babil strike?".

    Without a tagger: runs of meaningful words, minus lone verbs ("condemned", "happened"); a short
    stretch of text covering them is kept as written, a long one is cut down to its runs.
    """
    runs = [run for run in _content_runs(question) if not _verb_like(run)]
    runs = [run[:-1] if len(run) > 1 and _verb_like(run[-1:]) else run for run in runs]  # "PM condemned"
    runs = _drop_bare_verb(question, runs)
    if not runs:
        return ""
    start, end = runs[0][0].start(), runs[-1][-1].end()
    if len(_words(question[start:end])) <= 6:
        before = question[:start].split()
        article = "the " if before and before[-1].lower() == "the" else ""
        return article + question[start:end]
    best = sorted(runs, key=lambda run: -sum(1 + 2 * t.group()[0].isupper() for t in run))[:4]
    return ", ".join(question[run[0].start():run[-1].end()] for run in runs if any(run is b for b in best))


def fallback(history: Sequence[tuple[str, str]], question: str) -> str:
    """The question with the topic of the last one appended: "How many were killed there (the Babil strike)?"."""
    if not history:
        return question
    topic = topic_of(history[-1][0])
    if not topic or content_words(topic) <= content_words(question):
        return question
    stem = question.strip().rstrip("?.! ")
    return f"{stem} ({topic})?"


def _generate(generator: Generator, messages: list[dict], max_tokens: int) -> str:
    pieces: list[str] = []
    stream = generator.stream(messages, max_tokens, 0.0, Usage())
    try:
        for piece in stream:
            pieces.append(piece)
            text = "".join(pieces).lstrip()
            if "\n" in text or "?" in text:
                break  # one line is all we want; stop paying for tokens
    finally:
        close = getattr(stream, "close", None)
        if close:
            close()  # release the model (LlamaCppGenerator holds its lock while the stream is open)
    return "".join(pieces)


def rewrite(history: Sequence[tuple[str, str]], question: str, generator: Generator | None,
            template: str | None = None, max_tokens: int = MAX_REWRITE_TOKENS) -> Rewrite:
    """Rewrite `question` into a standalone one using `history` [(question, answer_text), ...], oldest first."""
    question = question.strip()
    history = [(q, a) for q, a in history if q and q.strip()]
    if not history or not looks_like_followup(question):
        return Rewrite(question, question, "unchanged")
    if generator is not None:
        try:
            template = template or load_template()
            examples = [m["content"] for m in parse_template(template) if m["role"] == "assistant"]
            candidate = clean_output(_generate(generator, build_messages(history, question, template), max_tokens))
        except Exception as exc:  # noqa: BLE001 - a failed rewrite must not stop the answer; fall back
            log.warning("follow-up rewrite failed, using the fallback: %s", exc)
            candidate, examples = "", []
        if candidate and acceptable(candidate, question, history, examples):
            return Rewrite(candidate, question, "model")
    standalone = fallback(history, question)
    return Rewrite(standalone, question, "fallback" if standalone != question else "unchanged")
