"""What the articles call someone: each post the shown sentences give the person a question names, and who gives it.

"What US cabinet post do the articles give for Lloyd Austin?" One Rudaw article writes "US State Secretary Lloyd
Austin III", Sputnik "US Defence secretary Lloyd Austin", another Rudaw article "Secretary of Defense Lloyd J.
Austin": the articles disagree (news copy gets titles wrong), and a small model writes one of them, or declines.
Where the shown sentences give the person two or more different posts, the answer lists each with the outlets that
give it: "Secretary of Defense, according to Rudaw [3]; US Defence secretary, according to Sputnik [2]; …". One post
throughout is no disagreement: the model's answer stands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer.asking import asking_sentence
from rag.answer.compose import Composed, assembled_answer
from rag.answer.evidence import EvidenceGroup, Question, Sentence
from rag.answer.offices import OFFICES
from rag.answer.quotes import VerifiedQuote
from rag.text import stem
from rag.types import Citation

# "What US cabinet post do the articles give for Lloyd Austin?", "What is Pat Ryder's position?", "What title does
# Reuters use for him?": the post itself is asked.
_ASKS_POST = re.compile(r"\b(?:what|which)\s+(?:[\w'’-]+\s+){0,3}?(?:post|title|position|job|rank)s?\b", re.IGNORECASE)
# "Lloyd Austin", "Pat Ryder's", "Mustafa al-Kadhimi" (a surname's particle in lower case), after up to four words
_PERSON = re.compile(r"(?<![\w’'])(?:[A-Z][\w’'.-]+\s+){1,4}(?:(?:al|el|bin|ibn|de|van|von)[-\s])?[A-Z][\w’'-]+")
# Words a post is made of (a rank or an office); a run before a name without one is no post ("In April, Ryder").
_POST_WORDS = OFFICES | frozenset("general colonel major admiral commander chief director deputy lieutenant captain "
                                  "sergeant prosecutor".split())
_JOINS = frozenset({"of", "for", "to"})
_NOT_PART = frozenset({"us", "u.s.", "the", "of", "for", "to"})  # "US Defence secretary" is the Defense secretary
_TOKEN = re.compile(r"[\w’'.-]+|[^\w\s]")


@dataclass(frozen=True)
class Post:
    """A post a shown sentence gives the person, as it writes it, with the sentence and its passage number."""

    words: str
    n: int
    sentence: Sentence

    @property
    def key(self) -> frozenset[str]:
        """The post without its country or spelling: "US Defence secretary" and "Secretary of Defense" are one."""
        return frozenset(stem(w.replace("defence", "defense")) for w in self.words.lower().split()
                         if w not in _NOT_PART)


def asked_person(question: str) -> str | None:
    """The name of the person whose post the question asks ("Lloyd Austin"); None for any other question."""
    asking = asking_sentence(question)
    if not _ASKS_POST.search(asking):
        return None
    names = [m.group().removesuffix("'s").removesuffix("’s") for m in _PERSON.finditer(asking) if m.start() > 0]
    if not names:
        return None
    # "Iraqi Prime Minister Mustafa al-Kadhimi": the name is what follows the post the question writes before it
    words = names[-1].split()
    posts = [i for i, word in enumerate(words) if word.lower() in _POST_WORDS]
    name = words[posts[-1] + 1:] if posts else words
    return " ".join(name) or None


def post_before(sentence: str, person: str) -> str | None:
    """The post written right before the person's name in `sentence` ("US State Secretary" of "…, US State Secretary
    Lloyd Austin III met …"), its first name's or, without it, its surname's; None when none is."""
    first, last = person.split()[0], person.split()[-1]
    found = re.search(rf"\b{re.escape(first)}\b", sentence) or re.search(rf"\b{re.escape(last)}\b", sentence)
    if not found:
        return None
    tokens = _TOKEN.findall(sentence[:found.start()])
    run: list[str] = []
    for token in reversed(tokens):
        if token[:1].isupper() or token.lower() in _POST_WORDS or (token.lower() in _JOINS and run):
            run.insert(0, token)
        else:
            break
    while run and run[0].lower() in _JOINS:
        run.pop(0)
    return " ".join(run) if any(t.lower() in _POST_WORDS for t in run) else None


def posts_given(question: str, groups: list[EvidenceGroup]) -> list[Post]:
    """Each post a shown sentence gives the person the question asks the post of, best-ranked article first."""
    person = asked_person(question)
    if person is None:
        return []
    return [Post(words, n, sentence) for n, group in enumerate(groups, start=1) for sentence in group.sentences
            if (words := post_before(sentence.text, person))]


def answer_with_posts(question: str, parsed: Question, composed: Composed, verified: list[VerifiedQuote],
                      groups: list[EvidenceGroup], passages: list[Citation]) -> tuple[Composed, list[VerifiedQuote]]:
    """Where the shown sentences give the asked person two or more different posts, each post with the outlets that
    give it, and those sentences as the quotes; otherwise the answer and quotes as they were."""
    by_key: dict[frozenset[str], list[Post]] = {}
    for post in posts_given(question, groups):
        by_key.setdefault(post.key, []).append(post)
    if len(by_key) < 2:
        return composed, verified
    outlets = {p.n: p.outlet for p in passages}
    clauses = []
    for posts in by_key.values():
        numbers = list(dict.fromkeys(p.n for p in posts))
        names = list(dict.fromkeys(outlets[n] for n in numbers if outlets.get(n)))
        source = f", according to {' and '.join(names)}" if names else ""
        clauses.append(f"{posts[0].words}{source} {''.join(f'[{n}]' for n in numbers)}")
    quotes = [VerifiedQuote.whole(posts[0].n, posts[0].sentence) for posts in by_key.values()]
    return assembled_answer("; ".join(clauses) + ".", quotes, passages)
