"""Cleaning on the five real sample articles: every fact paragraph survives, the page clutter goes."""

from __future__ import annotations

import pytest

from rag.ingest.clean import clean_lines
from rag.ingest.documents import to_document
from rag.ingest.readers import read_file

# Per file, the raw lines that are clutter (prefixes are enough to identify them).
JUNK = {
    "000_b2984dc87e62d731.txt": [
        "A+ A-", "Comments", "Rudaw moderates all comments", "To be approved for publication",
        "We will not tolerate the following", "Comments that do not meet", "Post a comment", "Required",
        "The Latest", "Turkish Foreign Minister Hakan Fidan speaking", "Turkey says won’t attack Rojava",
        "Turkey’s Foreign Minister Hakan Fidan said on Wednesday",
    ],
    "001_2b52cb3e110e3771.txt": [
        "File – The Pentagon building", "Previous Article", "Iraqi foreign minister arrives in Iran", "Next Article",
        "Biden says Iran ‘can’t act with impunity’", "Related Posts",
    ],
    "002_5e454381d5abd5c5.txt": [
        "- Sputnik International, 1920", "Get the latest news from around the world", "© REUTERS / Maxar",
        "A close up view of destroyed buildings", "US soldiers stand near the landmark Hands of Victory",
        "US Officials Reportedly Raise Threat Level", "To participate in the discussion", "log in or register",
        "Заголовок открываемого материала",
    ],
    "003_249214cac3478a04.txt": [
        "Iraqi PM Mohammed Shia' al-Sudani presiding over", "Comments", "Rudaw moderates all comments",
        "To be approved for publication", "We will not tolerate the following", "Comments that do not meet",
        "Post a comment",
    ],
    "004_7d62095dcace34a0.txt": [
        "A formation of US Air Force F-35", "(FRANCE 24 with AFP and REUTERS)", "Daily newsletter",
        "Take international news everywhere with you",
    ],
}
# Header lines that become metadata (title, date, byline, section label) rather than body text.
HEADER = {"27-02-2021", "Sura Ali", "Iraq"}


def _is_junk(name: str, line: str) -> bool:
    return any(line.startswith(prefix) for prefix in JUNK[name])


@pytest.mark.parametrize("name", sorted(JUNK))
def test_every_fact_line_survives_and_clutter_goes(seeds, name):
    raw = (seeds / name).read_text(encoding="utf-8")
    doc = to_document(read_file(seeds / name)[0])
    for line in (line.strip() for line in raw.splitlines()):
        if not line or line in HEADER or line == doc.title:
            continue
        if _is_junk(name, line):
            assert line not in doc.text, f"clutter kept in {name}: {line[:60]}"
        else:
            assert line in doc.text, f"fact line lost from {name}: {line[:60]}"


def test_repeated_body_is_kept_once(seeds):
    doc = to_document(read_file(seeds / "003_249214cac3478a04.txt")[0])
    assert doc.text.count("four fighters were killed in the attack") == 1
    assert doc.text.count("Hardline Shiite politicians") == 1


def test_generic_clutter_patterns():
    text = "\n".join([
        "Mayor opens new bridge over the river",
        "The mayor opened the bridge on Tuesday, officials said.",
        "Share this article",
        "Advertisement",
        "Sign up for our newsletter to get updates",
        "The mayor opened the bridge on Tuesday, officials said.",
        "Related Articles",
        "Another story entirely about something else.",
    ])
    cleaned = "\n\n".join(clean_lines(text.splitlines()))
    assert cleaned == "Mayor opens new bridge over the river\n\nThe mayor opened the bridge on Tuesday, officials said."


def test_prose_mentioning_the_latest_is_not_cut():
    text = "The latest figures show growth.\nThe Latest\nTeaser of another story."
    assert "\n\n".join(clean_lines(text.splitlines())) == "The latest figures show growth."
